"""CrossEntropyLoss: softmax cross-entropy over classes, with optional label smoothing."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from open_s2s.config.params import Param
from open_s2s.data import keys
from open_s2s.losses.loss import Loss


def _smoothing_ok(value: Any) -> str | None:
    return None if 0.0 <= value < 1.0 else "must be in [0, 1)"


class CrossEntropyLoss(Loss):
    """Mean over the batch of ``-sum_c q_c log softmax(logits)_c`` in float32.

    ``q`` is the one-hot target smoothed as in Szegedy et al. (2016, arXiv:1512.00567):
    ``q = (1 - label_smoothing) * one_hot + label_smoothing / num_classes``.

    Inputs: decoder ``logits`` [batch, num_classes]; batch ``target`` [batch] int class ids.
    """

    PARAMS = {
        "label_smoothing": Param(
            float, 0.0, doc="Weight moved from the target to the uniform distribution.", check=_smoothing_ok
        ),
    }

    def __call__(self, outputs: dict[str, Any], batch: dict[str, Any]) -> tf.Tensor:
        logits = tf.cast(outputs[keys.LOGITS], tf.float32)
        labels = tf.cast(tf.reshape(batch[keys.TARGET], [-1]), tf.int32)
        smoothing = self.params["label_smoothing"]
        if smoothing == 0.0:
            return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        n = tf.shape(logits)[-1]
        target = tf.one_hot(labels, n) * (1.0 - smoothing) + smoothing / tf.cast(n, tf.float32)
        return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=target, logits=logits))
