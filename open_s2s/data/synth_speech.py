"""Synthesizes a small English speech corpus with espeak-ng for CTC experiments.

The corpus is meant for training a small character-level CTC recognizer
(Jasper-like) on a CPU in minutes, so it must be learnable, but the held-out
numbers must still mean something. The design choices:

* Text comes from :mod:`open_s2s.data.synth_text`: a seeded template grammar
  over ~1200 common English word forms. Every sentence occurs at most once in
  the corpus, so test and dev contain only sentences that train never sees,
  while nearly all of their word tokens do occur in train (the coverage is
  measured and stored in ``metadata.json``).
* Voices are ``<accent>+<variant>`` espeak-ng voices. All splits share the
  eight English accents, but the *variants* (the speaker models: formants,
  pitch range, voicing, Klatt synthesis, ...) are partitioned: test uses 7
  whole variant names that neither train nor dev ever uses, and dev uses 7
  other held-out variants. So both held-out splits measure generalization to
  unseen speakers, while dev stays an honest proxy for test (a dev set made of
  train voices would overestimate test accuracy). Held-out variants were picked
  from the same families as the training ones (male, female, Klatt), and
  variants that are whispered, robotic, echoing or strongly formant-shifted
  are excluded everywhere because they are hard to understand even for humans.
* Each utterance draws its pitch (``-p`` 30..70), speed (``-s`` 140..200 wpm)
  and output peak level (-8..-1 dBFS) at random, in every split.
* Audio is espeak-ng's 22.05 kHz output resampled by sox to 16 kHz mono 16-bit
  PCM WAV and peak-normalized (which also removes espeak's occasional
  clipping). Silence is not trimmed.

Outputs under ``--out`` (OpenSeq2Seq conventions)::

    train.csv dev.csv test.csv   wav_filename,wav_filesize,transcript
    wav/<split>/<id>.wav         16 kHz mono int16
    vocab.txt                    ' ', "'", a..z: one character per line
    lm_text.txt                  train transcripts, one per line
    utterances.csv               per-utterance voice, pitch, speed, duration
    metadata.json                settings, voices per split, counts, hours

System dependencies: ``espeak-ng`` and ``sox`` (``apt-get install espeak-ng
sox``).

Usage:
    python -m open_s2s.data.synth_speech --out data/synth_speech
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import json
import os
import random
import shutil
import string
import subprocess
import sys
import time
import wave
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from open_s2s.data import synth_text

SAMPLE_RATE = 16000
SPLITS = ("train", "dev", "test")
FORMAT_VERSION = 1  # Bump when the generated corpus would change for equal flags.

ACCENTS = (
    "en-us",
    "en-us-nyc",
    "en-gb",
    "en-gb-x-rp",
    "en-gb-scotland",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
)
# "" is espeak's default (unmodified) voice for the accent.
TRAIN_VARIANTS = (
    "",
    "m1",
    "m2",
    "m3",
    "m4",
    "m6",
    "m7",
    "f1",
    "f2",
    "f4",
    "klatt",
    "klatt3",
    "klatt4",
    "klatt6",
    "adam",
    "edward",
    "david",
    "max",
    "Mike",
    "Alex",
    "john",
    "pedro",
    "antonio",
    "quincy",
    "robert",
    "Gene",
    "grandpa",
    "Hugo",
    "linda",
    "aunty",
    "Annie",
    "Andrea",
    "steph",
    "anika",
    "Alicia",
)
DEV_VARIANTS = ("m8", "f5", "klatt5", "benjamin", "paul", "belinda", "Nguyen")
TEST_VARIANTS = ("m5", "f3", "klatt2", "rob", "ed", "shelby", "Denis")
SPLIT_VARIANTS = {"train": TRAIN_VARIANTS, "dev": DEV_VARIANTS, "test": TEST_VARIANTS}

PITCH_RANGE = (30, 70)
SPEED_RANGE = (140, 200)
PEAK_DB_RANGE = (-8.0, -1.0)
# espeak-ng clips internally for some variants at its default amplitude 100.
ESPEAK_AMPLITUDE = 70

VOCAB = [" ", "'"] + list(string.ascii_lowercase)
CSV_HEADER = ["wav_filename", "wav_filesize", "transcript"]
INSTALL_HINT = "apt-get install espeak-ng sox"


class MissingDependencyError(RuntimeError):
    """Raised when espeak-ng or sox is not installed."""


@dataclass
class Utterance:
    """One corpus item and the synthesis parameters used for it."""

    utt_id: str
    split: str
    text: str
    voice: str
    pitch: int
    speed: int
    peak_db: float
    path: str
    duration: float = 0.0
    filesize: int = 0


# ---------------------------------------------------------------------------
# espeak-ng / sox helpers.
# ---------------------------------------------------------------------------


def check_dependencies() -> None:
    """Verifies that espeak-ng and sox are on PATH.

    Raises:
        MissingDependencyError: With an installation hint, if any is missing.
    """
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        raise MissingDependencyError(f"{' and '.join(missing)} not found on PATH; install with: {INSTALL_HINT}")


def _run(cmd: Sequence[str], stdin: bytes | None = None) -> bytes:
    """Runs ``cmd`` and returns stdout, raising with its stderr on failure."""
    proc = subprocess.run(list(cmd), input=stdin, capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def tool_version(tool: str) -> str:
    """Returns the first line of ``<tool> --version``."""
    out = _run([tool, "--version"]).decode(errors="replace").strip()
    # espeak-ng appends "  Data at: <path>", which is host specific.
    return out.splitlines()[0].split("  Data at:")[0].strip() if out else "unknown"


def available_voices() -> dict[str, set]:
    """Lists installed English accents and voice variants.

    espeak-ng silently falls back to its default voice for an unknown variant,
    which would corrupt the voice split, so configured names are checked.

    Returns:
        ``{"accents": {...}, "variants": {...}}`` with the names espeak-ng
        accepts after ``-v`` and after ``+`` respectively.
    """
    accents = {line.split()[1] for line in _run(["espeak-ng", "--voices=en"]).decode().splitlines()[1:] if line.split()}
    variants = set()
    for line in _run(["espeak-ng", "--voices=variant"]).decode().splitlines()[1:]:
        path = next((tok for tok in line.split() if tok.startswith("!v/")), None)
        if path:
            variants.add(path[len("!v/") :])
    return {"accents": accents, "variants": variants}


def _usable(names: Iterable[str], installed: set, kind: str) -> list[str]:
    """Keeps installed names (``""`` always), warning about the others."""
    kept = [n for n in names if n == "" or n in installed]
    dropped = sorted(set(names) - set(kept))
    if dropped:
        print(f"warning: espeak-ng lacks {kind} {dropped}; skipping them", file=sys.stderr)
    return kept


def voice_name(accent: str, variant: str) -> str:
    """Builds the espeak-ng ``-v`` argument, e.g. ``en-us+m3``."""
    return f"{accent}+{variant}" if variant else accent


def wav_duration(path: str) -> float:
    """Duration in seconds of a PCM WAV file."""
    with wave.open(path, "rb") as wav:
        return wav.getnframes() / float(wav.getframerate())


def synthesize_utterance(text: str, voice: str, pitch: int, speed: int, path: str, peak_db: float = -3.0) -> float:
    """Speaks ``text`` into a 16 kHz mono 16-bit WAV file.

    The file is written under a temporary name and renamed, so ``path`` never
    holds a truncated file if the process is killed.

    Args:
        text: Words to speak.
        voice: espeak-ng voice, e.g. ``en-gb-scotland+f2``.
        pitch: espeak-ng pitch, 0..99.
        speed: Words per minute.
        path: Output WAV path; parent directory must exist.
        peak_db: Peak level of the output in dBFS (negative).

    Returns:
        Duration of the written audio in seconds.
    """
    raw = _run(
        ["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "-a", str(ESPEAK_AMPLITUDE), "--stdout", text]
    )
    tmp = f"{path}.part.wav"  # sox picks the output format from the extension.
    # -R: repeatable dither. rate before gain -n, so the peak is exact at 16 kHz.
    _run(
        [
            "sox",
            "-R",
            "-q",
            "-t",
            "wav",
            "-",
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            tmp,
            "rate",
            "-h",
            str(SAMPLE_RATE),
            "gain",
            "-n",
            f"{peak_db:.2f}",
        ],
        stdin=raw,
    )
    os.replace(tmp, path)
    return wav_duration(path)


# ---------------------------------------------------------------------------
# Corpus planning and writing.
# ---------------------------------------------------------------------------


def plan_corpus(
    out_dir: str, texts: dict[str, list[str]], seed: int, accents: Sequence[str], variants: dict[str, Sequence[str]]
) -> list[Utterance]:
    """Assigns voice, pitch, speed and output path to every sentence.

    Args:
        out_dir: Corpus root (absolute).
        texts: Sentences per split.
        seed: Seed; a string-derived RNG keeps voices independent of the text RNG.
        accents: espeak-ng accents shared by all splits.
        variants: Variant pool per split.

    Returns:
        Utterances in split order.
    """
    rng = random.Random(f"voices-{seed}")
    plan = []
    for split in SPLITS:
        for i, text in enumerate(texts[split]):
            utt_id = f"{split}_{i:05d}"
            plan.append(
                Utterance(
                    utt_id=utt_id,
                    split=split,
                    text=text,
                    voice=voice_name(rng.choice(accents), rng.choice(variants[split])),
                    pitch=rng.randint(*PITCH_RANGE),
                    speed=rng.randint(*SPEED_RANGE),
                    peak_db=round(rng.uniform(*PEAK_DB_RANGE), 2),
                    path=os.path.join(out_dir, "wav", split, f"{utt_id}.wav"),
                )
            )
    return plan


def _progress(iterable: Iterable, total: int, enabled: bool) -> Iterable:
    """Wraps ``iterable`` in a tqdm bar when tqdm is installed and wanted."""
    if not enabled:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, total=total, desc="synthesizing", unit="utt")


def synthesize_all(plan: list[Utterance], jobs: int, progress: bool) -> None:
    """Synthesizes every planned utterance in parallel, filling duration/size.

    Threads suffice because each job just waits on espeak-ng/sox subprocesses.
    """

    def work(utt: Utterance) -> Utterance:
        utt.duration = synthesize_utterance(utt.text, utt.voice, utt.pitch, utt.speed, utt.path, utt.peak_db)
        utt.filesize = os.path.getsize(utt.path)
        return utt

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(work, utt) for utt in plan]
        for future in _progress(concurrent.futures.as_completed(futures), len(futures), progress):
            future.result()  # Re-raises the first synthesis error.


def _atomic_write(path: str, write) -> None:
    """Calls ``write(file)`` on a temp file next to ``path``, then renames it."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        write(f)
    os.replace(tmp, path)


def write_split_csv(out_dir: str, split: str, utts: list[Utterance], relative: bool) -> str:
    """Writes ``<split>.csv`` in OpenSeq2Seq format and returns its path."""
    path = os.path.join(out_dir, f"{split}.csv")

    def write(f) -> None:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for utt in utts:
            name = os.path.relpath(utt.path, out_dir) if relative else utt.path
            writer.writerow([name, utt.filesize, utt.text])

    _atomic_write(path, write)
    return path


def write_text_files(out_dir: str, plan: list[Utterance]) -> None:
    """Writes vocab.txt, lm_text.txt and utterances.csv."""
    _atomic_write(os.path.join(out_dir, "vocab.txt"), lambda f: f.writelines(f"{ch}\n" for ch in VOCAB))
    train = [u.text for u in plan if u.split == "train"]
    _atomic_write(os.path.join(out_dir, "lm_text.txt"), lambda f: f.writelines(f"{t}\n" for t in train))

    def write_manifest(f) -> None:
        fields = ["utt_id", "split", "voice", "pitch", "speed", "peak_db", "duration", "text"]
        writer = csv.DictWriter(f, fieldnames=fields, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(asdict(u) for u in plan)

    _atomic_write(os.path.join(out_dir, "utterances.csv"), write_manifest)


def _settings(out_dir: str, num_train: int, num_dev: int, num_test: int, seed: int, relative_paths: bool) -> dict:
    """Flags that determine the corpus contents (compared for idempotence)."""
    return {
        "num_train": num_train,
        "num_dev": num_dev,
        "num_test": num_test,
        "seed": seed,
        "relative_paths": relative_paths,
        # Absolute CSV paths are only valid at this location.
        "out_dir": None if relative_paths else out_dir,
        "format_version": FORMAT_VERSION,
    }


def existing_metadata(out_dir: str, settings: dict) -> dict | None:
    """Returns the stored metadata if a complete corpus with ``settings`` exists."""
    path = os.path.join(out_dir, "metadata.json")
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    complete = all(os.path.exists(os.path.join(out_dir, f"{s}.csv")) for s in SPLITS)
    return meta if complete and meta.get("settings") == settings else None


def build_metadata(
    plan: list[Utterance], settings: dict, accents: Sequence[str], variants: dict[str, Sequence[str]], elapsed: float
) -> dict:
    """Summarizes the corpus: counts, hours, voices, vocabulary coverage."""
    by_split = {s: [u for u in plan if u.split == s] for s in SPLITS}
    texts = {s: [u.text for u in us] for s, us in by_split.items()}
    seconds = {s: sum(u.duration for u in us) for s, us in by_split.items()}
    total = sum(seconds.values())
    return {
        "settings": settings,
        "espeak_ng_version": tool_version("espeak-ng"),
        "sox_version": tool_version("sox"),
        "sample_rate": SAMPLE_RATE,
        "counts": {s: len(us) for s, us in by_split.items()},
        "hours": {**{s: round(v / 3600, 4) for s, v in seconds.items()}, "total": round(total / 3600, 4)},
        "mean_duration_sec": {s: round(seconds[s] / max(1, len(us)), 3) for s, us in by_split.items()},
        "accents": list(accents),
        "variants": {s: list(v) for s, v in variants.items()},
        "voices": {s: sorted({u.voice for u in us}) for s, us in by_split.items()},
        "pitch_range": list(PITCH_RANGE),
        "speed_range_wpm": list(SPEED_RANGE),
        "peak_db_range": list(PEAK_DB_RANGE),
        "train_word_types": len({w for t in texts["train"] for w in t.split()}),
        "all_word_types": len({w for ts in texts.values() for t in ts for w in t.split()}),
        "test_word_coverage": round(synth_text.word_coverage(texts["train"], texts["test"]), 5),
        "dev_word_coverage": round(synth_text.word_coverage(texts["train"], texts["dev"]), 5),
        "elapsed_sec": round(elapsed, 1),
    }


def _prepare_dirs(out_dir: str) -> None:
    """Creates wav dirs and removes stale outputs from an earlier, different run."""
    # Drop the completion marker first, so an interrupted rebuild is not reused.
    marker = os.path.join(out_dir, "metadata.json")
    if os.path.exists(marker):
        os.remove(marker)
    for split in SPLITS:
        wav_dir = os.path.join(out_dir, "wav", split)
        os.makedirs(wav_dir, exist_ok=True)
        for name in os.listdir(wav_dir):
            if name.endswith(".wav"):
                os.remove(os.path.join(wav_dir, name))


def synthesize_corpus(
    out_dir: str,
    num_train: int = 12000,
    num_dev: int = 300,
    num_test: int = 300,
    seed: int = 1234,
    jobs: int | None = None,
    relative_paths: bool = False,
    force: bool = False,
    progress: bool = True,
) -> dict:
    """Builds (or reuses) a synthetic speech corpus.

    Args:
        out_dir: Output directory (created if needed).
        num_train: Number of training utterances.
        num_dev: Number of dev utterances.
        num_test: Number of test utterances.
        seed: Seed for sentences and voice parameters.
        jobs: Parallel synthesis workers; defaults to ``os.cpu_count()``.
        relative_paths: Write wav paths relative to ``out_dir`` in the CSVs.
        force: Regenerate even if an identical corpus already exists.
        progress: Show a tqdm progress bar when tqdm is installed.

    Returns:
        The corpus metadata (also stored in ``<out_dir>/metadata.json``), with
        an extra key ``"reused"`` telling whether an existing corpus was kept.

    Raises:
        MissingDependencyError: If espeak-ng or sox is missing.
    """
    # The real path: a corpus reached through a link is the same corpus (reused, not rebuilt),
    # and its CSVs name the files wherever the link goes.
    out_dir = os.path.realpath(out_dir)
    settings = _settings(out_dir, num_train, num_dev, num_test, seed, relative_paths)
    meta = None if force else existing_metadata(out_dir, settings)
    if meta is not None:
        return {**meta, "reused": True}
    check_dependencies()
    start = time.time()
    installed = available_voices()
    accents = _usable(ACCENTS, installed["accents"], "accents")
    variants = {s: _usable(v, installed["variants"], "variants") for s, v in SPLIT_VARIANTS.items()}
    if not accents or not all(variants.values()):
        raise RuntimeError("espeak-ng lacks the English voices this corpus needs")
    texts = synth_text.generate_splits(num_train, num_dev, num_test, seed)
    plan = plan_corpus(out_dir, texts, seed, accents, variants)
    _prepare_dirs(out_dir)
    synthesize_all(plan, jobs or os.cpu_count() or 1, progress)
    for split in SPLITS:
        write_split_csv(out_dir, split, [u for u in plan if u.split == split], relative_paths)
    write_text_files(out_dir, plan)
    meta = build_metadata(plan, settings, accents, variants, time.time() - start)
    # metadata.json goes last: its presence marks a complete corpus.
    _atomic_write(os.path.join(out_dir, "metadata.json"), lambda f: json.dump(meta, f, indent=2))
    return {**meta, "reused": False}


# ---------------------------------------------------------------------------
# CLI.
# ---------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parses command line flags."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="data/synth_speech", help="output directory")
    parser.add_argument("--num_train", type=int, default=12000)
    parser.add_argument("--num_dev", type=int, default=300)
    parser.add_argument("--num_test", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel synthesis workers")
    parser.add_argument("--relative_paths", action="store_true", help="write wav paths relative to the CSV directory")
    parser.add_argument("--force", action="store_true", help="regenerate an existing corpus")
    parser.add_argument("--no_progress", action="store_true", help="hide the progress bar")
    return parser.parse_args(argv)


def _summary(meta: dict) -> str:
    """One-paragraph human-readable corpus summary."""
    return (
        f"counts={meta['counts']} hours={meta['hours']} "
        f"mean_duration_sec={meta['mean_duration_sec']} "
        f"train_word_types={meta['train_word_types']} "
        f"test_word_coverage={meta['test_word_coverage']} "
        f"elapsed_sec={meta['elapsed_sec']}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the process exit code."""
    args = parse_args(argv)
    try:
        meta = synthesize_corpus(
            args.out,
            args.num_train,
            args.num_dev,
            args.num_test,
            args.seed,
            args.jobs,
            args.relative_paths,
            args.force,
            progress=not args.no_progress,
        )
    except MissingDependencyError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if meta["reused"]:
        print(f"corpus already exists at {os.path.abspath(args.out)} with the same settings; use --force to regenerate")
    else:
        print(f"wrote corpus to {os.path.abspath(args.out)}")
    print(_summary(meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
