"""A kernel applied along the last axis, as Keras ``Dense`` applies it."""

from __future__ import annotations

import tensorflow as tf


def matmul_last_axis(x: tf.Tensor, kernel: tf.Tensor, transpose_b: bool = False) -> tf.Tensor:
    """``x [..., k] @ kernel [k, n]`` (``kernel [n, k]`` with ``transpose_b``) -> ``[..., n]``.

    The leading axes are folded into one, so this is one 2-D matmul, as in Keras ``Dense``.
    ``tf.matmul`` of a 3-D ``x`` by a 2-D kernel broadcasts the kernel instead: a
    ``BatchMatMulV2`` forward, and for the kernel's gradient a batched matmul and a sum over
    the batch. In the Tacotron decoder loop that took 60 of 470 CPU-ms per float32 step here.
    """
    x = tf.convert_to_tensor(x)
    if x.shape.rank == 2:
        return tf.matmul(x, kernel, transpose_b=transpose_b)
    depth = x.shape[-1] if x.shape[-1] is not None else tf.shape(x)[-1]
    units = kernel.shape[0 if transpose_b else 1]
    flat = tf.matmul(tf.reshape(x, [-1, depth]), kernel, transpose_b=transpose_b)
    out = tf.reshape(flat, tf.concat([tf.shape(x)[:-1], tf.shape(flat)[-1:]], 0))
    out.set_shape(x.shape[:-1].concatenate([units]))
    return out
