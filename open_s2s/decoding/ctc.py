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
