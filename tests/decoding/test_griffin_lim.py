"""Tests of open_s2s.decoding.griffin_lim against librosa (griffinlim, mel_to_stft) and numpy.

The spectrograms are of a synthetic vowel-like signal (harmonics with vibrato and an
envelope), so the tests need no audio files.
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import tensorflow as tf

from open_s2s.data.text2speech.spectrogram import SpectrogramParams, compute_features, mel_basis
from open_s2s.decoding.griffin_lim import (
    GriffinLimParams,
    _hash_uniform,
    features_to_audio,
    features_to_magnitude,
    griffin_lim,
    mel_to_linear,
)

U = 2.0**-24
SP = SpectrogramParams(sampling_rate=16000, n_fft=512, win_length=400, hop_length=160, num_mel=40, mag_power=1)


def _signal(seconds=1.0, f0=140.0, seed=0, envelope=True):
    rng = np.random.default_rng(seed)
    t = np.arange(int(16000 * seconds)) / 16000
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))) / 16000
    y = sum(np.sin(k * phase) / k for k in range(1, 25)) * (np.hanning(len(t)) if envelope else 1.0) * 0.3
    return (y + 1e-3 * rng.standard_normal(len(t))).astype(np.float32)


def _magnitude(y):
    return np.abs(librosa.stft(y.astype(np.float64), n_fft=512, hop_length=160, win_length=400))


def _librosa_gl(S, **kw):
    return librosa.griffinlim(S, n_fft=512, hop_length=160, win_length=400, **kw)


def _ours(S, **kw):
    audio, length = griffin_lim(tf.constant(S.T[None], tf.float32), [S.shape[1]], SP, GriffinLimParams(**kw))
    return audio.numpy()[0][: int(length[0])]


def _spectral_convergence(audio, S):
    rebuilt = _magnitude(audio)[:, : S.shape[1]]
    return np.linalg.norm(rebuilt - S) / np.linalg.norm(S)


@pytest.mark.parametrize("momentum", [0.99, 0.0])
def test_matches_librosa_griffinlim_from_zero_phase(momentum):
    """Same start (librosa's init=None), same algorithm: our float32 graph is as close to
    librosa in float64 as librosa's own float32 run is (4x margin for the different
    summation orders of two float32 FFT implementations, over 8 iterations)."""
    S64 = _magnitude(_signal())
    S32 = S64.astype(np.float32)
    ref64 = _librosa_gl(S64, n_iter=8, momentum=momentum, init=None)
    ref32 = _librosa_gl(S32, n_iter=8, momentum=momentum, init=None)
    ours = _ours(S32, n_iter=8, power=1.0, momentum=momentum, init="zeros")
    assert ours.shape == ref64.shape == (160 * (S64.shape[1] - 1),)
    float32_error = np.linalg.norm(ref32 - ref64)
    assert np.linalg.norm(ours - ref64) <= 4 * float32_error + 8 * U * np.linalg.norm(ref64)


def test_power_sharpens_relative_to_the_peak():
    """power p runs Griffin-Lim on |S|**p / max|S|**(p - 1) (closed form, librosa's GL)."""
    S = _magnitude(_signal()).astype(np.float32)
    sharpened = S.astype(np.float64) ** 1.5 / S.max() ** 0.5
    ref64 = _librosa_gl(sharpened, n_iter=4, init=None)
    ref32 = _librosa_gl(sharpened.astype(np.float32), n_iter=4, init=None)
    ours = _ours(S, n_iter=4, power=1.5, init="zeros")
    assert np.linalg.norm(ours - ref64) <= 4 * np.linalg.norm(ref32 - ref64) + 8 * U * np.linalg.norm(ref64)
    assert np.abs(ours).max() < 1.0  # the level of a [-1, 1] signal stays in range


def test_random_start_converges_like_librosas():
    """Random starting phases (a hash here, a random state in librosa): after 32 iterations
    the spectral convergence ||S - |STFT(y)||| / ||S|| of both agree within the spread
    across seeds (measured ~10% at 16 and 32 iterations, 5 seeds each)."""
    S = _magnitude(_signal(seed=1))
    ours = np.mean([_spectral_convergence(_ours(S, n_iter=32, power=1.0, seed=s), S) for s in range(3)])
    ref = np.mean([_spectral_convergence(_librosa_gl(S, n_iter=32, random_state=s), S) for s in range(3)])
    zero_phase = _spectral_convergence(_ours(S, n_iter=32, power=1.0, init="zeros"), S)
    assert ours <= 1.2 * ref and ours < 0.2
    assert abs(ours - zero_phase) > 1e-3  # the "random" start is not the zero-phase one


def test_hash_phases_are_uniform_and_prefix_stable():
    u = _hash_uniform(tf.constant([200, 257]), seed=0).numpy()
    n = u.size
    assert abs(u.mean() - 0.5) < 4 * np.sqrt(1 / 12 / n)  # 4 sigma of the mean of n uniforms
    ks = np.max(np.abs(np.sort(u.ravel()) - (np.arange(1, n + 1) - 0.5) / n))
    assert ks < 1.63 / np.sqrt(n)  # Kolmogorov-Smirnov at the 1% level
    np.testing.assert_array_equal(_hash_uniform(tf.constant([50, 257]), seed=0).numpy(), u[:50])
    assert not np.array_equal(_hash_uniform(tf.constant([50, 257]), seed=1).numpy(), u[:50])


def test_an_example_sounds_the_same_alone_and_in_a_batch():
    params = GriffinLimParams(n_iter=6)
    # loud up to the last sample, where the padding frames would change the normalization
    signals = [_signal(s, f0=f0, envelope=False) for s, f0 in ((0.5, 120.0), (1.0, 180.0), (0.7, 90.0))]
    mags = [_magnitude(y).T.astype(np.float32) for y in signals]
    lengths = [len(m) for m in mags]
    batch = np.zeros([3, max(lengths), SP.num_bins], np.float32)
    for i, m in enumerate(mags):
        batch[i, : len(m)] = m
    batch[0, lengths[0] :] = 5.0  # garbage in the padding must not leak in
    audio, audio_length = griffin_lim(tf.constant(batch), lengths, SP, params)
    assert list(audio_length.numpy()) == [160 * (n - 1) for n in lengths]
    for i, m in enumerate(mags):
        alone, _ = griffin_lim(tf.constant(m[None]), [len(m)], SP, params)
        n = int(audio_length[i])
        np.testing.assert_allclose(audio[i, :n], alone[0], atol=1e-5 * np.abs(alone).max())
        assert not audio[i, n:].numpy().any()


def test_graph_mode_equals_eager():
    S = _magnitude(_signal(0.4)).T[None].astype(np.float32)
    params = GriffinLimParams(n_iter=5)
    fn = tf.function(
        lambda m, n: griffin_lim(m, n, SP, params),
        input_signature=[tf.TensorSpec([None, None, SP.num_bins]), tf.TensorSpec([None], tf.int32)],
    )
    np.testing.assert_allclose(fn(S, [S.shape[1]])[0], griffin_lim(S, [S.shape[1]], SP, params)[0], atol=1e-6)


def test_mel_inverse_is_the_clipped_pseudo_inverse():
    S = _magnitude(_signal())
    mel = (mel_basis(SP) @ S).T
    ours = mel_to_linear(tf.constant(mel, tf.float32), SP).numpy()
    pinv = np.linalg.pinv(librosa.filters.mel(sr=16000, n_fft=512, n_mels=40, htk=True, norm=None, dtype=np.float64))
    ref = mel @ pinv.T
    # float32 inputs, pinv and an 40-term dot product: |error| <= 2 * 40 u sum_j |mel_j pinv_kj|
    bound = 80 * U * (np.abs(mel) @ np.abs(pinv.T)) + 1e-30
    assert (np.abs(ours - np.maximum(ref, 0)) <= bound).all()


def test_mel_inverse_is_as_good_as_librosas_nnls():
    """librosa.feature.inverse.mel_to_stft (NNLS) and the clipped pseudo-inverse reconstruct a
    spectrogram from its 40 mel bands with the same error (within 5% of each other). The
    mel residual of ours is exactly that of the clipped-off negative part, ``||M min(x, 0)||``
    with ``x = pinv(M) mel``; NNLS, optimal among non-negative solutions, does no worse."""
    S = _magnitude(_signal(seed=2))
    basis = mel_basis(SP)
    mel = basis @ S
    ours = mel_to_linear(tf.constant(mel.T, tf.float32), SP).numpy().T
    nnls = librosa.feature.inverse.mel_to_stft(mel, sr=16000, n_fft=512, power=1.0, htk=True, norm=None)
    err_ours, err_nnls = (np.linalg.norm(x - S) / np.linalg.norm(S) for x in (ours, nnls))
    assert abs(err_ours - err_nnls) <= 0.05 * err_nnls
    residual = np.linalg.norm(basis @ ours - mel)
    clipped = np.linalg.norm(basis @ np.minimum(np.linalg.pinv(basis) @ mel, 0))
    assert residual == pytest.approx(clipped, rel=1e-3) and residual > 0
    assert np.linalg.norm(basis @ nnls - mel) <= 1.01 * residual  # L-BFGS-B stops near the optimum


@pytest.mark.parametrize(
    "kind",
    ["mel", "magnitude_normalized_power2", "magnitude_cut", "both_exp_mag"],
)
def test_features_to_magnitude_inverts_the_data_transform(kind):
    y = _signal(0.5)
    S = _magnitude(y).T
    if kind == "mel":
        sp = SP
        want = np.maximum(np.linalg.pinv(mel_basis(sp)) @ np.maximum(mel_basis(sp) @ S.T, 1e-5), 0).T
    elif kind == "magnitude_normalized_power2":
        sp = SpectrogramParams(n_fft=512, win_length=400, hop_length=160, output_type="magnitude", num_mel=0,
                               num_magnitude=257, mag_power=2, feature_normalize=True, mean=-3.0, std=4.0)  # fmt: skip
        want = np.maximum(S, np.sqrt(1e-5))
    elif kind == "magnitude_cut":
        sp = SpectrogramParams(n_fft=512, win_length=400, hop_length=160, output_type="magnitude", num_mel=0,
                               num_magnitude=100, mag_power=1)  # fmt: skip
        want = np.concatenate([np.maximum(S[:, :100], 1e-5), np.full([len(S), 157], 1e-5)], axis=1)
    else:
        sp = SpectrogramParams(n_fft=512, win_length=400, hop_length=160, output_type="both", num_mel=40,
                               num_magnitude=257, mag_power=1, exp_mag=True)  # fmt: skip
        want = np.maximum(S, 1e-5)
    got = features_to_magnitude(compute_features(tf.constant(y), sp), sp).numpy()
    # float32 features of a float64 reference: FFT error (see the data layer tests) ~1e-5 of
    # the frame's peak, then exp/log/pow round trips: a few u relative
    frame_peak = S.max(axis=1, keepdims=True)
    np.testing.assert_array_less(np.abs(got - want), 2e-5 * frame_peak + 1e-4 * want)


def test_features_to_audio_runs_the_whole_inverse():
    y = _signal(0.6)
    features = compute_features(tf.constant(y), SP)[None]
    audio, length = features_to_audio(features, tf.shape(features)[1:2], SP, GriffinLimParams(n_iter=20, power=1.0))
    assert int(length[0]) == 160 * (features.shape[1] - 1) and abs(len(y) - int(length[0])) < 160
    # a 40-band mel spectrogram keeps the harmonic envelope: the resynthesis's 40-band mel
    # spectrogram is close to the original's (log-mel distance in nepers)
    again = compute_features(audio[0, : int(length[0])], SP).numpy()
    original = features.numpy()[0][: len(again)]
    loud = original > np.log(1e-3)
    assert np.median(np.abs(again - original)[loud]) < 0.5


def test_saved_model_gives_the_same_audio(tmp_path):
    """The vocoder is plain graph ops: a SavedModel of it reproduces the eager audio."""
    params = GriffinLimParams(n_iter=5)
    module = tf.Module()
    module.vocode = tf.function(
        lambda f, n: features_to_audio(f, n, SP, params),
        input_signature=[tf.TensorSpec([None, None, SP.num_features]), tf.TensorSpec([None], tf.int32)],
    )
    tf.saved_model.save(module, str(tmp_path / "vocoder"))
    features = compute_features(tf.constant(_signal(0.4)), SP)[None]
    lengths = tf.shape(features)[1:2]
    loaded = tf.saved_model.load(str(tmp_path / "vocoder"))
    np.testing.assert_allclose(
        loaded.vocode(features, lengths)[0], features_to_audio(features, lengths, SP, params)[0], atol=1e-6
    )
