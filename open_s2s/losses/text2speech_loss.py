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

    Every term is a sum over the batch's valid frames (or decoder steps) divided by its number
    of target frames (``Text2SpeechTacotron.loss_weight``), so the loss does not depend on
    how sentences are padded or split into batches: N replicas on batches of b sentences make
    exactly the update of one replica on the N * b (with ``sync_batch_norm``).

    ``L`` is the mean squared error (``l1_norm``: absolute error) over the valid frames
    (``use_mask``) and every feature, as OpenSeq2Seq's. The stop token is trained on each
    sentence's own decoder steps: target 0 before the step holding its last frame, 1 there
    (weighted by ``stop_token_pos_weight``, as ESPnet's ``bce_pos_weight``, since one step in
    ~70 is positive); the sum is divided by frames / reduction factor (~ the number of valid
    steps). OpenSeq2Seq averaged over every step of the padded batch instead, with target 1
    on the padding, which makes the loss of a sentence depend on its batch.

    Beyond OpenSeq2Seq, because it decides whether attention aligns on a small budget: the
    guided-attention loss of Tachibana et al. (2017, arXiv:1710.08969): the attention weights
    times ``1 - exp(-(n/N - t/T)^2 / (2 sigma^2))``, summed over each valid decoder step's
    characters (the off-diagonal attention mass of the step, in [0, 1]) and averaged over
    steps like the stop token; weighted by ``guided_attention_weight`` until the training step
    ``guided_attention_until_step`` (the trainer puts the step in the batch as ``keys.STEP``;
    eval losses leave the term out). (Its scale is the characters per sentence times that of
    an average over the step x character area.)
    """

    PARAMS = {
        "use_mask": Param(bool, True, doc="Average the spectrogram losses over valid frames only."),
        "l1_norm": Param(bool, False, doc="Absolute instead of squared error."),
        "mel_weight": Param(float, 1.0, doc="Weight of the decoder and postnet spectrogram losses."),
        "mag_weight": Param(float, 1.0, doc="Weight of the magnitude loss (output_type 'both')."),
        "stop_token_weight": Param(float, 1.0, doc="Weight of the stop-token cross-entropy."),
        "stop_token_pos_weight": Param(float, 5.0, doc="Weight of the positive (last) step of the stop-token BCE."),
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
        loss += p["stop_token_weight"] * self.stop_loss(outputs, lengths, p["stop_token_pos_weight"])
        if p["guided_attention_weight"] > 0 and keys.STEP in batch:
            guided = self.guided_loss(outputs, batch)
            active = p["guided_attention_until_step"] is None or batch[keys.STEP] < p["guided_attention_until_step"]
            loss += tf.where(active, p["guided_attention_weight"] * guided, 0.0)
        if p["scale"]:
            loss *= p["scale"]
        return loss

    @staticmethod
    def _steps(outputs, lengths):
        """``(frames_per_step, last_step [batch], steps)`` of the decoder's outputs."""
        steps = tf.shape(outputs[STOP_LOGITS])[1]
        frames_per_step = tf.shape(outputs[keys.OUTPUTS])[1] // steps
        return frames_per_step, (lengths + frames_per_step - 1) // frames_per_step - 1, steps

    @staticmethod
    def _per_step_mean(total, lengths, frames_per_step):
        """``total`` over ``frames / frames_per_step``: a mean over decoder steps whose divisor is
        proportional to the batch's target frames (the trainer's loss weight)."""
        frames = tf.cast(tf.reduce_sum(lengths), tf.float32)
        return total * tf.cast(frames_per_step, tf.float32) / tf.maximum(frames, 1.0)

    @classmethod
    def stop_loss(cls, outputs, lengths, pos_weight: float = 1.0) -> tf.Tensor:
        logits = tf.cast(outputs[STOP_LOGITS], tf.float32)
        frames_per_step, last_step, steps = cls._steps(outputs, lengths)
        index = tf.range(steps)[None]
        labels = tf.cast(index >= last_step[:, None], tf.float32)
        valid = tf.cast(index <= last_step[:, None], tf.float32)
        bce = tf.nn.weighted_cross_entropy_with_logits(labels=labels, logits=logits, pos_weight=pos_weight)
        return cls._per_step_mean(tf.reduce_sum(bce * valid), lengths, frames_per_step)

    def guided_loss(self, outputs, batch) -> tf.Tensor:
        alignments = tf.cast(outputs[ALIGNMENTS], tf.float32)  # [batch, steps, chars]
        steps, chars = tf.shape(alignments)[1], tf.shape(alignments)[2]
        lengths = batch[keys.TARGET_LENGTH]
        frames_per_step, last_step, _ = self._steps(outputs, lengths)
        prior = guided_attention_prior(
            batch[keys.SOURCE_LENGTH], last_step + 1, chars, steps, self.params["guided_attention_sigma"]
        )  # zero outside each sentence's steps x characters
        return self._per_step_mean(tf.reduce_sum(alignments * prior), lengths, frames_per_step)
