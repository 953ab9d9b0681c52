"""Dataset file readers: OpenSeq2Seq CSVs, JSON-lines manifests, and unlabeled audio.

An entry of ``dataset_files`` is read by what it is:

* a ``.json`` / ``.jsonl`` file: a JSON-lines manifest (one object per line:
  ``audio_filepath``, optional ``text`` and ``duration`` in seconds, NeMo's layout);
* a file whose first line starts with ``wav_filename`` (or any ``.csv``): a CSV with a
  header. ``wav_filename`` is required; ``wav_filesize`` and the reference column
  (``transcript`` for speech recognition, ``label`` for keyword spotting) are optional,
  so OpenSeq2Seq's ``wav_filename,wav_filesize,transcript`` and a bare list of files both
  read;
* a directory: every audio file below it (WAV, FLAC, OGG, MP3; sorted by path);
* a pattern with ``*``, ``?`` or ``[`` (``clips/*.wav``, ``data/**/*.flac``): the files it
  matches, sorted;
* any other file: a list of audio paths, one per line (blank lines and ``#`` comments
  skipped).

Entries without a reference have ``transcript == ""`` (infer-only data: the data layers
refuse them in train and eval). Relative audio paths are looked up against the current
directory, then against the dataset file's directory. Problems raise ``DataError`` naming
the file and line.
"""

from __future__ import annotations

import csv
import glob
import json
import os
from dataclasses import dataclass

from open_s2s.config.params import suggest
from open_s2s.data.audio import DataError

CSV_HEADER = ["wav_filename", "wav_filesize", "transcript"]
JSON_EXTENSIONS = (".json", ".jsonl")
AUDIO_EXTENSIONS = (".wav", ".wave", ".flac", ".ogg", ".oga", ".mp3")
GLOB_CHARS = "*?["


@dataclass(frozen=True)
class Entry:
    """One line of a dataset file.

    Attributes:
      where: ``"file:line"`` for error messages.
      path: the audio path (resolved to an existing file when read with ``check_paths``).
      transcript: the reference ('' when the input has none): the transcript, or the
        label for keyword spotting.
      duration: seconds stated by the manifest, or None (CSVs state none).
    """

    where: str
    path: str
    transcript: str
    duration: float | None = None


def read_dataset_file(
    path: str, check_paths: bool = True, reference_column: str = "transcript", manifest_key: str = "text"
) -> list[Entry]:
    """Reads one entry of ``dataset_files`` (see the module docstring for the kinds).

    Args:
      path: a CSV, manifest, directory, glob pattern or text file of audio paths.
      check_paths: resolve each audio path to an existing file (DataError otherwise);
        False keeps the paths as written (e.g. to read transcripts only).
      reference_column: the CSV column holding the reference (``transcript``, ``label``).
      manifest_key: the manifest key holding it (``text``, ``label``).
    """
    if os.path.isdir(path):
        return read_directory(path)
    if not os.path.isfile(path):
        if any(c in path for c in GLOB_CHARS):
            return read_glob(path)
        raise DataError(f"dataset file not found: {path}")
    if os.path.splitext(path)[1].lower() in JSON_EXTENSIONS:
        return read_jsonl(path, check_paths, manifest_key)
    if os.path.splitext(path)[1].lower() == ".csv" or _first_line(path).startswith("wav_filename"):
        return read_csv(path, check_paths, reference_column)
    return read_path_list(path, check_paths)


def _first_line(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.readline().strip()
    except UnicodeDecodeError as e:
        raise DataError(
            f"{path}: not a text file ({e.reason}); dataset_files lists CSVs, manifests, directories, "
            "glob patterns or text files of audio paths, not audio files"
        ) from e


def read_csv(csv_path: str, check_paths: bool = True, reference_column: str = "transcript") -> list[Entry]:
    """Reads a CSV with a header: ``wav_filename`` and optionally ``wav_filesize`` and the reference."""
    known = ["wav_filename", "wav_filesize", reference_column]
    with open(csv_path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header or header[0] != "wav_filename":
            raise DataError(
                f"{csv_path}:1: expected a header starting with wav_filename (e.g. {','.join(CSV_HEADER)}), "
                f"got {header}"
            )
        for name in header:
            if name not in known:
                raise DataError(
                    f"{csv_path}:1: unknown column {name!r}{suggest(name, known)}; columns: wav_filename, "
                    f"optional wav_filesize and {reference_column}"
                )
        column = header.index(reference_column) if reference_column in header else None
        entries = []
        for row in reader:
            where = f"{csv_path}:{reader.line_num}"
            if len(row) != len(header):
                raise DataError(f"{where}: expected {len(header)} fields, got {len(row)}: {row}")
            audio = resolve(row[0], csv_path, where) if check_paths else row[0]
            entries.append(Entry(where, audio, "" if column is None else row[column]))
    return entries


def read_jsonl(manifest_path: str, check_paths: bool = True, text_key: str = "text") -> list[Entry]:
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
            entries.append(_manifest_entry(item, where, manifest_path, check_paths, text_key))
    return entries


def _manifest_entry(item, where: str, manifest_path: str, check_paths: bool, text_key: str = "text") -> Entry:
    if not isinstance(item, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(item).__name__}")
    audio = item.get("audio_filepath")
    if not isinstance(audio, str) or not audio:
        raise DataError(f"{where}: missing or non-string 'audio_filepath' (keys: {sorted(item)})")
    text = item.get(text_key, "")
    if not isinstance(text, str):
        raise DataError(f"{where}: '{text_key}' must be a string, got {type(text).__name__}")
    duration = item.get("duration")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, (int, float))):
        raise DataError(f"{where}: 'duration' must be a number of seconds, got {duration!r}")
    path = resolve(audio, manifest_path, where) if check_paths else audio
    return Entry(where, path, text, None if duration is None else float(duration))


def read_directory(directory: str) -> list[Entry]:
    """Every audio file below ``directory`` (by extension), sorted by path."""
    paths = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        paths += [os.path.join(root, f) for f in files if os.path.splitext(f)[1].lower() in AUDIO_EXTENSIONS]
    if not paths:
        raise DataError(f"{directory}: no audio files ({', '.join(AUDIO_EXTENSIONS)}) in this directory")
    return [Entry(os.path.abspath(p), os.path.abspath(p), "") for p in sorted(paths)]


def read_glob(pattern: str) -> list[Entry]:
    """The files ``pattern`` matches (``**`` spans directories), sorted."""
    paths = sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
    if not paths:
        raise DataError(f"{pattern}: the pattern matches no file")
    return [Entry(os.path.abspath(p), os.path.abspath(p), "") for p in paths]


def read_path_list(list_path: str, check_paths: bool = True) -> list[Entry]:
    """A text file of audio paths, one per line (blank lines and ``#`` comments skipped)."""
    entries = []
    with open(list_path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            name = line.strip()
            if not name or name.startswith("#"):
                continue
            where = f"{list_path}:{number}"
            if check_paths and os.path.splitext(name)[1].lower() not in AUDIO_EXTENSIONS:
                raise DataError(
                    f"{where}: {name!r} is not an audio file name ({', '.join(AUDIO_EXTENSIONS)}); a CSV needs a "
                    "header starting with wav_filename"
                )
            entries.append(Entry(where, resolve(name, list_path, where) if check_paths else name, ""))
    if not entries:
        raise DataError(f"{list_path}: no audio paths in this file")
    return entries


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
