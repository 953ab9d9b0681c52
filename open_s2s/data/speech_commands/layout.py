"""Reads the Google Speech Commands folder layout into the examples of one split.

The layout (Warden, 2018)::

    <root>/<word>/<speaker>_nohash_<n>.wav    one folder per word
    <root>/validation_list.txt                "<word>/<file>" per line
    <root>/testing_list.txt
    <root>/_background_noise_/*.wav           long noise recordings

Training is every word file that neither list names. For ``v1-12`` the ten commands
are classes of their own, every other word folder is ``_unknown_`` (a seeded sample of
``unknown_percentage`` % of the command count is kept), and ``silence_percentage`` % as
many ``_silence_`` clips are cut from the background noise at seeded offsets and levels.
No TensorFlow here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from open_s2s.data.audio import DataError
from open_s2s.data.speech_commands import labels

SPLITS = ("train", "validation", "test")
# Fixed, so every config and run sees the same unknown and silence examples of a split.
_SELECTION_SEED = {"train": 59185, "validation": 59186, "test": 59187}


@dataclass(frozen=True)
class Example:
    """One example: a word file, or a silence clip cut from a noise recording.

    Attributes:
      path: absolute audio path (the noise file for silence clips).
      label: class id.
      noise_index: index into the layout's noise files for silence clips, else -1.
      offset: first sample of a silence clip.
      gain: level of a silence clip (1.0 for words).
    """

    path: str
    label: int
    noise_index: int = -1
    offset: int = 0
    gain: float = 1.0

    def name(self, sample_rate: int) -> str:
        """Name in infer output: the file path, or ``noise.wav@<seconds>s*<gain>`` for silence."""
        if self.noise_index < 0:
            return self.path
        return f"{self.path}@{self.offset / sample_rate:.3f}s*{self.gain:.3f}"


def word_folders(root: str) -> list[str]:
    """Word folder names under ``root`` (every directory but ``_background_noise_``)."""
    if not os.path.isdir(root):
        raise DataError(f"Speech Commands dataset_location {root!r} is not a directory")
    return sorted(
        d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)) and not d.startswith("_") and d[0] != "."
    )


def read_list(root: str, name: str) -> set[str]:
    """The ``word/file.wav`` entries of a list file, each checked to exist."""
    path = os.path.join(root, name)
    if not os.path.isfile(path):
        raise DataError(f"{path}: list file not found (the Speech Commands layout has {name})")
    entries = set()
    with open(path) as f:
        for line_no, line in enumerate(f, 1):
            entry = line.strip()
            if not entry:
                continue
            if not os.path.isfile(os.path.join(root, entry)):
                raise DataError(f"{path}:{line_no}: {entry} does not exist under {root}")
            entries.add(entry)
    return entries


def noise_files(root: str) -> list[str]:
    """Absolute paths of the ``_background_noise_`` WAV files (sorted)."""
    noise_dir = os.path.join(root, labels.BACKGROUND_NOISE_DIR)
    if not os.path.isdir(noise_dir):
        return []
    return [os.path.join(noise_dir, f) for f in sorted(os.listdir(noise_dir)) if f.lower().endswith(".wav")]


def split_files(root: str, split: str, words: Sequence[str]) -> dict[str, list[str]]:
    """``{word: [relative paths]}`` of ``split`` for the given word folders."""
    validation, testing = read_list(root, labels.VALIDATION_LIST), read_list(root, labels.TESTING_LIST)
    both = sorted(validation & testing)
    if both:
        raise DataError(f"{root}: {both[0]} is in both {labels.VALIDATION_LIST} and {labels.TESTING_LIST}")
    out = {}
    for word in words:
        files = sorted(f"{word}/{f}" for f in os.listdir(os.path.join(root, word)) if f.lower().endswith(".wav"))
        if split == "validation":
            out[word] = [f for f in files if f in validation]
        elif split == "test":
            out[word] = [f for f in files if f in testing]
        else:
            out[word] = [f for f in files if f not in validation and f not in testing]
    return out


def build_examples(
    root: str,
    label_set: str,
    split: str,
    unknown_percentage: float,
    silence_percentage: float,
    noise_lengths: Sequence[int],
    clip_samples: int,
) -> list[Example]:
    """The examples of ``split`` (words in folder order, then unknown, then silence).

    Args:
      root: dataset root.
      label_set: one of ``labels.LABEL_SETS``.
      split: ``train``, ``validation`` or ``test``.
      unknown_percentage / silence_percentage: v1-12 only, relative to the command count.
      noise_lengths: samples of each ``noise_files(root)`` file (for silence offsets).
      clip_samples: samples per clip.

    Raises:
      DataError: a required word folder, a list file or noise is missing, or the split is empty.
    """
    names = labels.labels_for(label_set)
    folders = word_folders(root)
    missing = [w for w in labels.required_words(label_set) if w not in folders]
    if missing:
        raise DataError(f"{root}: word folders {missing} are missing (label set {label_set} needs them)")
    words = folders if label_set == "v1-12" else [w for w in folders if w in names]
    files = split_files(root, split, words)
    examples = [Example(os.path.join(root, f), names.index(w)) for w in words if w in names for f in files[w]]
    if not examples:
        raise DataError(f"{root}: the {split} split has no files of the label set {label_set}")
    if label_set != "v1-12":
        return examples
    rng = np.random.default_rng(_SELECTION_SEED[split])
    n_known = len(examples)
    unknown_pool = [f for w in words if w not in names for f in files[w]]
    n_unknown = min(len(unknown_pool), round(n_known * unknown_percentage / 100))
    chosen = sorted(rng.choice(len(unknown_pool), n_unknown, replace=False)) if n_unknown else []
    unknown_id = names.index(labels.UNKNOWN)
    examples += [Example(os.path.join(root, unknown_pool[i]), unknown_id) for i in chosen]
    n_silence = round(n_known * silence_percentage / 100)
    if n_silence:
        examples += silence_examples(root, n_silence, noise_lengths, clip_samples, rng, names.index(labels.SILENCE))
    return examples


def silence_examples(root, count, noise_lengths, clip_samples, rng, label) -> list[Example]:
    """``count`` silence clips at seeded noise files, offsets and gains in [0, 1]."""
    paths = noise_files(root)
    if not paths:
        raise DataError(
            f"{os.path.join(root, labels.BACKGROUND_NOISE_DIR)}: no noise WAV files, needed for the "
            f"_silence_ class (or set silence_percentage to 0)"
        )
    out = []
    for _ in range(count):
        i = int(rng.integers(len(paths)))
        offset = int(rng.integers(0, noise_lengths[i] - clip_samples + 1))
        out.append(Example(paths[i], label, i, offset, round(float(rng.uniform(0.0, 1.0)), 4)))
    return out
