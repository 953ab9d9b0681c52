"""Reading LJSpeech-style metadata (``id|raw text|normalized text``) and infer text files."""

from __future__ import annotations

import os
from dataclasses import dataclass

from open_s2s.data.audio import DataError

SEPARATOR = "|"
UNUSED = "UNUSED"  # OpenSeq2Seq's id/raw columns of infer-only lines


@dataclass(frozen=True)
class Line:
    """One utterance of a dataset file.

    Attributes:
      where: ``"<file>:<line>"`` for error messages.
      name: the id column, or ``""`` when the line has none (plain text, ``UNUSED``).
      text: the normalized text (third column; the whole line for plain text).
      number: 1-based line number in its file.
    """

    where: str
    name: str
    text: str
    number: int


def read_metadata(path: str, allow_plain: bool) -> list[Line]:
    """Lines of an LJSpeech ``metadata.csv`` (no header, ``|``-separated, no quoting).

    Args:
      path: the file.
      allow_plain: also accept lines without ``|`` as the whole text (infer input: one
        sentence per line); lines with ``|`` must still have exactly three fields.

    Raises:
      DataError: unreadable file, a line with another number of fields, an empty id
        (with a wav to load) or an empty text, naming the file and line.
    """
    try:
        with open(path, encoding="utf-8", newline="") as f:
            content = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read dataset file {path}: {e}") from e
    raw_lines = content.split("\n")
    if raw_lines and raw_lines[-1] == "":  # the final newline
        raw_lines.pop()
    lines = []
    for number, raw in enumerate(raw_lines, start=1):
        raw = raw.removesuffix("\r")
        where = f"{path}:{number}"
        if SEPARATOR in raw or not allow_plain:
            fields = raw.split(SEPARATOR)
            if len(fields) != 3:
                raise DataError(
                    f"{where}: expected 3 '|'-separated fields (id|raw text|normalized text), got {len(fields)}: "
                    f"{raw[:80]!r}"
                )
            name, _, text = fields
            name = "" if name == UNUSED else name.strip()
            if not name and not allow_plain:
                raise DataError(f"{where}: empty id column (the wav is wavs/<id>.wav)")
        else:
            name, text = "", raw
        if not text.strip():
            raise DataError(f"{where}: empty text")
        lines.append(Line(where, name, text, number))
    if not lines:
        raise DataError(f"{path}: no lines")
    return lines


def wav_path(dataset_location: str, name: str) -> str:
    """OpenSeq2Seq's rule: ``<location>/wavs/<id>.wav``, or ``<location>/<id>.wav`` when the
    id already contains ``wavs`` (its GST metadata)."""
    if "wavs" in name:
        return os.path.join(dataset_location, name + ".wav")
    return os.path.join(dataset_location, "wavs", name + ".wav")
