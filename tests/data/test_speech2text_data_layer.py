"""Tests of Speech2TextDataLayer on a small espeak-ng fixture corpus."""

import os
import string
import subprocess

import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

from open_s2s.config.params import ConfigError
from open_s2s.data import keys
from open_s2s.data.audio import DataError, FeatureParams, compute_features_single, frame_lengths
from open_s2s.data.speech2text import Speech2TextDataLayer

SR = 16000
TEXTS = ["hello world", "yes", "the quick brown fox", "it's a test", "one two three four five", "no", "good morning"]
HEADER = "wav_filename,wav_filesize,transcript\n"


def _espeak_wav(path, text, rate=SR):
    raw = str(path) + ".raw.wav"
    subprocess.run(["espeak-ng", "-w", raw, text], check=True)
    subprocess.run(["sox", raw, "-r", str(rate), str(path)], check=True)
    os.remove(raw)
    return str(path)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A directory with wavs/, train.csv (relative paths) and vocab.txt."""
    root = tmp_path_factory.mktemp("corpus")
    (root / "wavs").mkdir()
    lines = []
    for i, text in enumerate(TEXTS):
        path = _espeak_wav(root / "wavs" / f"{i}.wav", text)
        lines.append(f"wavs/{i}.wav,{os.path.getsize(path)},{text}\n")
    (root / "train.csv").write_text(HEADER + "".join(lines))
    (root / "vocab.txt").write_text("\n".join([" "] + list(string.ascii_lowercase) + ["'"]) + "\n")
    return root


def _params(corpus, csv="train.csv", **kw):
    params = {
        "num_audio_features": 40,
        "vocab_file": str(corpus / "vocab.txt"),
        "dataset_files": [str(corpus / csv)] if isinstance(csv, str) else csv,
    }
    params.update(kw)
    return params


def _rows(ds, limit=100):
    """Unbatches a dataset of batch dicts into {index: example}."""
    out = {}
    for batch in ds.take(limit):
        for i, index in enumerate(batch[keys.INDEX].numpy()):
            assert index not in out, f"row {index} seen twice"
            out[index] = {k: v[i].numpy() for k, v in batch.items()}
    return out


def test_eval_batches_cover_every_row_once(corpus):
    dl = Speech2TextDataLayer(_params(corpus), "eval", batch_size=3)
    assert dl.num_samples == len(TEXTS) and dl.spec.target.vocab_size == 28 and dl.spec.source.num_features == 40
    assert dl.spec.target.vocab[0] == " " and dl.spec.source.feature_stride == 0.01
    ds = dl.build_dataset()
    for name, spec in dl.spec.element_spec().items():  # the model's dummy batch is built from it
        assert spec.is_compatible_with(ds.element_spec[name]) and spec.shape.rank == ds.element_spec[name].shape.rank
    batch = next(iter(ds))
    assert set(batch) == {
        keys.SOURCE,
        keys.SOURCE_LENGTH,
        keys.TARGET,
        keys.TARGET_LENGTH,
        keys.INDEX,
        keys.AUDIO_DURATION,
    }
    dtypes = {k: v.dtype for k, v in batch.items()}
    assert dtypes == {
        keys.SOURCE: tf.float32,
        keys.SOURCE_LENGTH: tf.int32,
        keys.TARGET: tf.int32,
        keys.TARGET_LENGTH: tf.int32,
        keys.INDEX: tf.int64,
        keys.AUDIO_DURATION: tf.float32,
    }
    assert batch[keys.SOURCE].shape[2] == 40 and batch[keys.SOURCE].shape[1] % 8 == 0
    rows = _rows(ds)
    assert sorted(rows) == list(range(len(TEXTS)))
    for index, ex in rows.items():
        path = dl.wav_filenames[index]
        assert os.path.isabs(path) and path.endswith(f"{index}.wav")
        assert dl.ids_to_text(ex[keys.TARGET][: ex[keys.TARGET_LENGTH]]) == TEXTS[index]
        samples, _ = sf.read(path, dtype="float32")
        assert ex[keys.SOURCE_LENGTH] == frame_lengths(len(samples), dl.feature_params)
        assert ex[keys.AUDIO_DURATION] == pytest.approx(len(samples) / SR)
        expected, _ = compute_features_single(samples, dl.feature_params)  # same code path as export
        np.testing.assert_allclose(ex[keys.SOURCE][: ex[keys.SOURCE_LENGTH]], expected, atol=1e-4)
        assert not ex[keys.SOURCE][ex[keys.SOURCE_LENGTH] :].any()


def test_two_input_pipelines_cover_every_row_once(corpus):
    seen = []
    for pipeline in range(2):
        dl = Speech2TextDataLayer(_params(corpus), "infer", batch_size=2)
        ctx = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=pipeline)
        seen += list(_rows(dl.build_dataset(ctx)))
    assert sorted(seen) == list(range(len(TEXTS)))


def test_train_repeats_full_batches(corpus):
    dl = Speech2TextDataLayer(_params(corpus, num_buckets=1), "train", batch_size=4, seed=3)
    batches = list(dl.build_dataset().take(5))
    assert all(b[keys.INDEX].shape[0] == 4 for b in batches)
    counts = np.bincount(np.concatenate([b[keys.INDEX].numpy() for b in batches]), minlength=len(TEXTS))
    assert counts.sum() == 20 and counts.min() >= 1


def test_spec_augment_only_in_train(corpus):
    augment = {"num_freq_masks": 2, "max_freq_mask": 15, "num_time_masks": 2, "max_time_mask": 20}

    def zeros_in_valid_frames(mode):
        dl = Speech2TextDataLayer(_params(corpus, spec_augment=augment, num_buckets=1), mode, batch_size=7)
        batch = next(iter(dl.build_dataset()))
        valid = tf.sequence_mask(batch[keys.SOURCE_LENGTH], tf.shape(batch[keys.SOURCE])[1])
        return int(tf.reduce_sum(tf.cast(tf.equal(tf.boolean_mask(batch[keys.SOURCE], valid), 0.0), tf.int32)))

    assert zeros_in_valid_frames("eval") == 0
    assert zeros_in_valid_frames("train") > 0


def test_duration_filters_apply_in_train_only(corpus):
    durations = Speech2TextDataLayer(_params(corpus), "eval", batch_size=2).durations
    lo, hi = sorted(durations)[1], sorted(durations)[-2]
    train = Speech2TextDataLayer(_params(corpus, min_duration=lo, max_duration=hi), "train", batch_size=2)
    assert train.num_samples == len(TEXTS) - 2
    assert all(lo <= d <= hi for d in train.durations)
    assert Speech2TextDataLayer(_params(corpus, min_duration=lo, max_duration=hi), "eval", 2).num_samples == len(TEXTS)


def test_relative_paths_resolve_against_cwd_first(corpus, tmp_path, monkeypatch):
    other = tmp_path / "wavs"
    other.mkdir()
    _espeak_wav(other / "0.wav", "no")
    monkeypatch.chdir(tmp_path)
    dl = Speech2TextDataLayer(_params(corpus), "eval", batch_size=2)
    assert dl.wav_filenames[0] == str(other / "0.wav")
    assert dl.wav_filenames[1] == str(corpus / "wavs" / "1.wav")


def test_mixed_formats_and_multiple_csvs(corpus, tmp_path):
    samples, _ = sf.read(corpus / "wavs" / "0.wav", dtype="float32")
    sf.write(tmp_path / "a.flac", samples, SR)
    (tmp_path / "more.csv").write_text(HEADER + f"{tmp_path / 'a.flac'},0,hello world\n")
    dl = Speech2TextDataLayer(_params(corpus, [str(corpus / "train.csv"), str(tmp_path / "more.csv")]), "eval", 8)
    rows = _rows(dl.build_dataset())
    assert sorted(rows) == list(range(len(TEXTS) + 1))
    np.testing.assert_allclose(rows[len(TEXTS)][keys.SOURCE], rows[0][keys.SOURCE], atol=1e-5)


def test_empty_transcripts_allowed_in_infer_only(corpus, tmp_path):
    (tmp_path / "infer.csv").write_text(HEADER + f"{corpus / 'wavs' / '1.wav'},0,\n")
    dl = Speech2TextDataLayer(_params(corpus, str(tmp_path / "infer.csv")), "infer", batch_size=2)
    batch = next(iter(dl.build_dataset()))
    assert batch[keys.TARGET_LENGTH].numpy().tolist() == [0]
    with pytest.raises(DataError, match=r"infer\.csv:2: empty transcript"):
        Speech2TextDataLayer(_params(corpus, str(tmp_path / "infer.csv")), "train", batch_size=2)


def _bad_csv(corpus, tmp_path, case):
    wav = corpus / "wavs" / "1.wav"
    rows = {
        "header": ("filename,wav_filesize,transcript\n", "", ":1: expected a header starting with wav_filename"),
        "column": ("wav_filename,wav_filesize,transcipt\n", "", ":1: unknown column 'transcipt'.*transcript"),
        "missing": (HEADER, "nowhere/x.wav,0,yes\n", ":3: audio file not found"),
        "corrupt": (HEADER, "corrupt.wav,0,yes\n", ":3: cannot read audio file"),
        "empty": (HEADER, f"{wav},0,\n", ":3: empty transcript"),
        "unknown_char": (HEADER, f"{wav},0,Yes!\n", r":3: characters \['!', 'Y'\]"),
        "sample_rate": (HEADER, "8k.wav,0,yes\n", ":3: .*sample rate 8000 Hz.*sox"),
    }
    header, bad_row, message = rows[case]
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + os.urandom(200))
    if case == "sample_rate":
        _espeak_wav(tmp_path / "8k.wav", "yes", rate=8000)
    path = tmp_path / "bad.csv"
    path.write_text(header + f"{wav},0,yes\n" + bad_row)
    return str(path), message


# (A transcript CTC cannot align is found with the model: tests/models/test_ctc_alignment.py.)
@pytest.mark.parametrize("case", ["header", "column", "missing", "corrupt", "empty", "unknown_char", "sample_rate"])
def test_bad_input_raises_data_error_naming_file_and_line(corpus, tmp_path, case):
    csv_path, message = _bad_csv(corpus, tmp_path, case)
    with pytest.raises(DataError, match=f"bad\\.csv{message}") as info:
        Speech2TextDataLayer(_params(corpus, csv_path), "train", batch_size=2)
    assert csv_path in str(info.value)


def test_unknown_param_raises_config_error(corpus):
    with pytest.raises(ConfigError, match="'num_audio_feature'"):
        Speech2TextDataLayer(_params(corpus, num_audio_feature=3), "train", batch_size=2)
    with pytest.raises(ConfigError, match="max_time_masks"):
        Speech2TextDataLayer(_params(corpus, spec_augment={"max_time_masks": 3}), "train", batch_size=2)


def test_feature_params_follow_data_layer_params(corpus):
    dl = Speech2TextDataLayer(_params(corpus, input_type="mfcc", window_size=0.025, preemph=None), "eval", 2)
    assert dl.feature_params == FeatureParams(input_type="mfcc", num_audio_features=40, window_size=0.025, preemph=None)
