"""Synthesizes a single-voice English text-to-speech corpus with flite, in LJSpeech's layout.

The corpus is what a Tacotron 2 model trains on here: one speaker (flite's CMU ARCTIC
``rms`` voice, 16 kHz), hours of audio, and held-out sentences the model never heard.

* Text comes from :mod:`open_s2s.data.synth_text` (``generate_splits``: every sentence
  occurs once in the corpus, so test and dev sentences are never seen in training, while
  nearly all of their words are). Each sentence is written twice, as LJSpeech does: a
  *raw* column, truecased with punctuation (``I think Mary saw the dog.``,
  ``Where is my old bag?``, a comma before ``but``/``so`` clauses), which is what flite
  speaks (its prosody follows the punctuation), and a *normalized* column, the raw text
  lower-cased (punctuation kept, as LJSpeech keeps it in its normalized column).
* Audio is flite's output unchanged: 16 kHz mono 16-bit PCM WAV, with flite's own leading
  and trailing pauses (the data layer's ``trim`` removes them).

Outputs under ``--out``::

    metadata.csv                     id|raw text|normalized text (all splits; no header)
    metadata_train.csv, metadata_dev.csv, metadata_test.csv   the same, per split
    wavs/<id>.wav                    16 kHz mono int16
    vocab.txt                        the characters of the normalized texts, one per line
    metadata.json                    settings, tool versions, counts, hours, timings

A rerun with the same settings reuses a complete corpus; an interrupted run resumes
(every WAV is written under a temporary name and renamed, so a WAV that exists is whole).
System dependency: ``flite`` (``apt-get install flite``; Debian's package ships ``rms``).

Usage:
    python -m open_s2s.data.synth_tts --out data/synth_tts
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import time
import wave
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from open_s2s.data import synth_text

VOICE = "rms"
SAMPLE_RATE = 16000
SPLITS = ("train", "dev", "test")
FORMAT_VERSION = 1  # bump when equal flags would give a different corpus
INSTALL_HINT = "apt-get install flite"
_SETTINGS_FILE = ".synth_tts_settings.json"  # written before synthesis: lets a rerun resume

# Sentence openings of the generator's question templates (synth_text.t_how_many, ...).
_QUESTION_OPENINGS = (
    "how many ",
    "where did ",
    "when did ",
    "why did ",
    "how did ",
    "where do ",
    "why do ",
    "where is ",
    "where's ",
    "have you seen ",
    "who took ",
    "did anyone see ",
    "do you want to ",
    "would you like to ",
    "can you ",
    "could you ",
    "will you ",
    "what time does ",
    "are you coming ",
    "why don't we ",
)
# Clauses the grammar joins with a conjunction; written with a comma before it.
_COMMA_BEFORE = (" but the ", " so we stayed ")
_DAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
# "may" and "march" are months only after "in" in this grammar (see _capitalize).
_MONTHS = "january february april june july august september october november december".split()
_CAPITALIZED = frozenset(synth_text.NAMES + _DAYS + _MONTHS)


class MissingDependencyError(RuntimeError):
    """flite, or its voice, is not installed."""


@dataclass
class Utterance:
    utt_id: str
    split: str
    raw: str
    normalized: str
    duration: float = 0.0


# ---------------------------------------------------------------------------- text


def raw_text(sentence: str) -> str:
    """Truecases a generator sentence and adds punctuation.

    ``"where is my old bag"`` -> ``"Where is my old bag?"``; names, days, months and the
    pronoun ``I`` (also in ``I'm``, ``I'll``, ...) are capitalized; questions (by their opening words)
    end with ``?``, other sentences with ``.``; a comma goes before ``but``/``so`` clauses.
    """
    text = sentence
    for clause in _COMMA_BEFORE:
        text = text.replace(clause, "," + clause)
    words = text.split(" ")
    for k, word in enumerate(words):
        bare = word.rstrip(",")
        month = bare in ("may", "march") and k > 0 and words[k - 1] == "in"
        if bare in _CAPITALIZED or month or bare == "i" or bare.startswith("i'"):
            words[k] = word[0].upper() + word[1:]
    text = " ".join(words)
    end = "?" if (sentence + " ").startswith(_QUESTION_OPENINGS) else "."
    return text[0].upper() + text[1:] + end


def normalized_text(raw: str) -> str:
    """The normalized column: the raw text lower-cased (the data layer lower-cases too)."""
    return raw.lower()


# ---------------------------------------------------------------------------- flite


def _run(cmd: Sequence[str]) -> str:
    proc = subprocess.run(list(cmd), capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode(errors="replace")


def check_flite(voice: str = VOICE) -> None:
    """Raises MissingDependencyError when flite or ``voice`` is missing."""
    if shutil.which("flite") is None:
        raise MissingDependencyError(f"flite not found on PATH; install it with: {INSTALL_HINT}")
    voices = _run(["flite", "-lv"]).split(":", 1)[-1].split()
    if voice not in voices:
        raise MissingDependencyError(f"flite has no voice {voice!r} (flite -lv lists {voices}); {INSTALL_HINT}")


def flite_version() -> str:
    """``flite-2.2-current Sep 2018`` (the ``version:`` line of ``flite --version``)."""
    # flite --version exits with status 1 after printing its banner
    out = subprocess.run(["flite", "--version"], capture_output=True, check=False).stdout.decode(errors="replace")
    for line in out.splitlines():
        if "version:" in line:
            return line.split("version:", 1)[1].split("(")[0].strip()
    return "unknown"


def wav_info(path: str) -> tuple[int, int, int, int]:
    """(sample rate, channels, bytes per sample, frames) of a PCM WAV."""
    with wave.open(path, "rb") as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()


def synthesize(text: str, path: str, voice: str = VOICE) -> float:
    """Speaks ``text`` with flite into ``path`` (atomically); returns the duration in seconds."""
    tmp = f"{path}.part.wav"
    _run(["flite", "-voice", voice, "-t", text, "-o", tmp])
    rate, channels, width, frames = wav_info(tmp)
    if (rate, channels, width) != (SAMPLE_RATE, 1, 2):
        os.remove(tmp)
        raise RuntimeError(f"flite voice {voice} wrote {rate} Hz, {channels} channels, {8 * width}-bit audio")
    os.replace(tmp, path)
    return frames / rate


# ---------------------------------------------------------------------------- corpus


def plan_corpus(num_train: int, num_dev: int, num_test: int, seed: int) -> list[Utterance]:
    texts = synth_text.generate_splits(num_train, num_dev, num_test, seed)
    plan = []
    for split in SPLITS:
        for i, sentence in enumerate(texts[split]):
            raw = raw_text(sentence)
            plan.append(Utterance(f"{split}_{i:05d}", split, raw, normalized_text(raw)))
    return plan


def _progress(iterable: Iterable, total: int, enabled: bool) -> Iterable:
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc="synthesizing", unit="utt")


def synthesize_all(plan: list[Utterance], wav_dir: str, jobs: int, progress: bool) -> int:
    """Synthesizes the utterances whose WAV is missing (threads: each waits on a flite
    process); fills every duration. Returns how many were synthesized."""

    def work(utt: Utterance) -> None:
        path = os.path.join(wav_dir, f"{utt.utt_id}.wav")
        if os.path.exists(path):  # whole: written by rename
            rate, _, _, frames = wav_info(path)
            utt.duration = frames / rate
        else:
            utt.duration = synthesize(utt.raw, path)

    todo = sum(not os.path.exists(os.path.join(wav_dir, f"{u.utt_id}.wav")) for u in plan)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(work, utt) for utt in plan]
        for future in _progress(concurrent.futures.as_completed(futures), len(futures), progress):
            future.result()  # re-raises the first synthesis error
    return todo


def _atomic_write(path: str, text: str) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, path)


def metadata_lines(utts: Iterable[Utterance]) -> str:
    return "".join(f"{u.utt_id}|{u.raw}|{u.normalized}\n" for u in utts)


def vocab_symbols(plan: Iterable[Utterance]) -> list[str]:
    """Sorted characters of the normalized texts (space first, as in the project's vocabs)."""
    return sorted({c for u in plan for c in u.normalized})


def _settings(num_train: int, num_dev: int, num_test: int, seed: int) -> dict:
    return {
        "num_train": num_train,
        "num_dev": num_dev,
        "num_test": num_test,
        "seed": seed,
        "voice": VOICE,
        "format_version": FORMAT_VERSION,
    }


def _read_json(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _prepare(out_dir: str, settings: dict) -> str:
    """Creates ``wavs/``; keeps the WAVs of an interrupted run with the same settings,
    removes those of a different one. Returns the WAV directory."""
    wav_dir = os.path.join(out_dir, "wavs")
    marker = os.path.join(out_dir, "metadata.json")
    if os.path.exists(marker):
        os.remove(marker)  # the completion marker goes first
    if _read_json(os.path.join(out_dir, _SETTINGS_FILE)) != settings and os.path.isdir(wav_dir):
        for name in os.listdir(wav_dir):
            if name.endswith(".wav"):
                os.remove(os.path.join(wav_dir, name))
    os.makedirs(wav_dir, exist_ok=True)
    for name in os.listdir(wav_dir):
        if name.endswith(".part.wav"):
            os.remove(os.path.join(wav_dir, name))
    _atomic_write(os.path.join(out_dir, _SETTINGS_FILE), json.dumps(settings))
    return wav_dir


def build_metadata(plan: list[Utterance], settings: dict, elapsed: float, synthesized: int) -> dict:
    by_split = {s: [u for u in plan if u.split == s] for s in SPLITS}
    seconds = {s: sum(u.duration for u in us) for s, us in by_split.items()}
    words = {s: [u.normalized for u in us] for s, us in by_split.items()}
    return {
        "settings": settings,
        "flite_version": flite_version(),
        "voice": VOICE,
        "sample_rate": SAMPLE_RATE,
        "counts": {s: len(us) for s, us in by_split.items()},
        "hours": {
            **{s: round(v / 3600, 4) for s, v in seconds.items()},
            "total": round(sum(seconds.values()) / 3600, 4),
        },
        "mean_duration_sec": {s: round(seconds[s] / max(1, len(us)), 3) for s, us in by_split.items()},
        "test_word_coverage": round(synth_text.word_coverage(words["train"], words["test"]), 5),
        "synthesized": synthesized,
        "elapsed_sec": round(elapsed, 1),
    }


def synthesize_corpus(
    out_dir: str,
    num_train: int = 9600,
    num_dev: int = 200,
    num_test: int = 200,
    seed: int = 1234,
    jobs: int | None = None,
    force: bool = False,
    progress: bool = True,
) -> dict:
    """Builds (or reuses) the corpus.

    Args:
      out_dir: output directory (created if needed).
      num_train / num_dev / num_test: utterances per split.
      seed: seed of the sentence generator.
      jobs: parallel flite processes; default ``os.cpu_count()``.
      force: rebuild even if a complete corpus with these settings exists.
      progress: show a progress bar.

    Returns:
      The metadata (also in ``<out_dir>/metadata.json``) plus ``"reused"``.

    Raises:
      MissingDependencyError: flite or its ``rms`` voice is missing.
    """
    out_dir = os.path.abspath(out_dir)
    settings = _settings(num_train, num_dev, num_test, seed)
    meta = _read_json(os.path.join(out_dir, "metadata.json"))
    if not force and meta is not None and meta.get("settings") == settings:
        return {**meta, "reused": True}
    check_flite()
    start = time.time()
    plan = plan_corpus(num_train, num_dev, num_test, seed)
    os.makedirs(out_dir, exist_ok=True)
    if force:
        _atomic_write(os.path.join(out_dir, _SETTINGS_FILE), "{}")  # forget WAVs of earlier runs
    wav_dir = _prepare(out_dir, settings)
    synthesized = synthesize_all(plan, wav_dir, jobs or os.cpu_count() or 1, progress)
    _atomic_write(os.path.join(out_dir, "metadata.csv"), metadata_lines(plan))
    for split in SPLITS:
        _atomic_write(
            os.path.join(out_dir, f"metadata_{split}.csv"), metadata_lines(u for u in plan if u.split == split)
        )
    _atomic_write(os.path.join(out_dir, "vocab.txt"), "".join(f"{c}\n" for c in vocab_symbols(plan)))
    meta = build_metadata(plan, settings, time.time() - start, synthesized)
    _atomic_write(os.path.join(out_dir, "metadata.json"), json.dumps(meta, indent=2))  # last: marks completion
    return {**meta, "reused": False}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="data/synth_tts", help="output directory")
    parser.add_argument("--num_train", type=int, default=9600)
    parser.add_argument("--num_dev", type=int, default=200)
    parser.add_argument("--num_test", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel flite processes")
    parser.add_argument("--force", action="store_true", help="rebuild an existing corpus")
    parser.add_argument("--no_progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    try:
        meta = synthesize_corpus(
            args.out,
            args.num_train,
            args.num_dev,
            args.num_test,
            args.seed,
            args.jobs,
            args.force,
            not args.no_progress,
        )
    except MissingDependencyError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    where = os.path.abspath(args.out)
    print(f"corpus already complete at {where} (--force rebuilds)" if meta["reused"] else f"wrote corpus to {where}")
    print(
        f"counts={meta['counts']} hours={meta['hours']} mean_duration_sec={meta['mean_duration_sec']} "
        f"flite={meta['flite_version']} voice={meta['voice']} elapsed_sec={meta['elapsed_sec']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
