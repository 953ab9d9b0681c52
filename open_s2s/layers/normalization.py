"""Batch normalization whose statistics can span every replica of a data-parallel step.

With N replicas (towers or Horovod ranks) each replica normally normalizes by the moments
of its own batch (OpenSeq2Seq's and PyTorch DDP's default): N replicas on batches of b then
train a different model than one replica on N * b. With the config key
``sync_batch_norm: True`` every :class:`BatchNormalization` of the toolkit sums its masked
moments over all replicas (one all-reduce of ``2 * channels + 1`` numbers per layer and
step), so data parallelism makes exactly the update of one replica on the combined batch.

The runtime decides how to sum (``set_cross_replica_sum``); model code only builds the
layer. Keras' own ``synchronized=True`` covers ``tf.distribute`` only and ignores masks.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

_SYNC = {"enabled": False, "sum": None}


def set_cross_replica_sum(enabled: bool, sum_fn: Callable[[tf.Tensor], tf.Tensor] | None = None) -> None:
    """Called by the runtime: whether batch-norm moments are summed over replicas, and how
    (``sum_fn``: a differentiable all-reduce sum, e.g. Horovod's; None: the tf.distribute
    replica context's, which is the identity on one replica)."""
    _SYNC["enabled"], _SYNC["sum"] = bool(enabled), sum_fn


def cross_replica_sum(value: tf.Tensor) -> tf.Tensor:
    """Sum of ``value`` over the replicas of this step (identity on one replica)."""
    if _SYNC["sum"] is not None:
        return _SYNC["sum"](value)
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return value
    return ctx.all_reduce(tf.distribute.ReduceOp.SUM, value)


class BatchNormalization(keras.layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` whose training moments (masked or not) are taken
    over all replicas when the runtime enables ``sync_batch_norm``; otherwise it is Keras'
    layer unchanged. Moments are computed in float32 from per-channel sums (the same
    ``E[x^2] - E[x]^2`` form as Keras' synchronized path)."""

    def _moments(self, inputs, mask):
        if not _SYNC["enabled"]:
            return super()._moments(inputs, mask)
        x = tf.cast(inputs, tf.float32)
        weight = tf.ones_like(x) if mask is None else tf.broadcast_to(tf.cast(mask, tf.float32)[..., None], tf.shape(x))
        axes = list(self._reduction_axes)
        parts = [
            tf.reduce_sum(x * weight, axes),
            tf.reduce_sum(tf.square(x) * weight, axes),
            tf.reduce_sum(weight, axes),
        ]
        sums = tf.split(cross_replica_sum(tf.concat(parts, axis=0)), 3)  # one all-reduce per layer
        count = tf.maximum(sums[2], 1.0)
        mean = sums[0] / count
        variance = tf.maximum(sums[1] / count - tf.square(mean), 0.0)
        return tf.cast(mean, inputs.dtype), tf.cast(variance, inputs.dtype)
