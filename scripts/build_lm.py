"""Builds a word n-gram language model (ARPA, interpolated modified Kneser-Ney) from text.

    python scripts/build_lm.py data/synth_speech/train.csv --order 3 --out logs/lm/train_3gram.arpa

Inputs are OpenSeq2Seq CSVs (the ``transcript`` column) or plain text files (one
sentence per line); several may be given. The ARPA file loads in kenlm (and so in
pyctcdecode, ``decoder_params: {use_language_model: True, lm_path: ...}``). See
open_s2s/decoding/arpa.py for the smoothing.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Iterator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from open_s2s.decoding.arpa import build_arpa  # noqa: E402


def read_sentences(path: str, lowercase: bool) -> Iterator[str]:
    """Sentences of a CSV's ``transcript`` column or of a text file's lines (blank lines skipped)."""
    with open(path, encoding="utf-8", newline="") as f:
        if path.endswith(".csv"):
            reader = csv.DictReader(f)
            if "transcript" not in (reader.fieldnames or []):
                raise SystemExit(f"{path}: no 'transcript' column (header {reader.fieldnames})")
            lines = (row["transcript"] for row in reader)
        else:
            lines = (line.rstrip("\n") for line in f)
        for line in lines:
            text = " ".join(line.split())
            if text:
                yield text.lower() if lowercase else text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", help="CSV (transcript column) or text files")
    parser.add_argument("--order", type=int, default=3, help="n-gram order")
    parser.add_argument("--out", required=True, help="ARPA file to write")
    parser.add_argument("--lowercase", action="store_true", help="lowercase the text first")
    args = parser.parse_args(argv)
    sentences = [s for path in args.inputs for s in read_sentences(path, args.lowercase)]
    text = build_arpa(sentences, args.order)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(args.out + ".tmp", args.out)
    print(f"wrote a {args.order}-gram LM of {len(sentences)} sentences to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
