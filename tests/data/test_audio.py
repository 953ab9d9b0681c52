"""Tests of open_s2s.data.audio against librosa / soundfile references."""

import subprocess
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

from open_s2s.data import audio as A

SR = 16000
PREEMPH = 0.97
# Tolerances vs librosa in float64 (achieved: 1.2e-4, 3.2e-5, 1.0e-5). The log of tiny
# float32 powers is dominated by rounding, so log-power features are compared where the
# reference power exceeds 1e-6.
LOG_TOL = {"spectrogram": 1e-3, "logfbank": 1e-3, "mfcc": 1e-3}
POWER_FLOOR = 1e-6


def _espeak_wav(path, text, rate=SR):
    raw = str(path) + ".raw.wav"
    subprocess.run(["espeak-ng", "-w", raw, text], check=True)
    subprocess.run(["sox", raw, "-r", str(rate), str(path)], check=True)
    return str(path)


@pytest.fixture(scope="module")
def utterance(tmp_path_factory):
    path = _espeak_wav(tmp_path_factory.mktemp("audio") / "hello.wav", "hello world")
    samples, rate = sf.read(path, dtype="float32")
    assert rate == SR
    return path, samples


def _params(input_type, **kw):
    kw.setdefault("num_audio_features", 13 if input_type == "mfcc" else 64)
    return A.FeatureParams(input_type=input_type, norm_per_feature=False, preemph=PREEMPH, **kw)


def _librosa_reference(y, params):
    """Returns (features [frames, F], power used for the floor or None) in float64."""
    y = np.append(y[0], y[1:] - PREEMPH * y[:-1]).astype(np.float64)
    n_fft = params.fft_length  # 320 (the window) for spectrogram, as OpenSeq2Seq; 512 for the mel features
    power = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=160, win_length=320, window="hann", center=False)) ** 2
    if params.input_type == "spectrogram":
        power = power[: params.num_audio_features]
        return np.log(power + params.log_zero_guard).T, power.T
    mel_basis = librosa.filters.mel(sr=SR, n_fft=512, n_mels=params.mel_bins, htk=False, norm="slaney")
    mel = mel_basis.astype(np.float64) @ power
    log_mel = np.log(mel + params.log_zero_guard)
    if params.input_type == "logfbank":
        return log_mel.T, mel.T
    mfcc = librosa.feature.mfcc(S=log_mel, n_mfcc=params.num_audio_features, dct_type=2, norm="ortho")
    return mfcc.T, None


@pytest.mark.parametrize("n_mels", [13, 40, 64, 80])
def test_mel_matrix_matches_librosa(n_mels):
    params = A.FeatureParams(num_audio_features=n_mels)
    ref = librosa.filters.mel(sr=SR, n_fft=512, n_mels=n_mels, htk=False, norm="slaney")
    np.testing.assert_allclose(A.mel_matrix(params), ref.T, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("input_type", ["spectrogram", "logfbank", "mfcc"])
def test_features_match_librosa(utterance, input_type):
    _, y = utterance
    params = _params(input_type)
    features, length = A.compute_features_single(y, params)
    ref, power = _librosa_reference(y, params)
    assert features.shape == ref.shape and int(length) == ref.shape[0]
    diff = np.abs(features.numpy() - ref)
    if power is not None:
        diff = diff[power > POWER_FLOOR]
    assert diff.max() < LOG_TOL[input_type], (
        f"{input_type}: max |ours - librosa| = {diff.max():.2e} >= {LOG_TOL[input_type]:.0e}"
        + (f" (where power > {POWER_FLOOR})" if power is not None else "")
    )


def test_norm_per_feature(utterance):
    _, y = utterance
    raw, _ = A.compute_features_single(y, _params("logfbank"))
    normed, _ = A.compute_features_single(y, A.FeatureParams(preemph=PREEMPH))
    raw = raw.numpy()
    ref = (raw - raw.mean(0)) / (raw.std(0) + 1e-5)
    np.testing.assert_allclose(normed.numpy(), ref, atol=1e-4)


@pytest.mark.parametrize("input_type", ["spectrogram", "logfbank", "mfcc"])
def test_padded_batch_equals_single_utterances(utterance, input_type):
    _, y = utterance
    params = A.FeatureParams(input_type=input_type, num_audio_features=20, dither=0.5)
    lengths = [len(y), len(y) // 2, 300, 0]  # 300 < num_fft: one zero-padded frame
    rng = np.random.default_rng(0)
    batch = rng.uniform(-1, 1, (len(lengths), len(y) + 1000)).astype(np.float32)  # noise in padding
    for i, n in enumerate(lengths):
        batch[i, :n] = y[:n]

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([None], tf.int32)])
    def features_fn(audio, audio_length):
        return A.compute_features(audio, audio_length, params, training=False)

    features, out_lengths = features_fn(batch, lengths)
    assert features.shape[2] == 20
    for i, n in enumerate(lengths):
        single, single_length = A.compute_features_single(y[:n], params)
        valid = int(out_lengths[i])
        assert valid == int(single_length) == single.shape[0]
        np.testing.assert_allclose(features[i, :valid], single, atol=1e-4, err_msg=f"example {i}")
        assert not np.any(features[i, valid:]), f"example {i}: frames past the length must be zero"


@pytest.mark.parametrize("norm", ["norm_per_feature", "subtract_mean_per_feature"])
def test_normalized_features_do_not_change_with_the_padding_at_all(utterance, norm):
    """Bitwise: a sequence's features are the same whatever batch and padding it comes in, so
    --mode=infer, open_s2s.load(...).transcribe and the export (each batching its own way) give
    the same transcripts. A sum over the padded time axis changes its summation order with the
    padded length (1e-6 here), which a barely trained network turned into 0.02 in its log-probs
    and a different greedy transcript."""
    rng = np.random.default_rng(0)
    params = A.FeatureParams(norm_per_feature=norm == "norm_per_feature", subtract_mean_per_feature=True)
    for gain in (0.3, 1.0):  # two seconds of speech with a little noise (no exactly equal partial sums)
        y = np.resize(utterance[1], 2 * len(utterance[1])) * gain + rng.normal(0, 1e-3, 2 * len(utterance[1]))
        y = y.astype(np.float32)
        single, length = A.compute_features_single(y, params)
        for extra in (1, 160, 1600, 16000):
            for other in (len(y) // 3, len(y) + extra):  # a shorter and a longer neighbour in the batch
                batch = np.zeros([2, len(y) + extra], np.float32)
                batch[0, : len(y)] = y
                batch[1, :other] = np.resize(y, other)
                features, _ = A.compute_features(batch, [len(y), other], params)
                np.testing.assert_array_equal(features[0, : int(length)], single, err_msg=f"padding {extra}")


@pytest.mark.parametrize("n", [0, 1, 511, 512, 671, 672, 673, 16000, 30420])
def test_frame_lengths_match_frame_count(n):
    params = A.FeatureParams()
    features, length = A.compute_features_single(np.zeros(n, np.float32), params)
    assert int(length) == features.shape[0] == int(A.frame_lengths(n, params))
    assert int(A.frame_lengths(tf.constant(n), params)) == int(length)
    if n >= 512:  # librosa center=False frame count
        assert int(length) == librosa.stft(np.zeros(n), n_fft=512, hop_length=160, center=False).shape[1]


def test_dither_only_in_training(utterance):
    _, y = utterance
    params = A.FeatureParams(dither=1e-2)
    eval_a, _ = A.compute_features_single(y, params, training=False)
    eval_b, _ = A.compute_features_single(y, params, training=False)
    train_a, _ = A.compute_features_single(y, params, training=True)
    np.testing.assert_array_equal(eval_a, eval_b)
    assert np.abs(train_a - eval_a).max() > 1e-3


def test_feature_params_from_params_and_checks():
    params = A.FeatureParams.from_params({"num_audio_features": 40, "window_size": 0.025, "unrelated": 1})
    assert (params.num_audio_features, params.win_length, params.fft_length, params.hop_length) == (40, 400, 512, 160)
    assert A.FeatureParams(input_type="mfcc", num_audio_features=13).mel_bins == 26
    with pytest.raises(ValueError, match="num_fft"):
        A.FeatureParams(num_fft=256)
    with pytest.raises(ValueError, match="input_type"):
        A.FeatureParams(input_type="wavelets")


@pytest.fixture(scope="module")
def encoded(utterance, tmp_path_factory):
    """The utterance as wav, 24-bit flac, ogg, mp3 and stereo wav (mp3 if libsndfile can write it)."""
    path, y = utterance
    out = tmp_path_factory.mktemp("formats")
    files = {"wav": path}
    for name, subtype in [("flac", "PCM_24"), ("ogg", "VORBIS"), ("mp3", None)]:
        if name.upper() in sf.available_formats():  # libsndfile < 1.1 cannot write mp3
            sf.write(out / f"u.{name}", y, SR, subtype=subtype)
            files[name] = str(out / f"u.{name}")
    sf.write(out / "stereo.wav", np.stack([y, np.zeros_like(y)], 1), SR, subtype="PCM_16")
    files["stereo"] = str(out / "stereo.wav")
    return files, y


@pytest.mark.parametrize("fmt, tol", [("wav", 0.0), ("flac", 1e-4), ("ogg", 0.2), ("mp3", 0.2), ("stereo", 1e-4)])
def test_decode_audio_formats(encoded, fmt, tol):
    files, y = encoded
    if fmt not in files:
        pytest.skip(f"libsndfile cannot write {fmt}")
    path = files[fmt]
    expected = y / 2 if fmt == "stereo" else y
    samples, rate = A.decode_audio(path)
    assert int(rate) == SR and samples.dtype == tf.float32
    n = min(len(expected), samples.shape[0])
    assert abs(samples.shape[0] - len(expected)) < 2000
    assert np.abs(samples[:n] - expected[:n]).max() <= tol
    # path tensor (format sniffed in graph) and raw bytes give the same result
    sniffed, rate_t = tf.function(lambda p: A.decode_audio(p))(tf.constant(path))
    from_bytes, rate_b = A.decode_audio(Path(path).read_bytes())
    np.testing.assert_array_equal(sniffed, samples)
    np.testing.assert_array_equal(from_bytes, samples)
    assert int(rate_t) == int(rate_b) == SR


def test_read_audio_info(utterance, tmp_path):
    path, y = utterance
    info = A.read_audio_info(path)
    assert (info.sample_rate, info.num_samples, info.format) == (SR, len(y), "wav")
    (tmp_path / "bad.wav").write_bytes(b"RIFF garbage" * 10)
    with pytest.raises(A.DataError, match="bad.wav"):
        A.read_audio_info(str(tmp_path / "bad.wav"))
    sf.write(tmp_path / "f.wav", y, SR, subtype="FLOAT")
    with pytest.raises(A.DataError, match="FLOAT is not supported"):
        A.read_audio_info(str(tmp_path / "f.wav"))
    with pytest.raises(A.DataError, match="unsupported audio extension"):
        A.read_audio_info(str(tmp_path / "x.aiff"))


def test_spec_augment_masks_within_length():
    tf.random.set_seed(1)
    features = tf.ones([50, 16])
    out = A.spec_augment(features, 30, num_freq_masks=1, max_freq_mask=16, num_time_masks=3, max_time_mask=10)
    out = out.numpy()
    freq_masked = np.all(out == 0, axis=0)
    time_masked = np.all(out[:, ~freq_masked] == 0, axis=1) if not freq_masked.all() else None
    assert np.all(out[30:, ~freq_masked] == 1), "time masks must stay inside the length"
    assert time_masked is None or (time_masked.sum() <= 30 and time_masked.any()), "seed 1 draws a time mask"
    np.testing.assert_array_equal(A.spec_augment(features, 30, 0, 0, 0, 0), features)


def test_frequency_warp_identity_and_formant_shift():
    import numpy as np
    import tensorflow as tf

    from open_s2s.data.audio import frequency_warp

    features = np.zeros((3, 40), np.float32)
    features[:, 10] = 1.0  # a "formant" at bin 10
    np.testing.assert_allclose(frequency_warp(tf.constant(features), 1.0).numpy(), features)
    warped = frequency_warp(tf.constant(features), 1.2).numpy()
    assert np.argmax(warped[0]) == 12  # output bin f reads input bin f / 1.2
    lowered = frequency_warp(tf.constant(features), 0.8).numpy()
    assert np.argmax(lowered[0]) == 8
    np.testing.assert_allclose(lowered[:, 8], 1.0)
    assert warped.shape == features.shape


def test_vtlp_range_is_validated(tmp_path):
    import pytest

    from open_s2s.config.params import ConfigError
    from open_s2s.data.speech2text import Speech2TextDataLayer

    with pytest.raises(ConfigError, match="vtlp"):
        Speech2TextDataLayer(
            {"num_audio_features": 8, "vocab_file": "x", "dataset_files": ["y"], "vtlp": [1.1, 0.9]}, "train", 2
        )


def test_dither_noise_has_the_stated_std_and_zero_mean():
    noise = A.dither_noise([4, 100_001], 1e-5).numpy()  # a size that is not a multiple of 4
    assert noise.shape == (4, 100_001)
    assert abs(noise.std() / 1e-5 - 1) < 0.01
    assert abs(noise.mean()) < 1e-7
    assert np.abs(noise).max() <= 1e-5 * 3**0.5 * (1 + 1e-6)
    levels = np.unique(np.round(noise / 1e-5 * A._BYTE_STD + 127.5).astype(int))
    np.testing.assert_array_equal(levels, np.arange(256))  # every byte value, evenly spaced
    counts = np.bincount(np.round(noise.ravel() / 1e-5 * A._BYTE_STD + 127.5).astype(int), minlength=256)
    assert counts.min() > 0.8 * noise.size / 256 and counts.max() < 1.2 * noise.size / 256
    assert abs(np.corrcoef(noise[0, :-1], noise[0, 1:])[0, 1]) < 0.01  # neighbours independent
    assert not np.array_equal(noise, A.dither_noise([4, 100_001], 1e-5).numpy())


def test_frequency_warp_per_example_equals_numpy_interpolation():
    """Batched factors: each example is its own linear interpolation at f / alpha (np.interp)."""
    from open_s2s.data.audio import frequency_warp

    rng = np.random.default_rng(0)
    features = rng.normal(size=(3, 7, 40)).astype(np.float32)
    alphas = np.array([0.8, 1.0, 1.23], np.float32)
    warped = frequency_warp(tf.constant(features), tf.constant(alphas)).numpy()
    bins = np.arange(40)
    for b, alpha in enumerate(alphas):
        src = np.clip(bins / alpha, 0, 39)
        expected = np.stack([np.interp(src, bins, row) for row in features[b]])
        np.testing.assert_allclose(warped[b], expected, atol=1e-5)
