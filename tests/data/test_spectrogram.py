"""The 'spectrogram' features cover the band OpenSeq2Seq's did: an FFT as long as the window.

OpenSeq2Seq (open_seq2seq/data/speech2text/speech_utils.py) computed spectrograms with
``n_fft = n_window_size`` in both backends (320 points for 20 ms at 16 kHz: bins every
50 Hz, 161 of them up to 8 kHz) and kept the first ``num_audio_features``; DeepSpeech2's 160
bins thus span 0-7950 Hz. A 512-point FFT would make the same 160 bins stop at 4969 Hz.
"""

import os

import librosa
import numpy as np
import pytest

from open_s2s.config.loader import resolve_config
from open_s2s.data import audio as A

SR = 16000
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DS2 = os.path.join(REPO, "example_configs", "speech2text", "ds2_librispeech.py")


def ds2_feature_params(**overrides):
    _, params = resolve_config(DS2, "train")
    return A.FeatureParams.from_params({**params["data_layer_params"], **overrides})


def tone(freq, seconds=0.5):
    t = np.arange(int(SR * seconds)) / SR
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_default_spectrogram_fft_is_the_window_length():
    params = A.FeatureParams(input_type="spectrogram", num_audio_features=161, norm_per_feature=False, preemph=None)
    assert params.fft_length == params.win_length == 320
    y = np.random.default_rng(0).uniform(-0.5, 0.5, SR // 2).astype(np.float32)
    features, length = A.compute_features_single(y, params)
    power = np.abs(librosa.stft(y.astype(np.float64), n_fft=320, hop_length=160, window="hann", center=False)) ** 2
    ref = np.log(power + params.log_zero_guard).T
    assert features.shape == ref.shape and int(length) == ref.shape[0]
    # white noise: every bin's power is far above the float32 rounding of the log
    np.testing.assert_allclose(features.numpy(), ref, atol=1e-3)


@pytest.mark.parametrize("freq", [300.0, 4000.0, 7000.0, 7900.0])
def test_ds2_recipe_features_see_tones_up_to_8_khz(freq):
    params = ds2_feature_params(norm_per_feature=False, preemph=None)
    assert params.num_audio_features == 160
    features, _ = A.compute_features_single(tone(freq), params)
    peak = int(np.argmax(features.numpy().mean(axis=0)))
    assert peak == round(freq / 50.0), f"{freq} Hz peaks in bin {peak} (bins are 50 Hz apart up to 7950 Hz)"


def test_explicit_num_fft_is_kept_for_every_feature_type():
    assert A.FeatureParams(input_type="spectrogram", num_audio_features=160, num_fft=512).fft_length == 512
    assert A.FeatureParams(input_type="logfbank").fft_length == 512  # mel features: next power of two
