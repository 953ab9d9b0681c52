"""Character vocabularies in the OpenSeq2Seq format.

A vocab file holds one symbol per line, UTF-8; the line number (from 0) is the id.
The first line of the English speech vocab is a single space, so lines are never
stripped of spaces: only the line terminator (``\\n`` or ``\\r\\n``) is removed.

Python helpers (``text_to_ids`` / ``ids_to_text``) are used at load time and when
writing results; ``lookup_table`` / ``tf_text_to_ids`` / ``tf_ids_to_text`` do the same
inside a TensorFlow graph (e.g. an exported SavedModel).

Subword vocabularies (SentencePiece pieces, see ``open_s2s.data.subword``) go through
the same ``ids_to_text`` / ``tf_ids_to_text``: a vocab in which a symbol contains
``WORD_BOUNDARY`` (U+2581, SentencePiece's word-start mark) is a subword vocab, and its
joined pieces have the mark turned into a space and the ends stripped, which is how
SentencePiece decodes. Character vocabs (one character per symbol) are joined as they are.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

import tensorflow as tf

Vocab = tuple[str, ...]
WORD_BOUNDARY = "\u2581"


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


def is_subword_vocab(vocab: Sequence[str]) -> bool:
    """True when ``vocab`` holds SentencePiece-style pieces (a symbol contains U+2581)."""
    return _is_subword(tuple(vocab))


@functools.lru_cache(maxsize=16)
def _is_subword(vocab: Vocab) -> bool:
    return any(WORD_BOUNDARY in s for s in vocab)


def ids_to_text(ids: Iterable[int], vocab: Sequence[str], delimiter: str = "") -> str:
    """Joins the symbols of ``ids`` (ints, numpy values or a 1-D array) with ``delimiter``.

    ``delimiter`` is ``""`` for characters, ``" "`` for whitespace-separated words (a
    ``SideSpec.delimiter``). For a subword vocab the pieces are joined as they are
    (``delimiter`` is not used: pieces carry their word-start marks), the marks become
    spaces and the ends are stripped.
    """
    subword = is_subword_vocab(vocab)
    text = ("" if subword else delimiter).join(vocab[int(i)] for i in ids)
    if subword:
        text = text.replace(WORD_BOUNDARY, " ").strip()
    return text


class CharVocab:
    """Character targets: ``symbols`` from a vocab file, one id per character."""

    def __init__(self, symbols: Sequence[str]):
        self.symbols: Vocab = tuple(symbols)

    def encode(self, text: str) -> list[int]:
        return text_to_ids(text, self.symbols)

    def unknown(self, text: str) -> list[str]:
        """The characters of ``text`` that have no id."""
        return unknown_chars(text, self.symbols)


def lookup_table(vocab: Sequence[str], unknown_id: int = -1) -> tf.lookup.StaticHashTable:
    """A graph-mode char -> id table; characters not in ``vocab`` map to ``unknown_id``."""
    init = tf.lookup.KeyValueTensorInitializer(
        tf.constant(list(vocab), tf.string), tf.range(len(vocab), dtype=tf.int32)
    )
    return tf.lookup.StaticHashTable(init, default_value=unknown_id)


def tf_text_to_ids(text: tf.Tensor, table: tf.lookup.StaticHashTable) -> tf.Tensor:
    """Scalar UTF-8 string tensor -> int32 ids ``[chars]`` (unknown chars -> table default)."""
    return table.lookup(tf.strings.unicode_split(text, "UTF-8"))


def tf_ids_to_text(ids: tf.Tensor, vocab: Sequence[str], delimiter: str = "") -> tf.Tensor:
    """int ids ``[..., length]`` (dense or ragged) -> string tensor ``[...]`` joining the symbols.

    Decodes as ``ids_to_text`` does (``delimiter`` between symbols; subword vocabs: pieces
    joined as they are, word-start marks -> spaces, ends stripped).
    """
    subword = is_subword_vocab(vocab)
    symbols = tf.gather(tf.constant(list(vocab), tf.string), ids)
    text = tf.strings.reduce_join(symbols, axis=-1, separator="" if subword else delimiter)
    if subword:
        text = tf.strings.strip(tf.strings.regex_replace(text, WORD_BOUNDARY, " "))
    return text
