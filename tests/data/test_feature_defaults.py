"""The feature defaults pinned against a librosa pipeline that states each of them.

``FeatureParams()`` and the speech data layers' ``data_layer_params`` defaults (through
``spec_from_params``, what training, eval and export use) must give the features of OpenSeq2Seq's
defaults: pre-emphasis 0.97, a 20 ms (speech) / 25 ms (commands) periodic Hann window zero-padded
to a 512-point FFT, a 10 ms hop, 64 Slaney mel bands over 0-8 kHz, log(power + 2**-24), and
per-utterance mean/std normalisation for speech (none for commands). A changed default changes
the features by far more than the float32 rounding bound the comparison allows.
"""

import dataclasses

import librosa
import numpy as np
import pytest

from open_s2s.data import audio as A
from open_s2s.data.speech2text import Speech2TextDataLayer
from open_s2s.data.speech_commands import SpeechCommandsDataLayer

SR = 16000
U32 = 2.0**-24

# The defaults, stated for librosa.
SPEECH = {"preemph": 0.97, "win_length": 320, "n_fft": 512, "hop": 160, "n_mels": 64, "normalize": True}
COMMANDS = {**SPEECH, "win_length": 400, "normalize": False}


def signal():
    """0.6 s of a voiced-like sound: harmonics of a gliding 120-220 Hz pitch over noise."""
    rng = np.random.default_rng(0)
    t = np.arange(int(0.6 * SR)) / SR
    phase = 2 * np.pi * (120 * t + 50 * t**2 / 0.6)
    y = sum(np.sin(k * phase) / k for k in range(1, 30)) * 0.1 * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    return (y + 0.003 * rng.standard_normal(t.size)).astype(np.float32)


def librosa_features(y, preemph, win_length, n_fft, hop, n_mels, normalize):
    """float64 reference ``(features [frames, n_mels], bound [frames, n_mels])``.

    The bound is what float32 may change in a log-mel value: log P has the absolute error of
    the relative error of P. Pre-emphasis and windowing round each sample (2u), the float32
    FFT errs by at most ``(c log2 n + 2) u ||X||`` in 2-norm per frame (Higham, Accuracy and
    Stability of Numerical Algorithms, Thm 24.2, c ~ 7 for computed twiddles), and a band
    ``P = sum_k M_k |X_k|^2`` then moves by at most ``2 ||dX|| sqrt(sum_k M_k^2 |X_k|^2)``
    (Cauchy-Schwarz); the mel sum of positive terms adds gamma_{n/2+1}, the log 1 u.
    Normalising by the per-band std divides the error by it (mean and std move by at most
    the band's largest error).
    """
    y = np.append(y[0], y[1:] - preemph * y[:-1]).astype(np.float64)
    spec = librosa.stft(y, n_fft=n_fft, hop_length=hop, win_length=win_length, window="hann", center=False)
    power = np.abs(spec) ** 2
    mel_basis = librosa.filters.mel(sr=SR, n_fft=n_fft, n_mels=n_mels, fmin=0.0, fmax=SR / 2, htk=False, norm="slaney")
    mel = mel_basis @ power
    feats = np.log(mel + 2.0**-24).T
    spectrum_err = (7 * np.log2(n_fft) + 2) * U32 * np.linalg.norm(spec, axis=0)  # per frame
    band_err = 2 * spectrum_err * np.sqrt((mel_basis**2) @ power) / mel
    bound = (band_err + (n_fft // 2 + 1 + 1) * U32).T
    if normalize:
        mean, std = feats.mean(0), feats.std(0)
        feats = (feats - mean) / (std + 1e-5)
        bound = (2 + np.abs(feats)) * bound.max(0) / std
    return feats, bound


def speech_layer_defaults(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text(" \na\nb\n")
    params = {"num_audio_features": 64, "vocab_file": str(vocab), "dataset_files": ["unused.csv"]}
    return Speech2TextDataLayer.spec_from_params(params)[1]


def commands_layer_defaults(tmp_path):
    return SpeechCommandsDataLayer.spec_from_params({"dataset_location": str(tmp_path)})[1]


def unnormalized_defaults(tmp_path):
    return dataclasses.replace(A.FeatureParams(), norm_per_feature=False)


@pytest.mark.parametrize(
    "defaults, reference",
    [
        (lambda tmp_path: A.FeatureParams(), SPEECH),
        (speech_layer_defaults, SPEECH),
        (commands_layer_defaults, COMMANDS),
        # Without the normalisation, which removes a constant per-band gain such as most of
        # what pre-emphasis does, the pre-emphasis shows in full.
        (unnormalized_defaults, {**SPEECH, "normalize": False}),
    ],
    ids=["FeatureParams", "Speech2TextDataLayer", "SpeechCommandsDataLayer", "FeatureParams_unnormalized"],
)
def test_default_features_equal_librosa_with_the_defaults_stated(tmp_path, defaults, reference):
    params = defaults(tmp_path)
    y = signal()
    ours, length = A.compute_features_single(y, params, training=False)
    expected, bound = librosa_features(y, **reference)
    assert ours.shape == expected.shape and int(length) == expected.shape[0]
    err = np.abs(ours.numpy() - expected)
    worst = np.unravel_index(np.argmax(err / bound), err.shape)
    assert np.all(err <= bound), (
        f"features of the defaults differ from librosa with {reference} by {err[worst]:.3g} at (frame, band) "
        f"{worst} (float32 bound {bound[worst]:.3g}); a default changed? {params}"
    )
