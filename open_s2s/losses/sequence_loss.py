"""PaddedCrossEntropyLossWithSmoothing: token cross-entropy of sequence decoders (OpenSeq2Seq's)."""

from __future__ import annotations

import math
from typing import Any

import tensorflow as tf

from open_s2s.config.params import ConfigError, Param
from open_s2s.data import keys
from open_s2s.losses.loss import Loss


def _smoothing_ok(value: Any) -> str | None:
    return None if 0.0 <= value < 1.0 else "must be in [0, 1)"


class PaddedCrossEntropyLossWithSmoothing(Loss):
    """Label-smoothed cross-entropy averaged over the valid target tokens of the batch.

    As OpenSeq2Seq's (and the official Transformer's): the target distribution puts
    ``1 - label_smoothing`` on the reference token and spreads ``label_smoothing`` evenly over
    the other ``vocab - 1`` tokens; the entropy of that distribution is subtracted, so a
    perfect prediction scores 0. Padding positions (past ``target_length``) are masked.
    Computed in float32.

    Inputs: decoder ``logits`` [batch, T, vocab]; batch ``target`` [batch, T] int ids and
    ``target_length`` [batch].
    """

    PARAMS = {
        "label_smoothing": Param(float, 0.0, doc="Probability mass spread over the other tokens.", check=_smoothing_ok),
        "tgt_vocab_size": Param((int, type(None)), None, doc="Filled from the data layer; must match if given."),
        "batch_size": Param((int, type(None)), None, doc="Accepted for OpenSeq2Seq configs; unused."),
        "pad_embeddings_2_eight": Param(bool, False, doc="Accepted for OpenSeq2Seq configs (logits are unpadded)."),
    }

    def __init__(self, params, data_spec):
        super().__init__(params, data_spec)
        given, actual = self.params["tgt_vocab_size"], data_spec.target.vocab_size
        if given is not None and given != actual:
            raise ConfigError(f"PaddedCrossEntropyLossWithSmoothing.tgt_vocab_size: {given} but the data has {actual}")

    def per_token(self, logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        """``[batch, T]`` smoothed cross-entropy minus its minimum, at every position."""
        vocab = logits.shape[-1]
        smoothing = self.params["label_smoothing"]
        confidence, low = 1.0 - smoothing, smoothing / (vocab - 1)
        soft = tf.one_hot(labels, vocab, on_value=confidence, off_value=low)
        xent = tf.nn.softmax_cross_entropy_with_logits(labels=soft, logits=logits)
        floor = -(confidence * math.log(confidence) + (vocab - 1) * low * math.log(low + 1e-20))
        return xent - floor

    def __call__(self, outputs: dict[str, Any], batch: dict[str, Any]) -> tf.Tensor:
        logits = tf.cast(outputs[keys.LOGITS], tf.float32)
        labels = tf.cast(batch[keys.TARGET], tf.int32)
        mask = tf.sequence_mask(batch[keys.TARGET_LENGTH], tf.shape(labels)[1], tf.float32)
        return tf.reduce_sum(self.per_token(logits, labels) * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)
