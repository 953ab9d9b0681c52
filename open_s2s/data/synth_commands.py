"""Synthesizes a small keyword dataset in the exact Google Speech Commands layout.

Nothing can be downloaded on the project's machines, so this builds a stand-in for
Speech Commands (Warden, 2018) with text-to-speech: every word of release v0.02 (the
ten v1-12 commands, the twenty other v0.01 words and the five v0.02 additions) spoken
by many voices, as 1 s, 16 kHz, 16-bit mono WAV files::

    <out>/<word>/<speaker>_nohash_<n>.wav     one folder per word
    <out>/validation_list.txt                 "<word>/<file>" per line
    <out>/testing_list.txt
    <out>/_background_noise_/*.wav            30 s noise recordings (generated)
    <out>/speakers.csv, metadata.json         who said what (not part of the real layout)

**Speakers.** An espeak-ng speaker is an accent plus a voice variant (the speaker model:
formants, pitch range, voicing) with its own base pitch and speaking rate; a flite
speaker is a flite voice with its own pitch target, duration stretch and a shift of
pitch and formants together (sox ``pitch``, -2..+6 semitones: a shorter vocal tract for
positive shifts), since flite has only five voices. Each speaker
says every word (the ten commands twice). The split is by *voice*: the validation and
test speakers use espeak-ng variants and flite voices that no training speaker uses
(the variant partition of :mod:`open_s2s.data.synth_speech`; flite ``rms`` for
validation, ``slt`` for test), so accuracy on them measures generalization to unheard
voices. As in the real dataset, the split is written only to the two list files and
training is every file they do not name.

**Clips.** Synthesized words are trimmed of silence, put at a random offset in a 1 s
clip (about 10% of clips are cut shorter than 1 s, as in the real data), scaled to a
random peak level between -20 and -1 dBFS, and get a faint random noise floor.

**Background noise.** White, pink and brown noise, mains hum and a fan-like modulated
band noise, 30 s each, for silence clips and noise mixing.

System dependencies: espeak-ng and sox; flite when installed (``apt-get install
flite``), otherwise espeak-ng voices only (recorded in ``metadata.json``).

Usage:
    python -m open_s2s.data.synth_commands --out data/synth_commands
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
import wave
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from open_s2s.data import synth_speech
from open_s2s.data.speech_commands import labels

SAMPLE_RATE = 16000
CLIP_SAMPLES = SAMPLE_RATE
SPLITS = ("train", "validation", "test")
FORMAT_VERSION = 2
ACCENTS = synth_speech.ACCENTS
ESPEAK_VARIANTS = {
    "train": synth_speech.TRAIN_VARIANTS,
    "validation": synth_speech.DEV_VARIANTS,
    "test": synth_speech.TEST_VARIANTS,
}
FLITE_VOICES = {"train": ("kal", "kal16", "awb"), "validation": ("rms",), "test": ("slt",)}
NOISE_SECONDS = 30
NOISE_FILES = ("white_noise", "pink_noise", "brown_noise", "mains_hum", "fan")


@dataclass
class Speaker:
    """One synthetic speaker: an engine, a voice and its fixed prosody."""

    speaker_id: str
    split: str
    engine: str  # "espeak-ng" or "flite"
    voice: str
    pitch: float  # espeak-ng -p (0..99), or flite mean f0 in Hz
    rate: float  # espeak-ng words per minute, or flite duration stretch
    shift: float = 0.0  # flite: semitones by which sox shifts pitch and formants together


@dataclass
class Clip:
    """One utterance of one word."""

    speaker: Speaker
    word: str
    repeat: int
    seed: int

    @property
    def relpath(self) -> str:
        return f"{self.word}/{self.speaker.speaker_id}_nohash_{self.repeat}.wav"


def _speaker_id(*parts) -> str:
    return hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()[:8]


def plan_speakers(seed: int, espeak_per_variant: int, flite_per_voice: int, use_flite: bool) -> list[Speaker]:
    """Speakers of every split; held-out splits use voices train never uses."""
    rng = random.Random(f"speakers-{seed}")
    installed = synth_speech.available_voices()
    accents = synth_speech._usable(ACCENTS, installed["accents"], "accents")
    speakers = []
    for split in SPLITS:
        for variant in synth_speech._usable(ESPEAK_VARIANTS[split], installed["variants"], "variants"):
            for accent in rng.sample(accents, min(espeak_per_variant, len(accents))):
                voice = synth_speech.voice_name(accent, variant)
                speakers.append(
                    Speaker(_speaker_id("espeak", voice, seed), split, "espeak-ng", voice,
                            rng.randint(25, 75), rng.randint(120, 190))
                )  # fmt: skip
        for voice in FLITE_VOICES[split] if use_flite else ():
            for k in range(flite_per_voice):
                speakers.append(
                    Speaker(_speaker_id("flite", voice, k, seed), split, "flite", voice,
                            rng.randint(90, 200), round(rng.uniform(0.9, 1.3), 2), round(rng.uniform(-2, 6), 1))
                )  # fmt: skip
    return speakers


def plan_clips(speakers: Sequence[Speaker], command_repeats: int, seed: int) -> list[Clip]:
    clips = []
    for s in speakers:
        for word in labels.WORDS_V2:
            for r in range(command_repeats if word in labels.COMMANDS else 1):
                clips.append(Clip(s, word, r, int(_speaker_id(s.speaker_id, word, r, seed), 16)))
    return clips


# ---------------------------------------------------------------------------- synthesis


def _tts_wav(clip: Clip, rng: random.Random, tmpdir: str) -> bytes:
    """The word as a WAV file's bytes, at the engine's own sample rate."""
    s = clip.speaker
    if s.engine == "espeak-ng":
        pitch = min(99, max(0, round(s.pitch + rng.uniform(-6, 6))))
        rate = round(s.rate * rng.uniform(0.9, 1.1))
        return synth_speech._run(
            ["espeak-ng", "-v", s.voice, "-p", str(pitch), "-s", str(rate), "-a", "70", "--stdout", clip.word]
        )
    path = os.path.join(tmpdir, f"{clip.seed}.wav")
    f0 = s.pitch * rng.uniform(0.93, 1.07)
    stretch = s.rate * rng.uniform(0.93, 1.07)
    synth_speech._run(
        ["flite", "-voice", s.voice, "-t", clip.word, "-o", path,
         "--setf", f"int_f0_target_mean={f0:.0f}", "--setf", f"duration_stretch={stretch:.2f}"]
    )  # fmt: skip
    with open(path, "rb") as f:
        data = f.read()
    os.remove(path)
    return data


def _to_samples(wav_bytes: bytes, shift: float = 0.0) -> np.ndarray:
    """Resamples to 16 kHz, shifts pitch and formants by ``shift`` semitones and trims
    leading/trailing silence with sox; float32 [-1, 1]."""
    pitch = ["pitch", f"{100 * shift:.0f}"] if shift else []
    raw = synth_speech._run(
        ["sox", "-R", "-q", "-t", "wav", "-", "-t", "raw", "-e", "signed-integer", "-b", "16", "-c", "1", "-",
         *pitch, "rate", "-h", str(SAMPLE_RATE),
         "silence", "1", "0.01", "0.5%", "reverse", "silence", "1", "0.01", "0.5%", "reverse"],
        stdin=wav_bytes,
    )  # fmt: skip
    return np.frombuffer(raw, np.int16).astype(np.float32) / 32768.0


def make_clip(word: np.ndarray, rng: random.Random) -> np.ndarray:
    """Places a trimmed word in a (usually) 1 s clip with a random level and noise floor."""
    if len(word) == 0:
        raise RuntimeError("the synthesizer produced no audible samples")
    word = word[:CLIP_SAMPLES]
    word = word / max(float(np.max(np.abs(word))), 1e-6) * 10 ** (rng.uniform(-20, -1) / 20)
    clip = np.zeros(CLIP_SAMPLES, np.float32)
    start = rng.randint(0, CLIP_SAMPLES - len(word))
    clip[start : start + len(word)] = word
    noise = np.random.default_rng(rng.getrandbits(32)).standard_normal(CLIP_SAMPLES)
    clip += (noise * 10 ** (rng.uniform(-75, -50) / 20)).astype(np.float32)
    if rng.random() < 0.1:  # the real dataset has clips shorter than 1 s
        clip = clip[: rng.randint(start + len(word), CLIP_SAMPLES)]
    return np.clip(clip, -1.0, 1.0)


def write_wav(path: str, samples: np.ndarray) -> None:
    """16-bit mono WAV, written under a temporary name and renamed."""
    tmp = f"{path}.part"
    with wave.open(tmp, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(np.round(samples * 32767).astype("<i2").tobytes())
    os.replace(tmp, path)


def synthesize_clip(clip: Clip, out_dir: str, tmpdir: str) -> None:
    rng = random.Random(clip.seed)
    try:
        samples = make_clip(_to_samples(_tts_wav(clip, rng, tmpdir), clip.speaker.shift), rng)
    except RuntimeError as e:
        raise RuntimeError(f"{clip.relpath} ({clip.speaker.engine} {clip.speaker.voice}): {e}") from e
    write_wav(os.path.join(out_dir, clip.relpath), samples)


# ---------------------------------------------------------------------------- noise


def make_noise(kind: str, seconds: float, seed: int) -> np.ndarray:
    """A background-noise recording of ``kind`` (one of NOISE_FILES), peak -6 dBFS."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    white = rng.standard_normal(n)
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    shaped = lambda power: np.fft.irfft(np.fft.rfft(white) / np.maximum(freqs, 20.0) ** power, n)  # noqa: E731
    t = np.arange(n) / SAMPLE_RATE
    if kind == "white_noise":
        x = white
    elif kind == "pink_noise":
        x = shaped(0.5)
    elif kind == "brown_noise":
        x = shaped(1.0)
    elif kind == "mains_hum":
        x = sum(np.sin(2 * np.pi * 50 * h * t + rng.uniform(0, 6.3)) / h for h in range(1, 8))
        x = x / np.max(np.abs(x)) + 0.05 * shaped(0.5) / np.std(shaped(0.5))
    elif kind == "fan":
        band = np.fft.irfft(np.fft.rfft(white) * ((freqs > 80) & (freqs < 1500)), n)
        x = band * (1 + 0.3 * np.sin(2 * np.pi * 0.7 * t)) + 0.2 * np.sin(2 * np.pi * 120 * t) * np.std(band)
    else:
        raise ValueError(f"unknown noise kind {kind!r}")
    return (x / np.max(np.abs(x)) * 10 ** (-6 / 20)).astype(np.float32)


def write_background_noise(out_dir: str, seed: int) -> list[str]:
    noise_dir = os.path.join(out_dir, labels.BACKGROUND_NOISE_DIR)
    os.makedirs(noise_dir, exist_ok=True)
    for i, kind in enumerate(NOISE_FILES):
        write_wav(os.path.join(noise_dir, f"{kind}.wav"), make_noise(kind, NOISE_SECONDS, seed * 100 + i))
    with open(os.path.join(noise_dir, "README.md"), "w") as f:
        f.write("Generated noise recordings (open_s2s.data.synth_commands), 16 kHz mono, for silence clips "
                "and background-noise mixing.\n")  # fmt: skip
    return [f"{k}.wav" for k in NOISE_FILES]


# ---------------------------------------------------------------------------- the dataset


def _write_lists(out_dir: str, clips: Sequence[Clip]) -> None:
    for split, name in (("validation", labels.VALIDATION_LIST), ("test", labels.TESTING_LIST)):
        lines = sorted(c.relpath for c in clips if c.speaker.split == split)
        with open(os.path.join(out_dir, name), "w") as f:
            f.writelines(f"{line}\n" for line in lines)


def _write_speakers(out_dir: str, speakers: Sequence[Speaker]) -> None:
    with open(os.path.join(out_dir, "speakers.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(asdict(speakers[0])), lineterminator="\n")
        writer.writeheader()
        writer.writerows(asdict(s) for s in speakers)


def _prepare(out_dir: str) -> None:
    """Removes the completion marker and the word folders of an earlier run."""
    marker = os.path.join(out_dir, "metadata.json")
    if os.path.exists(marker):
        os.remove(marker)
    for word in labels.WORDS_V2:
        shutil.rmtree(os.path.join(out_dir, word), ignore_errors=True)
        os.makedirs(os.path.join(out_dir, word))


def _reusable(out_dir: str, settings: dict) -> dict | None:
    try:
        with open(os.path.join(out_dir, "metadata.json")) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    return meta if meta.get("settings") == settings else None


def synthesize_dataset(
    out_dir: str,
    seed: int = 1234,
    espeak_per_variant: int = 3,
    flite_per_voice: int = 3,
    command_repeats: int = 2,
    max_speakers_per_split: int | None = None,
    jobs: int | None = None,
    force: bool = False,
    progress: bool = True,
) -> dict:
    """Builds (or reuses, when settings match) the dataset; returns its metadata.

    Args:
      out_dir: dataset root (created).
      seed: seed of speakers, prosody, placement and noise.
      espeak_per_variant: espeak-ng speakers (accents) per voice variant.
      flite_per_voice: flite speakers (pitch/rate settings) per flite voice.
      command_repeats: utterances of each of the ten commands per speaker (others: 1).
      max_speakers_per_split: keep only this many speakers per split (small fixtures).
      jobs: parallel synthesis workers (default: CPU count).
      force: rebuild even if an identical dataset exists.
      progress: tqdm progress bar.
    """
    out_dir = os.path.abspath(out_dir)
    use_flite = shutil.which("flite") is not None
    settings = {
        "seed": seed, "espeak_per_variant": espeak_per_variant, "flite_per_voice": flite_per_voice,
        "command_repeats": command_repeats, "max_speakers_per_split": max_speakers_per_split,
        "flite": use_flite, "format_version": FORMAT_VERSION,
    }  # fmt: skip
    meta = None if force else _reusable(out_dir, settings)
    if meta is not None:
        return {**meta, "reused": True}
    synth_speech.check_dependencies()
    start = time.time()
    speakers = plan_speakers(seed, espeak_per_variant, flite_per_voice, use_flite)
    if max_speakers_per_split is not None:
        rng = random.Random(seed)
        speakers = [s for split in SPLITS for s in _pick(rng, speakers, split, max_speakers_per_split)]
    clips = plan_clips(speakers, command_repeats, seed)
    os.makedirs(out_dir, exist_ok=True)
    _prepare(out_dir)
    noise = write_background_noise(out_dir, seed)
    with tempfile.TemporaryDirectory() as tmpdir, concurrent.futures.ThreadPoolExecutor(jobs or os.cpu_count()) as pool:
        futures = [pool.submit(synthesize_clip, c, out_dir, tmpdir) for c in clips]
        done = concurrent.futures.as_completed(futures)
        if progress:
            from tqdm import tqdm

            done = tqdm(done, total=len(futures), desc="synthesizing", unit="clip")
        for future in done:
            future.result()
    _write_lists(out_dir, clips)
    _write_speakers(out_dir, speakers)
    meta = {
        "settings": settings,
        "espeak_ng_version": synth_speech.tool_version("espeak-ng"),
        "counts": {s: sum(c.speaker.split == s for c in clips) for s in SPLITS},
        "speakers": {s: sum(sp.split == s for sp in speakers) for s in SPLITS},
        "voices": {s: sorted({sp.voice for sp in speakers if sp.split == s}) for s in SPLITS},
        "background_noise": noise,
        "elapsed_sec": round(time.time() - start, 1),
    }
    with open(os.path.join(out_dir, "metadata.json"), "w") as f:  # last: marks a complete dataset
        json.dump(meta, f, indent=2)
    return {**meta, "reused": False}


def _pick(rng: random.Random, speakers: Sequence[Speaker], split: str, n: int) -> list[Speaker]:
    """``n`` speakers of ``split``, flite ones first when there are any (engine variety)."""
    pool = [s for s in speakers if s.split == split]
    flite = [s for s in pool if s.engine == "flite"][:1]
    rest = [s for s in pool if s not in flite]
    return (flite + rng.sample(rest, min(len(rest), n)))[:n]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="data/synth_commands")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--espeak_per_variant", type=int, default=3)
    parser.add_argument("--flite_per_voice", type=int, default=3)
    parser.add_argument("--command_repeats", type=int, default=2)
    parser.add_argument("--max_speakers_per_split", type=int, default=None)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--force", action="store_true", help="regenerate an existing dataset")
    parser.add_argument("--no_progress", action="store_true")
    args = parser.parse_args(argv)
    try:
        meta = synthesize_dataset(
            args.out, args.seed, args.espeak_per_variant, args.flite_per_voice, args.command_repeats,
            args.max_speakers_per_split, args.jobs, args.force, progress=not args.no_progress,
        )  # fmt: skip
    except synth_speech.MissingDependencyError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    state = "already exists (same settings; --force rebuilds)" if meta["reused"] else "written"
    print(f"{os.path.abspath(args.out)}: {state}; clips {meta['counts']}, speakers {meta['speakers']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
