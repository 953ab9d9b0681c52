"""SpeechCommandsDataLayer with OpenSeq2Seq's keys: its list files, num_labels, audio_length, augment_data."""

from __future__ import annotations

import os

import numpy as np
import pytest

from open_s2s.config.params import ConfigError
from open_s2s.data import keys
from open_s2s.data.audio import DataError
from open_s2s.data.speech_commands import SpeechCommandsDataLayer, labels, os2s_compat

# The class lists of OpenSeq2Seq's speech_commands_preprocessing.py, as written there.
SCRIPT_CLASSES = {
    "v1-12": ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "unknown", "silence"],
    "v1-30": ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "bed", "bird", "cat", "dog",
              "eight", "five", "four", "happy", "house", "marvin", "nine", "one", "seven", "sheila", "six", "three",
              "tree", "two", "wow", "zero"],
    "v2-35": ["backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward", "four", "go",
              "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on", "one", "right", "seven",
              "sheila", "six", "stop", "three", "tree", "two", "up", "visual", "wow", "yes", "zero"],
}  # fmt: skip


def layer(root, mode="eval", **params):
    base = {"dataset_location": str(root), "num_labels": 12, "num_audio_features": 16}
    return SpeechCommandsDataLayer({**base, **params}, mode, 4, seed=0)


OURS = {"unknown": labels.UNKNOWN, "silence": labels.SILENCE}  # the script's names of the two extra classes


def expected_name(rel_path: str) -> str:
    word = rel_path.split("/")[0]
    if word == "silence":
        return labels.SILENCE
    return word if word in labels.COMMANDS else labels.UNKNOWN


def test_list_files_are_read_with_labels_by_name(os2s_commands):
    with open(os2s_commands / "v1-12-val.txt") as f:
        rows = [line.strip().split(",") for line in f if line.strip()]
    dl = layer(os2s_commands, dataset_files=["v1-12-val.txt"])
    assert dl.num_samples == len(rows)
    names = dl.spec.target.vocab
    for i, (class_id, rel) in enumerate(rows):
        assert dl.examples[i].path == os.path.join(str(os2s_commands), rel)
        script_class = SCRIPT_CLASSES["v1-12"][int(class_id)]
        assert names[dl.label_of(i)] == expected_name(rel) == OURS.get(script_class, script_class)
    assert {expected_name(rel) for _, rel in rows} >= {labels.SILENCE, labels.UNKNOWN, "yes"}


@pytest.mark.parametrize("label_set", ["v1-12", "v1-30", "v2-35"])
def test_every_class_id_maps_to_its_word(tmp_path, label_set):
    classes = SCRIPT_CLASSES[label_set]
    lines = []
    for i, name in enumerate(classes):
        os.makedirs(tmp_path / name, exist_ok=True)
        (tmp_path / name / "a.wav").write_bytes(b"")
        lines.append(f"{i},{name}/a.wav")
    (tmp_path / "list.txt").write_text("\n".join(lines) + "\n")
    ours = labels.labels_for(label_set)
    read = os2s_compat.read_lists(str(tmp_path), ["list.txt"], label_set)
    assert [ours[label] for _, label in read] == [
        {"unknown": "_unknown_", "silence": "_silence_"}.get(c, c) for c in classes
    ]


def test_bad_lines_name_the_file_and_line(tmp_path):
    os.makedirs(tmp_path / "yes")
    (tmp_path / "yes" / "a.wav").write_bytes(b"")
    for text, message in (
        ("0,yes/a.wav\n12,yes/a.wav\n", r"list.txt:2: class id 12 but the label set has 12 classes"),
        ("0,yes/a.wav\nyes/a.wav\n", r"list.txt:2: expected '<class id>,<word>/<file>.wav'"),
        ("0,yes/b.wav\n", r"list.txt:1: yes/b.wav does not exist"),
    ):
        (tmp_path / "list.txt").write_text(text)
        with pytest.raises(DataError, match=message):
            os2s_compat.read_lists(str(tmp_path), ["list.txt"], "v1-12")


def test_num_labels_picks_the_label_set_and_conflicts_are_errors(os2s_commands):
    spec = SpeechCommandsDataLayer.spec_from_params({"dataset_location": "x", "num_labels": 30})[0]
    assert spec.target.vocab_size == 30 and spec.target.vocab == labels.labels_for("v1-30")
    assert SpeechCommandsDataLayer.spec_from_params({"dataset_location": "x"})[0].target.vocab_size == 12
    for params, message in (
        ({"num_labels": 12, "label_set": "v1-30"}, "num_labels 12 is label set v1-12, not v1-30"),
        ({"audio_length": 100, "clip_duration": 1.0}, "give clip_duration .* or audio_length"),
        ({"dataset_files": ["v1-12-val.txt"], "split": "test"}, "replace split"),
    ):
        with pytest.raises(ConfigError, match=message):
            layer(os2s_commands, **params)


@pytest.mark.parametrize("audio_length", [48, 128])
def test_audio_length_is_frames_per_clip(os2s_commands, audio_length):
    dl = layer(os2s_commands, dataset_files=["v1-12-val.txt"], audio_length=audio_length, max_samples=4)
    batch = next(iter(dl.build_dataset()))
    assert batch[keys.SOURCE].shape[1] == audio_length
    assert np.all(batch[keys.SOURCE_LENGTH].numpy() == audio_length)


def test_augment_data_false_turns_off_waveform_augmentation(os2s_commands):
    """With augment_data False (and no dither), train features equal eval features clip by clip;
    with the default True, speed perturbation, time shift and noise change them."""
    common = {"dataset_files": ["v1-12-val.txt"], "dither": 0.0, "max_samples": 8, "shuffle": False, "repeat": False}
    reference = next(iter(layer(os2s_commands, "eval", **common).build_dataset()))[keys.SOURCE].numpy()
    plain = next(iter(layer(os2s_commands, "train", augment_data=False, **common).build_dataset()))
    np.testing.assert_allclose(plain[keys.SOURCE].numpy(), reference, rtol=0, atol=1e-5)
    augmented = next(iter(layer(os2s_commands, "train", **common).build_dataset()))[keys.SOURCE].numpy()
    assert np.abs(augmented - reference).max() > 0.1
