"""SpeechCommandsDataLayer on a small fixture in the real Speech Commands layout."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import soundfile
import tensorflow as tf

from open_s2s.data import keys
from open_s2s.data.audio import DataError, FeatureParams, compute_features
from open_s2s.data.speech_commands import SpeechCommandsDataLayer, labels
from open_s2s.data.speech_commands.speech_commands_data_layer import change_speed, crop, fit_clip

RATE = 16000
# Four speakers; c is in validation_list.txt, d in testing_list.txt, a and b are training.
SPEAKERS = ("aaaa0001", "bbbb0002", "cccc0003", "dddd0004")
OTHER_WORDS = ("bed", "cat", "dog", "zero")


def _write(path, samples, rate=RATE):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    soundfile.write(path, samples.astype(np.float32), rate, subtype="PCM_16")


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    """Word folders (a tone per word, some clips longer or shorter than 1 s), lists, noise."""
    root = tmp_path_factory.mktemp("speech_commands")
    rng = np.random.default_rng(0)
    words = labels.COMMANDS + OTHER_WORDS
    lists = {"validation": [], "test": []}
    for w, word in enumerate(words):
        for s, speaker in enumerate(SPEAKERS):
            for rep in range(2 if word in labels.COMMANDS else 3):
                n = (8000, 16000, 17600)[(w + s + rep) % 3]
                t = np.arange(n) / RATE
                _write(f"{root}/{word}/{speaker}_nohash_{rep}.wav", 0.3 * np.sin(2 * np.pi * (200 + 50 * w) * t))
                if s == 2:
                    lists["validation"].append(f"{word}/{speaker}_nohash_{rep}.wav")
                if s == 3:
                    lists["test"].append(f"{word}/{speaker}_nohash_{rep}.wav")
    (root / "validation_list.txt").write_text("\n".join(lists["validation"]) + "\n")
    (root / "testing_list.txt").write_text("\n".join(lists["test"]) + "\n")
    for name in ("hum", "white"):
        _write(f"{root}/_background_noise_/{name}.wav", 0.5 * rng.uniform(-1, 1, 3 * RATE))
    return root, lists


def make(root, mode="eval", **params):
    return SpeechCommandsDataLayer({"dataset_location": str(root), "num_audio_features": 20, **params}, mode, 4, seed=1)


def relpaths(dl, root):
    return {os.path.relpath(e.path, root) for e in dl.examples if e.noise_index < 0}


def test_list_files_are_honoured_and_test_never_in_train(layout):
    root, lists = layout
    train, val, test = (relpaths(make(root, m, split=s), root) for m, s in
                        (("train", "train"), ("eval", "validation"), ("infer", "test")))  # fmt: skip
    assert val <= set(lists["validation"]) and test <= set(lists["test"])
    assert not train & set(lists["test"]) and not train & set(lists["validation"])
    assert {p.split("_")[0].split("/")[1] for p in train} == set(SPEAKERS[:2])
    commands = {p for p in lists["validation"] if p.split("/")[0] in labels.COMMANDS}
    assert commands <= val  # every listed command file is used


def test_v1_12_unknown_and_silence_classes(layout):
    root, _ = layout
    dl = make(root, "eval", unknown_percentage=25.0, silence_percentage=50.0)
    names = labels.labels_for("v1-12")
    counts = np.bincount([e.label for e in dl.examples], minlength=12)
    known = 10 * 2  # ten commands, one validation speaker, two repeats
    assert counts[2:].tolist() == [2] * 10
    assert counts[names.index("_unknown_")] == round(known * 0.25)
    assert counts[names.index("_silence_")] == round(known * 0.5)
    for e in dl.examples:
        word = os.path.basename(os.path.dirname(e.path))
        if e.label == names.index("_unknown_"):
            assert word in OTHER_WORDS and e.noise_index < 0
        elif e.label == names.index("_silence_"):
            assert word == labels.BACKGROUND_NOISE_DIR and 0 <= e.gain <= 1
            assert 0 <= e.offset <= 3 * RATE - RATE
        else:
            assert names[e.label] == word
    again = make(root, "eval", unknown_percentage=25.0, silence_percentage=50.0)
    assert again.examples == dl.examples  # the selection is fixed, whatever the run


def test_v1_30_needs_every_word_folder(layout):
    root, _ = layout
    with pytest.raises(DataError, match=r"word folders \['one', 'two', 'three'"):
        make(root, label_set="v1-30")


def test_eval_features_are_the_fitted_clip_features(layout):
    """Eval batches equal features of the file (or noise slice) cropped/padded by hand."""
    root, _ = layout
    dl = make(root, "eval", silence_percentage=50.0, unknown_percentage=0.0)
    fp = FeatureParams.from_params(dl.params)
    batches = list(dl.build_dataset())
    source = np.concatenate([b[keys.SOURCE].numpy() for b in batches])
    index = np.concatenate([b[keys.INDEX].numpy() for b in batches])
    target = np.concatenate([b[keys.TARGET].numpy() for b in batches])
    assert sorted(index.tolist()) == list(range(dl.num_samples))
    for row, i in enumerate(index):
        e = dl.examples[i]
        audio, _ = soundfile.read(e.path, dtype="float32")
        if e.noise_index >= 0:
            clip = audio[e.offset : e.offset + RATE] * e.gain
        elif len(audio) >= RATE:
            start = (len(audio) - RATE) // 2
            clip = audio[start : start + RATE]
        else:
            clip = np.pad(audio, [0, RATE - len(audio)])
        expected, _ = compute_features(clip[None], [RATE], fp)
        np.testing.assert_allclose(source[row], expected[0].numpy(), atol=2e-3)
        assert target[row] == e.label
    assert source.shape[1] == 1 + (RATE - 512) // 160


def test_train_augments_and_eval_is_deterministic(layout):
    root, _ = layout
    first = [b[keys.SOURCE].numpy() for b in make(root, "eval").build_dataset()]
    second = [b[keys.SOURCE].numpy() for b in make(root, "eval").build_dataset()]
    np.testing.assert_array_equal(np.concatenate(first), np.concatenate(second))
    dl = make(root, "train", shuffle=False, repeat=False)
    a = np.concatenate([b[keys.SOURCE].numpy() for b in dl.build_dataset()])
    b = np.concatenate([b[keys.SOURCE].numpy() for b in dl.build_dataset()])
    assert a.shape == b.shape and not np.allclose(a, b)


def test_subtract_mean_per_feature_centres_each_mel_bin(layout):
    """Eval features minus their per-bin clip mean (numpy) equal the layer's centred features."""
    root, _ = layout
    plain = np.concatenate([b[keys.SOURCE].numpy() for b in make(root, "eval").build_dataset()])
    dl = make(root, "eval", subtract_mean_per_feature=True)
    centred = np.concatenate([b[keys.SOURCE].numpy() for b in dl.build_dataset()])
    np.testing.assert_allclose(centred, plain - plain.mean(axis=1, keepdims=True), atol=1e-3)
    assert np.abs(plain.mean(axis=1)).max() > 1.0  # the check above is not vacuous
    # the exported models compute features from the same FeatureParams
    config = {"dataset_location": str(root), "subtract_mean_per_feature": True}
    _, feature_params = SpeechCommandsDataLayer.spec_from_params(config)
    assert feature_params.subtract_mean_per_feature


def test_spec_augment_masks_with_the_clip_mean_in_train_only(layout):
    root, _ = layout
    masks = {"num_freq_masks": 1, "max_freq_mask": 6, "num_time_masks": 1, "max_time_mask": 30}
    common = {
        "shuffle": False,
        "repeat": False,
        "speed_perturbation": None,
        "time_shift_ms": 0.0,
        "background_frequency": 0.0,
        "dither": 0.0,
        "silence_percentage": 0.0,
    }
    plain_dl, dl = make(root, "train", **common), make(root, "train", spec_augment=masks, **common)
    plain, masked = [np.concatenate([b[keys.SOURCE].numpy() for b in d.build_dataset()]) for d in (plain_dl, dl)]
    # clips longer than 1 s get a random crop in train mode: compare the others only
    short = [soundfile.info(e.path).frames <= RATE for e in dl.examples]
    plain, masked = plain[short], masked[short]
    changed = ~np.isclose(masked, plain, atol=1e-4)
    assert changed.any()
    for clip_plain, clip_masked, clip_changed in zip(plain, masked, changed):
        # every changed cell holds the clip's mean; masks are single bands of bounded width
        np.testing.assert_allclose(clip_masked[clip_changed], clip_plain.mean(), atol=1e-3)
        bins, frames = np.flatnonzero(clip_changed.all(axis=0)), np.flatnonzero(clip_changed.all(axis=1))
        assert len(bins) <= 6 and len(frames) <= 30
    evaluated = [b[keys.SOURCE].numpy() for b in make(root, "eval", spec_augment=masks).build_dataset()]
    reference = [b[keys.SOURCE].numpy() for b in make(root, "eval").build_dataset()]
    np.testing.assert_array_equal(np.concatenate(evaluated), np.concatenate(reference))


def test_infer_names_files_and_silence_clips(layout):
    root, _ = layout
    dl = make(root, "infer")
    assert dl.split == "test"
    names = dl.sample_names
    assert len(names) == dl.num_samples
    assert any(n.endswith(".wav") and "/dddd0004_nohash_" in n for n in names)
    assert any("_background_noise_" in n and "@" in n for n in names)


def test_errors_name_the_file(layout, tmp_path):
    root, _ = layout
    with pytest.raises(DataError, match="is not a directory"):
        make(tmp_path / "nope")
    bad = tmp_path / "bad"
    shutil.copytree(root, bad)
    (bad / "validation_list.txt").write_text("yes/missing_nohash_0.wav\n")
    with pytest.raises(DataError, match=r"validation_list.txt:1: yes/missing_nohash_0.wav does not exist"):
        make(bad)
    (bad / "validation_list.txt").write_text("")
    _write(f"{bad}/no/eeee0005_nohash_0.wav", np.zeros(RATE), rate=8000)
    with pytest.raises(DataError, match="eeee0005_nohash_0.wav has sample rate 8000"):
        make(bad, "train")
    shutil.rmtree(bad / "_background_noise_")
    with pytest.raises(DataError, match="_background_noise_: no noise WAV files"):
        make(bad, "infer")
    shutil.rmtree(bad / "stop")
    with pytest.raises(DataError, match=r"word folders \['stop'\] are missing"):
        make(bad, "infer")


def test_fit_clip_and_crop_match_numpy():
    rng = np.random.default_rng(1)
    audio = rng.standard_normal((3, 30)).astype(np.float32)
    lengths = np.array([30, 17, 5])
    out = fit_clip(audio, lengths, 20).numpy()
    np.testing.assert_array_equal(out[0], audio[0, 5:25])  # centred crop of 30 -> 20
    np.testing.assert_array_equal(out[1], np.pad(audio[1, :17], [0, 3]))
    np.testing.assert_array_equal(out[2], np.pad(audio[2, :5], [0, 15]))
    x = tf.constant(audio[0])
    np.testing.assert_array_equal(crop(x, -4, 10).numpy(), np.pad(audio[0, :6], [4, 0]))
    np.testing.assert_array_equal(crop(x, 25, 10).numpy(), np.pad(audio[0, 25:], [0, 5]))


def test_change_speed_is_linear_resampling():
    x = np.sin(np.arange(1000) / 7.0).astype(np.float32)
    for factor in (0.9, 1.0, 1.15):
        out = change_speed(tf.constant(x), factor).numpy()
        positions = np.arange(len(out)) * factor
        assert len(out) == int(np.floor(999 / factor)) + 1
        np.testing.assert_allclose(out, np.interp(positions, np.arange(1000), x), atol=1e-4)


def test_element_spec_matches_the_data_spec(layout):
    root, _ = layout
    dl = make(root, "eval")
    ds = dl.build_dataset()
    for name, spec in dl.spec.element_spec().items():  # the model's dummy batch is built from it
        assert spec.is_compatible_with(ds.element_spec[name]) and spec.shape.rank == ds.element_spec[name].shape.rank
