"""OpenSeq2Seq's keys and list files of Speech Commands (its ``speech_commands_preprocessing.py``).

OpenSeq2Seq did not read Google's split lists: a preprocessing script wrote, into the
dataset root, one list file per split (``v1-12-train.txt``, ``v1-12-val.txt``,
``v1-12-test.txt``; likewise ``v1-30-*`` and ``v2-*``) with one ``<class id>,<word>/<file>.wav``
line per clip, no header. Class ids index the script's class list of the dataset version
(``CLASSES`` below, e.g. ``yes``..``go``, ``unknown``, ``silence`` for v1-12), ``unknown``
clips are files of the other words, and ``silence`` clips are 1 s WAV files the script cut
from ``_background_noise_`` into ``silence/``. Training lists repeat clips to balance the
classes. This module reads such lists and maps the ids to this project's label sets by
name, and resolves OpenSeq2Seq's ``num_labels`` and ``audio_length`` against our keys.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from open_s2s.config.params import ConfigError
from open_s2s.data.audio import DataError, FeatureParams
from open_s2s.data.speech_commands import labels

# The preprocessing script's class lists, in its order (the ids in the list files).
_V1_12 = labels.COMMANDS + ("unknown", "silence")
_V1_30 = labels.COMMANDS + (
    "bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house", "marvin",
    "nine", "one", "seven", "sheila", "six", "three", "tree", "two", "wow", "zero",
)  # fmt: skip
_V2 = (
    "backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward", "four", "go",
    "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on", "one", "right", "seven",
    "sheila", "six", "stop", "three", "tree", "two", "up", "visual", "wow", "yes", "zero",
)  # fmt: skip
CLASSES = {"v1-12": _V1_12, "v1-30": _V1_30, "v2-35": _V2}
# OpenSeq2Seq's num_labels -> this project's label set.
LABEL_SET_OF_NUM_LABELS = {12: "v1-12", 30: "v1-30", 35: "v2-35"}
_OUR_NAME = {"unknown": labels.UNKNOWN, "silence": labels.SILENCE}


def read_lists(root: str, files: Sequence[str], label_set: str) -> list[tuple[str, int]]:
    """``(absolute wav path, class id of label_set)`` of every line of ``files``, in order.

    Args:
      root: the dataset root (``dataset_location``); list files and the paths in them
        are relative to it unless absolute.
      files: list file names (OpenSeq2Seq's ``dataset_files``).
      label_set: the label set whose class order the ids follow (``LABEL_SET_OF_NUM_LABELS``).

    Raises:
      DataError: naming the list file and line (a missing file, a malformed line, an id
        outside the class list, an audio file that does not exist).
    """
    os2s_names = CLASSES[label_set]
    ours = labels.labels_for(label_set)
    to_ours = [ours.index(_OUR_NAME.get(name, name)) for name in os2s_names]
    out = []
    for name in files:
        path = name if os.path.isabs(name) else os.path.join(root, name)
        if not os.path.isfile(path):
            raise DataError(f"{path}: list file not found (OpenSeq2Seq's speech_commands_preprocessing.py writes it)")
        with open(path) as f:
            for line_no, line in enumerate(f, 1):
                if line.strip():
                    out.append(_parse_line(path, line_no, line.strip(), root, to_ours))
    if not out:
        raise DataError(f"{root}: the list files {list(files)} name no clips")
    return out


def _parse_line(path: str, line_no: int, line: str, root: str, to_ours: list[int]) -> tuple[str, int]:
    class_id, sep, wav = line.partition(",")
    if not sep or not class_id.strip().isdigit():
        raise DataError(f"{path}:{line_no}: expected '<class id>,<word>/<file>.wav', got {line!r}")
    class_id = int(class_id)
    if class_id >= len(to_ours):
        raise DataError(f"{path}:{line_no}: class id {class_id} but the label set has {len(to_ours)} classes")
    wav_path = wav.strip() if os.path.isabs(wav.strip()) else os.path.join(root, wav.strip())
    if not os.path.isfile(wav_path):
        raise DataError(f"{path}:{line_no}: {wav.strip()} does not exist under {root}")
    return wav_path, to_ours[class_id]


def check_keys(params: Mapping[str, Any]) -> None:
    """Cross-key checks of OpenSeq2Seq's keys against ours (each pair says the same thing)."""
    name = "SpeechCommandsDataLayer (data_layer_params)"
    if params["audio_length"] is not None and params["clip_duration"] is not None:
        raise ConfigError(f"{name}: give clip_duration (seconds) or audio_length (frames), not both")
    if params["dataset_files"] is not None and params["split"] is not None:
        raise ConfigError(f"{name}: dataset_files (OpenSeq2Seq's list files) replace split; give one")
    implied = LABEL_SET_OF_NUM_LABELS.get(params["num_labels"])
    if implied and params["label_set"] and params["label_set"] != implied:
        given = params["label_set"]
        raise ConfigError(f"{name}: num_labels {params['num_labels']} is label set {implied}, not {given}")


def label_set(params: Mapping[str, Any]) -> str:
    """The label set: ``label_set``, else the one of OpenSeq2Seq's ``num_labels``, else v1-12."""
    return params["label_set"] or LABEL_SET_OF_NUM_LABELS.get(params["num_labels"], "v1-12")


def clip_samples(params: Mapping[str, Any]) -> int:
    """Samples per clip: ``clip_duration`` (default 1 s), or the samples that make ``audio_length`` frames."""
    if params["audio_length"] is not None:
        features = FeatureParams.from_params(params)
        return features.fft_length + (params["audio_length"] - 1) * features.hop_length
    return round((params["clip_duration"] or 1.0) * params["sample_freq"])
