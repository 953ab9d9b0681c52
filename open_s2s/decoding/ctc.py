"""Greedy CTC decoding in graph ops (exportable, batch-padding invariant)."""

from __future__ import annotations

import tensorflow as tf


def ctc_greedy_decode(logits: tf.Tensor, lengths: tf.Tensor, blank_id: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Best path decoding: argmax per frame, merge repeats, drop blanks.

    Args:
      logits: [batch, time, classes].
      lengths: [batch] valid frames.
      blank_id: id of the CTC blank.

    Returns:
      ``ids`` [batch, max_out] int32 padded with -1, and ``lengths`` [batch] int32.
    """
    best = tf.argmax(logits, axis=-1, output_type=tf.int32)
    prev = tf.pad(best[:, :-1], [[0, 0], [1, 0]], constant_values=-1)
    valid = tf.sequence_mask(lengths, tf.shape(best)[1])
    keep = (best != prev) & (best != blank_id) & valid
    ragged = tf.ragged.boolean_mask(best, keep)
    ids = ragged.to_tensor(default_value=-1)
    return ids, tf.cast(ragged.row_lengths(), tf.int32)


def ctc_greedy_decode_dense(logits: tf.Tensor, lengths: tf.Tensor, blank_id: int) -> tuple[tf.Tensor, tf.Tensor]:
    """``ctc_greedy_decode`` without ragged ops, so that it converts to TFLite built-ins.

    Kept labels are moved to the front of each row with a cumulative sum and a scatter
    (CUMSUM, SCATTER_ND) instead of a ragged boolean mask.

    Args:
      logits: [batch, time, classes].
      lengths: [batch] valid frames.
      blank_id: id of the CTC blank.

    Returns:
      ``ids`` [batch, max_out] int32 padded with -1, and ``lengths`` [batch] int32; the
      same values as ``ctc_greedy_decode``.
    """
    best = tf.argmax(logits, axis=-1, output_type=tf.int32)
    batch, time = tf.shape(best)[0], tf.shape(best)[1]
    prev = tf.concat([tf.fill([batch, 1], -1), best[:, :-1]], axis=1)
    valid = tf.sequence_mask(lengths, time)
    keep = tf.logical_and(tf.logical_and(tf.not_equal(best, prev), tf.not_equal(best, blank_id)), valid)
    keep_int = tf.cast(keep, tf.int32)
    out_lengths = tf.reduce_sum(keep_int, axis=1)
    # Kept frame t goes to column (number of kept frames before t); dropped ones to a spare column.
    column = tf.where(keep, tf.cumsum(keep_int, axis=1, exclusive=True), time)
    rows = tf.tile(tf.expand_dims(tf.range(batch), 1), [1, time])
    indices = tf.stack([rows, column], axis=-1)
    # Scatter ids + 1 into zeros so that empty slots become -1 after the shift back.
    dense = tf.scatter_nd(indices, (best + 1) * keep_int, tf.stack([batch, time + 1])) - 1
    return dense[:, : tf.reduce_max(out_lengths)], out_lengths
