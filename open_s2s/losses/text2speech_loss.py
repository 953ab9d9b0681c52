"""Text2SpeechLoss: spectrogram, stop-token and guided-attention losses of Tacotron 2 (OpenSeq2Seq's keys)."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from open_s2s.config.params import Param
from open_s2s.data import keys
from open_s2s.decoders.tacotron2_decoder import ALIGNMENTS, MAGNITUDE, POSTNET, STOP_LOGITS
from open_s2s.layers.tacotron import guided_attention_prior
from open_s2s.losses.loss import Loss


class Text2SpeechLoss(Loss):
    """``mel_weight * (L(decoder) + L(postnet)) + stop_token_weight * BCE(stop)
    [+ mag_weight * L(magnitude)] [+ guided attention]``, times ``scale``; float32.

    ``L`` is the mean squared error (``l1_norm``: absolute error) over the valid frames
    (``use_mask``) and every feature, as OpenSeq2Seq's. The stop-token target of a decoder
    step is 1 from the step holding the sentence's last frame on (padding steps included,
    so the model learns to keep stopping), and its cross-entropy is averaged over every
    step of the batch.

    Beyond OpenSeq2Seq, because it decides whether attention aligns on a small budget: the
    guided-attention loss of Tachibana et al. (2017, arXiv:1710.08969), the mean of the
    attention weights times ``1 - exp(-(n/N - t/T)^2 / (2 sigma^2))`` over the valid area,
    weighted by ``guided_attention_weight`` until the training step
    ``guided_attention_until_step`` (the trainer puts the step in the batch as ``keys.STEP``;
    eval losses leave the term out).
    """

    PARAMS = {
        "use_mask": Param(bool, True, doc="Average the spectrogram losses over valid frames only."),
        "l1_norm": Param(bool, False, doc="Absolute instead of squared error."),
        "mel_weight": Param(float, 1.0, doc="Weight of the decoder and postnet spectrogram losses."),
        "mag_weight": Param(float, 1.0, doc="Weight of the magnitude loss (output_type 'both')."),
        "stop_token_weight": Param(float, 1.0, doc="Weight of the stop-token cross-entropy."),
        "scale": Param((float, type(None)), None, doc="Multiplies the total."),
        "guided_attention_weight": Param(float, 0.0, doc="Weight of the guided-attention loss (0 = off)."),
        "guided_attention_sigma": Param(float, 0.2, doc="Width of the diagonal prior."),
        "guided_attention_until_step": Param((int, type(None)), None, doc="Training step it stops at (None: never)."),
    }

    def _error(self, prediction, target, mask):
        diff = prediction - target
        err = tf.abs(diff) if self.params["l1_norm"] else tf.square(diff)
        features = tf.cast(tf.shape(err)[-1], tf.float32)
        if not self.params["use_mask"]:
            return tf.reduce_mean(err)
        return tf.reduce_sum(err * mask[:, :, None]) / tf.maximum(tf.reduce_sum(mask) * features, 1.0)

    def __call__(self, outputs: dict[str, Any], batch: dict[str, Any]) -> tf.Tensor:
        target = tf.cast(batch[keys.TARGET], tf.float32)
        lengths = batch[keys.TARGET_LENGTH]
        time = tf.shape(target)[1]
        mel_features = outputs[keys.OUTPUTS].shape[-1]
        mask = tf.sequence_mask(lengths, time, tf.float32)
        mel_target = target[:, :, :mel_features]
        p = self.params
        loss = p["mel_weight"] * (
            self._error(tf.cast(outputs[keys.OUTPUTS][:, :time], tf.float32), mel_target, mask)
            + self._error(tf.cast(outputs[POSTNET][:, :time], tf.float32), mel_target, mask)
        )
        if MAGNITUDE in outputs:
            loss += p["mag_weight"] * self._error(outputs[MAGNITUDE][:, :time], target[:, :, mel_features:], mask)
        loss += p["stop_token_weight"] * self.stop_loss(outputs, lengths)
        if p["guided_attention_weight"] > 0 and keys.STEP in batch:
            guided = self.guided_loss(outputs, batch)
            active = p["guided_attention_until_step"] is None or batch[keys.STEP] < p["guided_attention_until_step"]
            loss += tf.where(active, p["guided_attention_weight"] * guided, 0.0)
        if p["scale"]:
            loss *= p["scale"]
        return loss

    @staticmethod
    def stop_loss(outputs, lengths) -> tf.Tensor:
        logits = tf.cast(outputs[STOP_LOGITS], tf.float32)
        steps = tf.shape(logits)[1]
        frames_per_step = tf.shape(outputs[keys.OUTPUTS])[1] // steps
        last_step = (lengths + frames_per_step - 1) // frames_per_step - 1
        labels = tf.cast(tf.range(steps)[None] >= last_step[:, None], tf.float32)
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))

    def guided_loss(self, outputs, batch) -> tf.Tensor:
        alignments = tf.cast(outputs[ALIGNMENTS], tf.float32)  # [batch, steps, chars]
        steps, chars = tf.shape(alignments)[1], tf.shape(alignments)[2]
        frames_per_step = tf.shape(outputs[keys.OUTPUTS])[1] // steps
        step_lengths = (batch[keys.TARGET_LENGTH] + frames_per_step - 1) // frames_per_step
        prior = guided_attention_prior(
            batch[keys.SOURCE_LENGTH], step_lengths, chars, steps, self.params["guided_attention_sigma"]
        )
        area = tf.cast(step_lengths * batch[keys.SOURCE_LENGTH], tf.float32)
        return tf.reduce_sum(alignments * prior) / tf.maximum(tf.reduce_sum(area), 1.0)
