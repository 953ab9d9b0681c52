"""Character vocabularies in the OpenSeq2Seq format.

A vocab file holds one symbol per line, UTF-8; the line number (from 0) is the id.
The first line of the English speech vocab is a single space, so lines are never
stripped of spaces: only the line terminator (``\\n`` or ``\\r\\n``) is removed.

Python helpers (``text_to_ids`` / ``ids_to_text``) are used at load time and when
writing results; ``lookup_table`` / ``tf_text_to_ids`` / ``tf_ids_to_text`` do the same
inside a TensorFlow graph (e.g. an exported SavedModel).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import tensorflow as tf

Vocab = tuple[str, ...]


def load_vocab(path: str) -> Vocab:
    """Reads a one-symbol-per-line vocab file.

    Args:
      path: the vocab file.

    Returns:
      The symbols, index-aligned with ids (``vocab[id] == symbol``).

    Raises:
      ValueError: on empty lines, multi-character lines or duplicate symbols, naming
        the file and line.
    """
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    lines = text.split("\n")
    if lines and lines[-1] == "":  # the file's final newline
        lines.pop()
    vocab: list[str] = []
    for number, line in enumerate(lines, start=1):
        symbol = line.removesuffix("\r")
        if len(symbol) != 1:
            raise ValueError(f"{path}:{number}: expected exactly one character per line, got {symbol!r}")
        if symbol in vocab:
            raise ValueError(f"{path}:{number}: duplicate symbol {symbol!r}")
        vocab.append(symbol)
    if not vocab:
        raise ValueError(f"{path}: empty vocab file")
    return tuple(vocab)


def unknown_chars(text: str, vocab: Sequence[str]) -> list[str]:
    """Returns the sorted distinct characters of ``text`` that are not in ``vocab``."""
    known = set(vocab)
    return sorted({c for c in text if c not in known})


def text_to_ids(text: str, vocab: Sequence[str]) -> list[int]:
    """Maps each character of ``text`` to its id.

    Raises:
      KeyError: naming the characters that are not in the vocab.
    """
    index = {s: i for i, s in enumerate(vocab)}
    missing = unknown_chars(text, vocab)
    if missing:
        raise KeyError(f"characters not in vocab: {missing}")
    return [index[c] for c in text]


def ids_to_text(ids: Iterable[int], vocab: Sequence[str]) -> str:
    """Joins the symbols of ``ids`` (ints, numpy values or a 1-D array)."""
    return "".join(vocab[int(i)] for i in ids)


def lookup_table(vocab: Sequence[str], unknown_id: int = -1) -> tf.lookup.StaticHashTable:
    """A graph-mode char -> id table; characters not in ``vocab`` map to ``unknown_id``."""
    init = tf.lookup.KeyValueTensorInitializer(
        tf.constant(list(vocab), tf.string), tf.range(len(vocab), dtype=tf.int32)
    )
    return tf.lookup.StaticHashTable(init, default_value=unknown_id)


def tf_text_to_ids(text: tf.Tensor, table: tf.lookup.StaticHashTable) -> tf.Tensor:
    """Scalar UTF-8 string tensor -> int32 ids ``[chars]`` (unknown chars -> table default)."""
    return table.lookup(tf.strings.unicode_split(text, "UTF-8"))


def tf_ids_to_text(ids: tf.Tensor, vocab: Sequence[str]) -> tf.Tensor:
    """int ids ``[..., length]`` -> string tensor ``[...]`` joining the symbols."""
    return tf.strings.reduce_join(tf.gather(tf.constant(list(vocab), tf.string), ids), axis=-1)
