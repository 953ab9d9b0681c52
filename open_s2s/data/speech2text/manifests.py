"""Dataset file readers: OpenSeq2Seq CSVs and JSON-lines manifests.

A dataset file is read by its extension: ``.json`` / ``.jsonl`` are JSON-lines manifests
(one object per line: ``audio_filepath``, ``text``, optional ``duration`` in seconds, the
NeMo layout), anything else is an OpenSeq2Seq CSV (header
``wav_filename,wav_filesize,transcript``). Relative audio paths are looked up against
the current directory, then against the dataset file's directory. Problems raise
``DataError`` naming the file and line.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass

from open_s2s.data.audio import DataError

CSV_HEADER = ["wav_filename", "wav_filesize", "transcript"]
JSON_EXTENSIONS = (".json", ".jsonl")


@dataclass(frozen=True)
class Entry:
    """One line of a dataset file.

    Attributes:
      where: ``"file:line"`` for error messages.
      path: the audio path (resolved to an existing file when read with ``check_paths``).
      transcript: the text ('' when a manifest has none).
      duration: seconds stated by the manifest, or None (CSVs state none).
    """

    where: str
    path: str
    transcript: str
    duration: float | None = None


def read_dataset_file(path: str, check_paths: bool = True) -> list[Entry]:
    """Reads a CSV or JSON-lines dataset file (chosen by extension).

    Args:
      path: the dataset file.
      check_paths: resolve each audio path to an existing file (DataError otherwise);
        False keeps the paths as written (e.g. to read transcripts only).
    """
    if not os.path.isfile(path):
        raise DataError(f"dataset file not found: {path}")
    if os.path.splitext(path)[1].lower() in JSON_EXTENSIONS:
        return read_jsonl(path, check_paths)
    return read_csv(path, check_paths)


def read_csv(csv_path: str, check_paths: bool = True) -> list[Entry]:
    """Reads an OpenSeq2Seq CSV (``wav_filename,wav_filesize,transcript``)."""
    with open(csv_path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != CSV_HEADER:
            raise DataError(f"{csv_path}:1: expected the header {','.join(CSV_HEADER)}, got {header}")
        entries = []
        for row in reader:
            where = f"{csv_path}:{reader.line_num}"
            if len(row) != len(CSV_HEADER):
                raise DataError(f"{where}: expected {len(CSV_HEADER)} fields, got {len(row)}: {row}")
            audio = resolve(row[0], csv_path, where) if check_paths else row[0]
            entries.append(Entry(where, audio, row[2]))
    return entries


def read_jsonl(manifest_path: str, check_paths: bool = True) -> list[Entry]:
    """Reads a JSON-lines manifest (``audio_filepath``, ``text``, optional ``duration``).

    Blank lines are skipped. ``text`` may be missing (infer-only data; the data layer
    refuses empty transcripts in train and eval).
    """
    entries = []
    with open(manifest_path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{manifest_path}:{number}"
            try:
                item = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{where}: not valid JSON ({e.msg} at column {e.colno})") from e
            entries.append(_manifest_entry(item, where, manifest_path, check_paths))
    return entries


def _manifest_entry(item, where: str, manifest_path: str, check_paths: bool) -> Entry:
    if not isinstance(item, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(item).__name__}")
    audio = item.get("audio_filepath")
    if not isinstance(audio, str) or not audio:
        raise DataError(f"{where}: missing or non-string 'audio_filepath' (keys: {sorted(item)})")
    text = item.get("text", "")
    if not isinstance(text, str):
        raise DataError(f"{where}: 'text' must be a string, got {type(text).__name__}")
    duration = item.get("duration")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, (int, float))):
        raise DataError(f"{where}: 'duration' must be a number of seconds, got {duration!r}")
    path = resolve(audio, manifest_path, where) if check_paths else audio
    return Entry(where, path, text, None if duration is None else float(duration))


def resolve(audio_path: str, dataset_path: str, where: str) -> str:
    """Absolute path; relative names are tried against the CWD, then the dataset file's directory."""
    candidates = (
        [audio_path]
        if os.path.isabs(audio_path)
        else [
            os.path.abspath(audio_path),
            os.path.join(os.path.dirname(os.path.abspath(dataset_path)), audio_path),
        ]
    )
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise DataError(f"{where}: audio file not found: {audio_path!r} (tried {candidates})")
