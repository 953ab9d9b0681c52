"""Tests of Text2SpeechDataLayer and its spectrogram transform on a tiny flite corpus.

References are librosa's (``stft``, ``filters.mel``, ``effects.trim``) in float64. The
tolerance of the float32 graph features follows from the FFT's error bound: a radix-2 FFT
in floating point has a normwise error of at most ~``5 u log2(N)`` times the norm of the
exact transform (Higham, *Accuracy and Stability of Numerical Algorithms*, thm. 24.2;
``u = 2**-24`` for float32), and no bin's error exceeds the normwise error; so a frame's
magnitudes are off by at most ``delta = 5 u log2(N) sqrt(N) ||windowed frame||``, a mel
band by its weight sum times ``delta`` (plus ``K u`` relative for the matmul), and a log
feature by that over the smaller of the two values (or the floor).
"""

from __future__ import annotations

import math
import shutil

import librosa
import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

from open_s2s.config.params import ConfigError
from open_s2s.data import keys
from open_s2s.data.audio import DataError
from open_s2s.data.text2speech import Text2SpeechDataLayer, stop_token_targets
from open_s2s.data.text2speech.spectrogram import SpectrogramParams, compute_features, mel_basis, trim_bounds

TEXTS = [
    "Hello world.",
    "Where is my old bag?",
    "The cup was red, but the box was blue.",
    "It's a test.",
    "Mary saw three dogs near the lake on Friday.",
    "No.",
    "Good morning, John.",
]
VOCAB = [" ", "'", ",", ".", "?"] + [chr(c) for c in range(ord("a"), ord("z") + 1)]
U = 2.0**-24


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """``wavs/tts_<i>.wav`` spoken by flite's rms voice, metadata.csv and vocab.txt."""
    if shutil.which("flite") is None:
        pytest.skip("flite not installed (apt-get install flite)")
    from open_s2s.data.synth_tts import synthesize

    root = tmp_path_factory.mktemp("tts")
    (root / "wavs").mkdir()
    lines = []
    for i, text in enumerate(TEXTS):
        synthesize(text, str(root / "wavs" / f"tts_{i}.wav"))
        lines.append(f"tts_{i}|{text}|{text.lower()}\n")
    (root / "metadata.csv").write_text("".join(lines))
    (root / "vocab.txt").write_text("".join(f"{c}\n" for c in VOCAB))
    return root


def _params(root, files=("metadata.csv",), **kw):
    params = {
        "dataset_location": str(root),
        "dataset_files": [str(root / f) for f in files],
        "vocab_file": str(root / "vocab.txt"),
        "num_audio_features": 40,
        "sampling_rate": 16000,
        "n_fft": 512,
        "win_length": 400,
        "hop_length": 160,
        "mag_power": 1,
        "data_min": 1e-5,
    }
    params.update(kw)
    return params


def _rows(ds):
    out = {}
    for batch in ds:
        for i, index in enumerate(batch[keys.INDEX].numpy()):
            assert index not in out, f"row {index} seen twice"
            out[index] = {k: v[i].numpy() for k, v in batch.items()}
    return out


def _reference_power(y, sp: SpectrogramParams):
    """float64 librosa: trimmed |STFT| ** mag_power ``[frames, bins]`` and the FFT error bound
    ``delta`` per frame (see the module docstring)."""
    y = y.astype(np.float64)
    if sp.trim:
        y, _ = librosa.effects.trim(y, top_db=sp.trim_top_db, frame_length=sp.n_fft // 2, hop_length=sp.hop_length // 2)
    stft = librosa.stft(y, n_fft=sp.n_fft, hop_length=sp.hop_length, win_length=sp.win_length, window="hann")
    window = librosa.util.pad_center(librosa.filters.get_window("hann", sp.win_length), size=sp.n_fft)
    frames = librosa.util.frame(np.pad(y, sp.n_fft // 2), frame_length=sp.n_fft, hop_length=sp.hop_length)
    norms = np.linalg.norm(frames * window[:, None], axis=0)
    delta = 5 * U * math.log2(sp.n_fft) * math.sqrt(sp.n_fft) * norms + U * np.abs(stft).max(axis=0)
    return np.abs(stft).T, delta


def _assert_log_close(ours, ref_linear, bound, floor):
    """``ours`` (log, floored) against ``log(max(ref_linear, floor))`` within ``bound`` (linear)."""
    low = np.maximum(ref_linear - bound, floor)
    allowed = bound / low + 4 * U * np.abs(np.log(np.maximum(ref_linear, floor)))
    err = np.abs(ours - np.log(np.maximum(ref_linear, floor)))
    assert (err <= allowed).all(), f"max excess {np.max(err - allowed)}"


# ---------------------------------------------------------------------------- the transform


@pytest.mark.parametrize("mel_type, fmin, fmax", [("htk", 0.0, None), ("slaney", 50.0, 7000.0)])
def test_mel_basis_is_librosas(mel_type, fmin, fmax):
    sp = SpectrogramParams(n_fft=800, win_length=800, num_mel=80, mel_type=mel_type, fmin=fmin, fmax=fmax)
    ref = librosa.filters.mel(
        sr=16000, n_fft=800, n_mels=80, fmin=fmin, fmax=fmax, htk=mel_type == "htk",
        norm=None if mel_type == "htk" else "slaney", dtype=np.float64,
    )  # fmt: skip
    np.testing.assert_allclose(mel_basis(sp), ref, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("top_db", [20.0, 40.0, 60.0])
def test_trim_is_librosas(corpus, top_db):
    sp = SpectrogramParams(n_fft=512, win_length=400, hop_length=160, trim=True, trim_top_db=top_db)
    for i in (0, 2, 5):
        y, _ = sf.read(corpus / "wavs" / f"tts_{i}.wav", dtype="float32")
        _, (start, end) = librosa.effects.trim(y.astype(np.float64), top_db=top_db, frame_length=256, hop_length=80)
        assert [int(v) for v in trim_bounds(tf.constant(y), sp)] == [start, end]
        assert 0 < start and end < len(y)  # flite's pauses are trimmed


@pytest.mark.parametrize("mag_power, trim", [(1.0, True), (2.0, False)])
def test_log_mel_matches_librosa(corpus, mag_power, trim):
    sp = SpectrogramParams(
        n_fft=512, win_length=400, hop_length=160, num_mel=40, mag_power=mag_power, data_min_mel=1e-5, trim=trim
    )
    basis = mel_basis(sp)
    for i in (1, 4):
        y, _ = sf.read(corpus / "wavs" / f"tts_{i}.wav", dtype="float32")
        magnitude, delta = _reference_power(y, sp)
        ours = compute_features(tf.constant(y), sp).numpy()
        assert ours.shape == (magnitude.shape[0], 40)
        mel = magnitude**mag_power @ basis.T
        # |(S + d)^p - S^p| <= p (S + d)^(p-1) d for p >= 1
        power_bound = mag_power * (magnitude + delta[:, None]) ** (mag_power - 1) * delta[:, None]
        bound = power_bound @ basis.T + 512 * U * mel
        _assert_log_close(ours, mel, bound, 1e-5)


def test_magnitude_and_both_match_librosa(corpus):
    y, _ = sf.read(corpus / "wavs" / "tts_2.wav", dtype="float32")
    sp = SpectrogramParams(n_fft=512, win_length=400, hop_length=160, output_type="magnitude", num_mel=0,
                           num_magnitude=200, mag_power=1, data_min_magnitude=1e-5)  # fmt: skip
    magnitude, delta = _reference_power(y, sp)
    _assert_log_close(compute_features(tf.constant(y), sp).numpy(), magnitude[:, :200], delta[:, None], 1e-5)
    both = SpectrogramParams(n_fft=512, win_length=400, hop_length=160, output_type="both", num_mel=40,
                             num_magnitude=257, mag_power=1, data_min_mel=1e-2, exp_mag=True)  # fmt: skip
    frames = compute_features(tf.constant(y), both).numpy()
    assert frames.shape[1] == 297
    # exp_mag: the magnitude part is linear, max(|S|, floor), off by at most delta
    assert (np.abs(frames[:, 40:] - np.maximum(magnitude, 1e-5)) <= delta[:, None]).all()


# ---------------------------------------------------------------------------- the data layer


def test_eval_batches_cover_every_line_once(corpus):
    dl = Text2SpeechDataLayer(_params(corpus, trim=True), "eval", batch_size=3)
    spec = dl.spec
    assert spec.source.vocab[:3] == ("<p>", "<s>", "</s>") and spec.source.vocab[3:] == tuple(VOCAB)
    assert (spec.source.pad_id, spec.source.bos_id, spec.source.eos_id) == (0, 1, 2)
    assert spec.target.shape == (None, 40) and spec.target.sample_rate == 16000 and spec.target.feature_stride == 0.01
    ds = dl.build_dataset()
    for name, s in spec.element_spec().items():
        assert s.is_compatible_with(ds.element_spec[name])
    batches = list(ds)
    assert all(b[keys.SOURCE].shape[1] % 8 == 0 and b[keys.TARGET].shape[1] % 8 == 0 for b in batches)
    rows = _rows(batches)
    assert sorted(rows) == list(range(len(TEXTS))) and dl.sample_names == [f"tts_{i}" for i in range(len(TEXTS))]
    sp = dl.spectrogram_params
    pad = np.log(1e-5)
    for index, ex in rows.items():
        text = TEXTS[index].lower()
        assert list(ex[keys.SOURCE][: ex[keys.SOURCE_LENGTH]]) == [1, *(VOCAB.index(c) + 3 for c in text), 2]
        assert not ex[keys.SOURCE][ex[keys.SOURCE_LENGTH] :].any()
        y, _ = sf.read(dl.wav_filenames[index], dtype="float32")
        expected = compute_features(tf.constant(y), sp).numpy()
        n = len(expected)
        assert ex[keys.TARGET_LENGTH] == n + 1  # one EOS frame
        np.testing.assert_allclose(ex[keys.TARGET][:n], expected, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(ex[keys.TARGET][n:], np.float32(pad))  # EOS frame and padding


def test_infer_reads_plain_and_unused_lines(corpus, tmp_path):
    (tmp_path / "a.txt").write_text("Hello there.\nUNUSED|UNUSED|Where is it?\n")
    (tmp_path / "b.txt").write_text("Good night.\n")
    params = _params(corpus, dataset_location=str(tmp_path), dataset_files=[str(tmp_path / "a.txt")])
    dl = Text2SpeechDataLayer(params, "infer", batch_size=2)
    assert dl.sample_names == ["line1", "line2"] and dl.texts == ["Hello there.", "Where is it?"]
    rows = _rows(dl.build_dataset())
    assert set(rows[0]) == {keys.SOURCE, keys.SOURCE_LENGTH, keys.INDEX}
    assert list(rows[1][keys.SOURCE][: rows[1][keys.SOURCE_LENGTH]]) == dl.encode("where is it?")
    params["dataset_files"] = [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]
    assert Text2SpeechDataLayer(params, "infer", 2).sample_names == ["a_line1", "a_line2", "b_line1"]


def test_two_input_pipelines_cover_every_line_once(corpus):
    seen = []
    for pipeline in range(2):
        dl = Text2SpeechDataLayer(_params(corpus), "eval", batch_size=2)
        seen += list(_rows(dl.build_dataset(tf.distribute.InputContext(2, pipeline, 1))))
    assert sorted(seen) == list(range(len(TEXTS)))


def test_train_repeats_full_batches_and_filters_durations(corpus):
    lengths = {
        i: ex[keys.TARGET_LENGTH]
        for i, ex in _rows(Text2SpeechDataLayer(_params(corpus), "eval", 8).build_dataset()).items()
    }
    cut = sorted(lengths.values())[2]  # drops the two shortest
    dl = Text2SpeechDataLayer(_params(corpus, duration_min=int(cut), num_buckets=1), "train", batch_size=2, seed=1)
    batches = list(dl.build_dataset().take(8))
    assert all(b[keys.INDEX].shape[0] == 2 for b in batches)
    seen = {int(i) for b in batches for i in b[keys.INDEX].numpy()}
    assert seen == {i for i, n in lengths.items() if n >= cut}


def test_bucketing_reduces_padding(corpus):
    def padded_frames(num_buckets):
        dl = Text2SpeechDataLayer(_params(corpus, num_buckets=num_buckets, pad_to=1), "eval", batch_size=4)
        return sum(int(b[keys.TARGET].shape[0] * b[keys.TARGET].shape[1]) for b in dl.build_dataset())

    assert padded_frames(3) < padded_frames(1)


def test_both_normalize_and_pad_values(corpus):
    both = _params(corpus, output_type="both", num_audio_features={"mel": 20, "magnitude": 257},
                   data_min={"mel": 1e-2, "magnitude": 1e-5})  # fmt: skip
    dl = Text2SpeechDataLayer(both, "eval", batch_size=8)
    assert dl.spec.target.num_features == 277 and dl.spectrogram_params.exp_mag
    ex = _rows(dl.build_dataset())[3]
    n = ex[keys.TARGET_LENGTH]
    np.testing.assert_array_equal(ex[keys.TARGET][n - 1 :, :20], np.float32(np.log(1e-2)))
    np.testing.assert_array_equal(ex[keys.TARGET][n - 1 :, 20:], np.float32(1e-5))  # linear part: the floor
    norm = Text2SpeechDataLayer(
        _params(corpus, feature_normalize=True, feature_normalize_mean=-4.0, feature_normalize_std=2.0), "eval", 8
    )
    plain = Text2SpeechDataLayer(_params(corpus), "eval", 8)
    a, b = _rows(norm.build_dataset())[3], _rows(plain.build_dataset())[3]
    np.testing.assert_allclose(a[keys.TARGET], (b[keys.TARGET] + 4.0) / 2.0, atol=1e-5)
    np.testing.assert_allclose(norm.pad_vector, (np.log(1e-5) + 4.0) / 2.0, rtol=1e-6)


def test_no_pad_eos(corpus):
    dl = Text2SpeechDataLayer(_params(corpus, pad_EOS=False), "eval", batch_size=8)
    assert dl.spec.source.bos_id == -1 and dl.encode("No.") == [VOCAB.index(c) + 3 for c in "no."]
    ex = _rows(dl.build_dataset())[5]
    y, _ = sf.read(dl.wav_filenames[5], dtype="float32")
    assert ex[keys.TARGET_LENGTH] == 1 + len(y) // 160 and ex[keys.SOURCE_LENGTH] == 3


def test_stop_token_targets():
    got = stop_token_targets(tf.constant([3, 1, 5]), 5).numpy()
    want = np.array([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1], [0, 0, 0, 0, 1]], np.float32)
    np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------------------- bad input


def _write(root, name, text):
    path = root / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "line, message",
    [
        ("tts_0|Hello.", "expected 3 '|'-separated fields"),
        ("tts_9|Hi.|hi.", "cannot read audio file"),
        ("tts_0|Hello.|  ", "empty text"),
        ("tts_0|Hello!|hello!", r"characters \['!'\]"),
        ("rate|Hi.|hi.", "sample rate 22050 Hz"),
    ],
)
def test_bad_lines_name_file_and_line(corpus, tmp_path, line, message):
    root = tmp_path
    shutil.copytree(corpus / "wavs", root / "wavs")
    shutil.copy(corpus / "vocab.txt", root / "vocab.txt")
    sf.write(root / "wavs" / "rate.wav", np.zeros(2205, np.float32), 22050, subtype="PCM_16")
    path = _write(root, "meta.csv", f"tts_1|Where?|where?\n{line}\ntts_2|Hi.|hi.\n")
    with pytest.raises(DataError, match=f"{path}:2: .*{message}"):
        Text2SpeechDataLayer(_params(root, files=("meta.csv",)), "eval", 2)


def test_infer_rejects_unknown_characters_and_empty_lines(corpus, tmp_path):
    bad = _write(tmp_path, "in.txt", "Hello.\n\nBye.\n")
    with pytest.raises(DataError, match=f"{bad}:2: empty text"):
        Text2SpeechDataLayer(_params(corpus, dataset_files=[str(bad)]), "infer", 2)
    bad = _write(tmp_path, "in2.txt", "Hello.\nBye #1\n")
    with pytest.raises(DataError, match=f"{bad}:2: characters"):
        Text2SpeechDataLayer(_params(corpus, dataset_files=[str(bad)]), "infer", 2)


@pytest.mark.parametrize(
    "override, message",
    [
        ({"style_input": "wav"}, "GST"),
        ({"output_type": "both"}, "num_audio_features"),
        ({"num_audio_features": {"mel": 80, "magnitude": 513}}, "num_audio_features"),
        (
            {"output_type": "both", "num_audio_features": {"mel": 8, "magnitude": 257}, "feature_normalize": True},
            "feature_normalize",
        ),  # fmt: skip
        ({"sampling_rate": None}, "sampling_rate"),
        ({"output_type": "magnitude", "num_audio_features": 300}, "bins"),
        ({"trim_db": 30.0}, "unknown key 'trim_db'"),
    ],
)
def test_config_errors(corpus, override, message):
    with pytest.raises(ConfigError, match=message):
        Text2SpeechDataLayer(_params(corpus, **override), "eval", 2)


def test_spec_from_params_reads_only_the_vocab(corpus, tmp_path):
    params = _params(corpus, dataset_location=str(tmp_path / "nowhere"), dataset_files=[str(tmp_path / "none.csv")])
    params.update(dataset="LJ", sampling_rate=None, n_fft=None, hop_length=None, win_length=None, num_audio_features=80)
    spec, sp = Text2SpeechDataLayer.spec_from_params(params)
    assert (sp.sampling_rate, sp.n_fft, sp.hop_length, sp.win_length) == (22050, 1024, 256, 1024)
    assert spec.target.shape == (None, 80) and spec.source.vocab_size == len(VOCAB) + 3
    if hasattr(spec.target, "audio"):  # SideSpec.audio (the generation contracts): the vocoder's input
        assert SpectrogramParams(**spec.target.audio) == sp


def test_openseq2seq_import_path():
    from open_s2s.data.text2speech.text2speech import Text2SpeechDataLayer as ported

    assert ported is Text2SpeechDataLayer


@pytest.mark.parametrize("output_type", ["both", "mel", "magnitude"])
def test_openseq2seq_lj_data_layer_params_validate(corpus, output_type):
    """The data_layer_params of OpenSeq2Seq's tacotron_float.py / tacotron_mixed.py (LJ)."""
    features = {"both": {"mel": 80, "magnitude": 513}, "mel": 80, "magnitude": 513}[output_type]
    data_min = {"both": {"mel": 1e-2, "magnitude": 1e-5}, "mel": 1e-2, "magnitude": 1e-5}[output_type]
    params = {
        "dataset": "LJ", "num_audio_features": features, "output_type": output_type,
        "vocab_file": str(corpus / "vocab.txt"), "dataset_location": "/data/speech/LJSpeech", "mag_power": 1,
        "pad_EOS": True, "feature_normalize": False, "feature_normalize_mean": 0.0, "feature_normalize_std": 1.0,
        "data_min": data_min, "mel_type": "htk", "trim": False, "duration_max": 1024, "duration_min": 24,
        "exp_mag": output_type == "both", "dataset_files": ["/data/speech/LJSpeech/train_32.csv"], "shuffle": True,
    }  # fmt: skip
    spec, sp = Text2SpeechDataLayer.spec_from_params(params)
    assert (sp.sampling_rate, sp.n_fft, sp.hop_length) == (22050, 1024, 256)
    assert spec.target.num_features == {"both": 593, "mel": 80, "magnitude": 513}[output_type]
