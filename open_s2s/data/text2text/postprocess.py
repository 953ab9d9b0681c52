"""Generated ids -> text, from a ``SideSpec`` alone (models, infer output and exports use it).

A generated sequence ends at its first EOS; PAD and the start token are not text, and
ids outside the vocabulary (e.g. ``-1`` fill of a finished beam) are skipped. The
remaining symbols are joined as ``open_s2s.data.vocab.ids_to_text`` does: SentencePiece
pieces by their word-start marks, other tokens by ``side.delimiter``. ``<UNK>`` stays
visible as the vocabulary's UNK symbol.
"""

from __future__ import annotations

from collections.abc import Iterable

import tensorflow as tf

from open_s2s.data.data_spec import SideSpec
from open_s2s.data.vocab import ids_to_text, tf_ids_to_text


def detokenize(ids: Iterable[int], side: SideSpec) -> str:
    """Text of one id sequence (ints, numpy values or a 1-D array), stopping at ``side.eos_id``."""
    kept = []
    for i in ids:
        i = int(i)
        if i == side.eos_id:
            break
        if i in (side.pad_id, side.bos_id) or not 0 <= i < side.vocab_size:
            continue
        kept.append(i)
    return ids_to_text(kept, side.vocab, side.delimiter)


def tf_detokenize(ids: tf.Tensor, side: SideSpec) -> tf.Tensor:
    """``detokenize`` in the graph: int ids ``[batch, time]`` -> string tensor ``[batch]``."""
    ids = tf.convert_to_tensor(ids)
    ids = tf.cast(ids, tf.int32)
    # Positions before the first EOS: the inclusive running count of EOS is still 0 there.
    before_eos = tf.equal(tf.cumsum(tf.cast(tf.equal(ids, side.eos_id), tf.int32), axis=-1), 0)
    keep = before_eos & tf.not_equal(ids, side.pad_id) & tf.not_equal(ids, side.bos_id)
    keep &= (ids >= 0) & (ids < side.vocab_size)
    return tf_ids_to_text(tf.ragged.boolean_mask(ids, keep), side.vocab, side.delimiter)
