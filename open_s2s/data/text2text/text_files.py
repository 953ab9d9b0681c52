"""Reading parallel text and vocab files, and turning lines into ids (at load time, in Python).

Two kinds of side:

* ``TokenEncoder``: lines of tokens separated by a delimiter (OpenSeq2Seq's format, e.g.
  words or BPE pieces separated by spaces) and a vocab file with one token per line.
* ``SentencePieceEncoder``: raw text, split into pieces by a SentencePiece model trained
  with OpenSeq2Seq's special ids (``python -m open_s2s.data.text2text.sentencepiece``).

Both return ids without the special tokens (the data layer adds ``<S>``/``</S>``) and count
the tokens they map to ``<UNK>``.
"""

from __future__ import annotations

import collections
import logging
import os
from collections.abc import Sequence

from open_s2s.data.audio import DataError
from open_s2s.data.text2text.special_tokens import (
    EOS_ID,
    KNOWN_SPELLINGS,
    PAD_ID,
    S_ID,
    SPECIAL_TOKENS,
    UNK_ID,
)
from open_s2s.data.vocab import WORD_BOUNDARY, is_subword_vocab

logger = logging.getLogger(__name__)


def read_lines(path: str, allow_empty: bool = False) -> list[str]:
    """The lines of a UTF-8 text file, without line terminators (``\\n`` or ``\\r\\n``).

    Raises:
      DataError: naming the file (missing) or the file and line (not UTF-8; an empty or
        blank line unless ``allow_empty``).
    """
    if not os.path.isfile(path):
        raise DataError(f"file not found: {path}")
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise DataError(f"{path}:{line}: not UTF-8 ({e.reason} at byte {e.start})") from e
    lines = text.split("\n")
    if lines[-1] == "":  # the file's final newline (or an empty file)
        lines.pop()
    lines = [line.removesuffix("\r") for line in lines]
    if not allow_empty:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                raise DataError(f"{path}:{number}: empty line (every line must hold one sentence)")
    return lines


def load_token_vocab(path: str, special_tokens_already_in_vocab: bool = True) -> tuple[str, ...]:
    """Reads a vocab file: one token per line, optionally followed by a tab and a count.

    OpenSeq2Seq's ``load_pre_existing_vocabulary``: the token is the line up to the first
    tab (trailing whitespace removed), counts are ignored, empty lines are skipped, and
    ids follow the order of the lines. With ``special_tokens_already_in_vocab`` the file's
    first four tokens are PAD, EOS, S and UNK (as in a SentencePiece ``.vocab`` file
    trained with OpenSeq2Seq's ids); otherwise ``<PAD> </S> <S> <UNK>`` take ids 0..3 and
    the file's tokens follow from id 4.

    Returns:
      The tokens by id.

    Raises:
      DataError: missing file, non-UTF-8 line, duplicate token, or (without
        ``special_tokens_already_in_vocab``) a special token in the file; naming file and line.
    """
    if not os.path.isfile(path):
        raise DataError(f"vocab file not found: {path}")
    tokens: list[str] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(read_lines(path, allow_empty=True), start=1):
        token = line.rstrip().split("\t")[0]
        if not token:
            continue
        if token in first_line:
            raise DataError(f"{path}:{number}: duplicate token {token!r} (first on line {first_line[token]})")
        if not special_tokens_already_in_vocab and token in SPECIAL_TOKENS:
            raise DataError(
                f"{path}:{number}: special token {token!r} is in the vocab file but special_tokens_already_in_vocab "
                "is False (it would get two ids); remove the line or set special_tokens_already_in_vocab: True"
            )
        first_line[token] = number
        tokens.append(token)
    if not tokens:
        raise DataError(f"{path}: empty vocab file")
    if not special_tokens_already_in_vocab:
        return SPECIAL_TOKENS + tuple(tokens)
    looks_special = [t.lower() in spellings for t, spellings in zip(tokens, KNOWN_SPELLINGS)]
    if len(tokens) < 4 or not all(looks_special):
        # OpenSeq2Seq accepted such files silently; ids 0..3 still act as PAD/EOS/S/UNK.
        logger.warning(
            "%s: special_tokens_already_in_vocab is True, so its first tokens %s act as PAD/EOS/S/UNK "
            "(ids 0..3); if they are ordinary tokens, set special_tokens_already_in_vocab: False",
            path,
            tokens[:4],
        )
    return tuple(tokens)


def pad_vocab_to_eight(vocab: tuple[str, ...]) -> tuple[str, ...]:
    """OpenSeq2Seq's ``pad_vocab_to_eight``: appends ``<$0$>``, ``<$1$>``, ... up to a multiple of 8."""
    return vocab + tuple(f"<${i}$>" for i in range(-len(vocab) % 8))


def detokenize_tokens(tokens: Sequence[str], delimiter: str) -> str:
    """Text of a sequence of tokens: SentencePiece pieces decode by their word-start marks,
    other tokens are joined by ``delimiter``."""
    if any(WORD_BOUNDARY in t for t in tokens):
        return "".join(tokens).replace(WORD_BOUNDARY, " ").strip()
    return delimiter.join(tokens)


class TokenEncoder:
    """Lines of ``delimiter``-separated tokens -> ids of ``vocab`` (unknown tokens -> UNK).

    Empty tokens (two delimiters in a row, a delimiter at an end) are skipped; OpenSeq2Seq
    mapped them to UNK.
    """

    def __init__(self, vocab: tuple[str, ...], delimiter: str):
        if not delimiter:
            raise DataError("delimiter must not be empty")
        self.vocab = vocab
        self.split_delimiter = delimiter
        # Pieces (from a SentencePiece .vocab) are joined by their marks, not by the delimiter.
        self.delimiter = "" if is_subword_vocab(vocab) else delimiter
        self._ids = {t: i for i, t in enumerate(vocab)}

    def tokens(self, line: str) -> list[str]:
        return [t for t in line.split(self.split_delimiter) if t]

    def encode_lines(self, lines: Sequence[str]) -> tuple[list[list[int]], collections.Counter]:
        """Ids of each line (no specials) and a count of the tokens that map to UNK."""
        ids, unknown = [], collections.Counter()
        get = self._ids.get
        for line in lines:
            row = [get(t, UNK_ID) for t in self.tokens(line)]
            if UNK_ID in row:
                unknown.update(t for t in self.tokens(line) if t not in self._ids)
            ids.append(row)
        return ids, unknown

    def detokenize_line(self, line: str) -> str:
        """The text a line stands for (references for BLEU): tokens joined as ids would be."""
        return detokenize_tokens(self.tokens(line), self.delimiter)


class SentencePieceEncoder:
    """Raw text -> ids of a SentencePiece model with OpenSeq2Seq's special ids.

    Raises:
      DataError: the model is missing, unreadable, or its pad/eos/bos/unk ids are not 0/1/2/3.
    """

    def __init__(self, model_path: str):
        from open_s2s.data.subword import SentencePieceVocab  # noqa: PLC0415  (loads sentencepiece)

        loaded = SentencePieceVocab(model_path)
        self.processor = loaded.processor
        p = self.processor
        ids = (p.pad_id(), p.eos_id(), p.bos_id(), p.unk_id())
        if ids != (PAD_ID, EOS_ID, S_ID, UNK_ID):
            raise DataError(
                f"{model_path}: SentencePiece ids of pad/eos/bos/unk are {ids}, expected "
                f"{(PAD_ID, EOS_ID, S_ID, UNK_ID)} (OpenSeq2Seq's); train the model with "
                "`python -m open_s2s.data.text2text.sentencepiece`"
            )
        self.vocab = loaded.symbols
        self.delimiter = ""

    def encode_lines(self, lines: Sequence[str]) -> tuple[list[list[int]], collections.Counter]:
        ids = self.processor.encode(list(lines), out_type=int)
        unknown = collections.Counter()
        for line, row in zip(lines, ids):
            if UNK_ID in row:
                pieces = self.processor.encode(line, out_type=str)
                unknown.update(piece for piece, i in zip(pieces, row) if i == UNK_ID)
        return ids, unknown

    def detokenize_line(self, line: str) -> str:
        return line.strip()
