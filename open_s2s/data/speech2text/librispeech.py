"""LibriSpeech folder layout -> OpenSeq2Seq CSV.

    python -m open_s2s.data.speech2text.librispeech \\
        --data_dir LibriSpeech/train-clean-100 --out data/librispeech/train-clean-100.csv \\
        [--wav_dir data/librispeech/wav/train-clean-100] [--jobs 2]

LibriSpeech stores ``<speaker>/<chapter>/<speaker>-<chapter>.trans.txt`` (lines
``<speaker>-<chapter>-<utterance> TRANSCRIPT``) next to ``<utterance id>.flac``. Every
transcript file under ``--data_dir`` is read; the CSV gets one row per utterance with the
absolute audio path, its size in bytes and the transcript lowercased and folded to ASCII
(as OpenSeq2Seq's ``import_librivox.py`` does). The data layer reads FLAC directly;
``--wav_dir`` converts each file to 16-bit WAV (with soundfile) and lists the WAVs instead.
Inconsistencies (malformed line, utterance id of another chapter, missing FLAC, FLAC
without transcript) raise ``DataError`` naming the file and line.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import unicodedata
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from open_s2s.data.audio import DataError
from open_s2s.data.speech2text.manifests import CSV_HEADER

TRANS_SUFFIX = ".trans.txt"


def normalize_transcript(text: str) -> str:
    """Lowercase ASCII, accents folded (``"CAFÉ"`` -> ``"cafe"``), outer spaces stripped."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").strip().lower()


def read_chapter(trans_path: str) -> list[tuple[str, str]]:
    """``(flac path, transcript)`` of one ``<speaker>-<chapter>.trans.txt``.

    Raises:
      DataError: malformed line, an id outside this chapter, a missing FLAC, or a FLAC
        in the chapter folder that no line names.
    """
    folder = os.path.dirname(os.path.abspath(trans_path))
    chapter = os.path.basename(trans_path)[: -len(TRANS_SUFFIX)]
    rows = []
    with open(trans_path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{trans_path}:{number}"
            utt_id, _, text = line.strip().partition(" ")
            if not text.strip():
                raise DataError(f"{where}: expected '<utterance id> <transcript>', got {line.strip()!r}")
            if utt_id.rpartition("-")[0] != chapter:
                raise DataError(f"{where}: utterance id {utt_id!r} does not belong to chapter {chapter!r}")
            flac = os.path.join(folder, utt_id + ".flac")
            if not os.path.isfile(flac):
                raise DataError(f"{where}: audio file not found: {flac}")
            rows.append((flac, normalize_transcript(text)))
    listed = {path for path, _ in rows}
    stray = sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".flac"))
    stray = [p for p in stray if p not in listed]
    if stray:
        more = f" and {len(stray) - 1} more" if len(stray) > 1 else ""
        raise DataError(f"{trans_path}: no transcript for {stray[0]}{more}")
    return rows


def find_transcripts(data_dir: str) -> list[str]:
    """Every ``*.trans.txt`` under ``data_dir``, sorted."""
    found = [
        os.path.join(root, name)
        for root, _, names in os.walk(data_dir)
        for name in names
        if name.endswith(TRANS_SUFFIX)
    ]
    if not found:
        raise DataError(f"no *{TRANS_SUFFIX} files under {data_dir} (expected <speaker>/<chapter>/ folders)")
    return sorted(found)


def flac_to_wav(flac_path: str, wav_path: str) -> str:
    """Writes ``flac_path`` as 16-bit PCM WAV (same rate and channels)."""
    import soundfile

    data, rate = soundfile.read(flac_path, dtype="int16")
    os.makedirs(os.path.dirname(wav_path), exist_ok=True)
    soundfile.write(wav_path, data, rate, subtype="PCM_16")
    return wav_path


def convert(data_dirs: Sequence[str], out_csv: str, wav_dir: str | None = None, jobs: int = 1) -> int:
    """Writes the CSV of every utterance under ``data_dirs``; returns the number of rows."""
    rows = [row for d in data_dirs for trans in find_transcripts(d) for row in read_chapter(trans)]
    paths = [os.path.abspath(flac) for flac, _ in rows]
    if wav_dir is not None:
        wavs = [os.path.abspath(os.path.join(wav_dir, os.path.basename(p)[: -len(".flac")] + ".wav")) for p in paths]
        if jobs > 1:
            with ProcessPoolExecutor(jobs) as pool:
                paths = list(pool.map(flac_to_wav, paths, wavs, chunksize=64))
        else:
            paths = [flac_to_wav(src, dst) for src, dst in zip(paths, wavs)]
    os.makedirs(os.path.dirname(os.path.abspath(out_csv)), exist_ok=True)
    with open(out_csv, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_HEADER)
        for path, (_, text) in zip(paths, rows):
            writer.writerow([path, os.path.getsize(path), text])
    return len(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", nargs="+", required=True, help="LibriSpeech split folder(s)")
    parser.add_argument("--out", required=True, help="CSV to write")
    parser.add_argument("--wav_dir", help="convert FLAC to 16-bit WAV files in this folder")
    parser.add_argument("--jobs", type=int, default=1, help="processes for --wav_dir conversion")
    args = parser.parse_args(argv)
    try:
        count = convert(args.data_dir, args.out, args.wav_dir, args.jobs)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} ({count} utterances)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
