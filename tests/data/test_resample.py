"""In-graph resampling (open_s2s.data.resample) and the numpy reader of any audio (open_s2s.data.audio_io)."""

import numpy as np
import pytest
import soundfile
import tensorflow as tf

from open_s2s.data import audio_io
from open_s2s.data.resample import SUPPORTED_RATES, polyphase_kernel, resample, resample_fixed


def tones(rate: int, seconds: float, freqs, phase0: float = 0.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return 0.2 * sum(np.sin(2 * np.pi * f * t + phase0 + i) for i, f in enumerate(freqs))


@pytest.mark.parametrize("rate", [r for r in SUPPORTED_RATES if r != 16000])
def test_band_limited_tones_resample_to_their_closed_form(rate):
    """A sum of sines below 80 % of the lower Nyquist frequency, resampled, is the same sines sampled at
    16 kHz: away from the edges (the filter's half width) only the pass-band ripple and the stop band of
    the Kaiser-windowed sinc (beta 9: about -90 dB, 3e-5) remain, plus float32 rounding."""
    freqs = [f for f in (300.0, 1234.5, 3100.0, 6300.0) if f < 0.8 * min(rate, 16000) / 2]
    x = tones(rate, 1.5, freqs)
    y = resample_fixed(tf.constant(x[None], tf.float32), rate, 16000).numpy()[0]
    assert len(y) == int(np.ceil(len(x) * 16000 / rate))
    expected = tones(16000, len(y) / 16000, freqs)[: len(y)]
    edge = 200  # more than the filter's half width in output samples
    np.testing.assert_allclose(y[edge:-edge], expected[edge:-edge], atol=2e-4)


def test_each_output_depends_only_on_nearby_inputs():
    """Padding after an utterance does not change its resampled samples (batches pad)."""
    x = np.random.default_rng(0).standard_normal(4410).astype(np.float32) * 0.1
    alone = resample_fixed(tf.constant(x[None]), 44100, 16000).numpy()[0]
    padded = resample_fixed(tf.constant(np.pad(x, (0, 3000))[None]), 44100, 16000).numpy()[0]
    np.testing.assert_array_equal(padded[: len(alone)], alone)


def test_kernel_phases_sum_to_unit_gain():
    """Each phase's taps sum to ~1 (DC gain one): the filter neither amplifies nor attenuates the pass band."""
    kernel, up, down, _ = polyphase_kernel(44100, 16000)
    assert (up, down) == (160, 441)
    np.testing.assert_allclose(kernel.sum(axis=0)[0], 1.0, atol=1e-4)


def test_a_rate_outside_the_list_is_refused_naming_the_list():
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"sample_rate is not one of \[8000, 11025"):
        resample(tf.zeros([1, 100]), tf.constant([100]), tf.constant(44000), 16000)


def test_lengths_scale_with_the_rate():
    out, lengths = resample(tf.zeros([2, 44100]), tf.constant([44100, 22050]), tf.constant(44100), 16000)
    assert out.shape[1] == 16000 and lengths.numpy().tolist() == [16000, 8000]


# ---------------------------------------------------------------------------- audio_io


def test_read_audio_at_the_model_rate_returns_the_decoded_samples(tmp_path):
    pcm = (np.random.default_rng(1).standard_normal(1600) * 3000).astype(np.int16)
    soundfile.write(tmp_path / "a.wav", pcm, 16000, subtype="PCM_16")
    np.testing.assert_array_equal(audio_io.read_audio(str(tmp_path / "a.wav"), 16000), pcm / np.float32(32768))


def test_read_audio_mixes_down_and_resamples_with_soxr(tmp_path):
    import soxr

    stereo = np.stack([tones(44100, 0.5, [440.0]), tones(44100, 0.5, [440.0], phase0=1.0)], axis=1)
    soundfile.write(tmp_path / "s.wav", stereo, 44100, subtype="FLOAT")
    got = audio_io.read_audio(str(tmp_path / "s.wav"), 16000)
    expected = soxr.resample(stereo.astype(np.float32).mean(axis=1), 44100, 16000, quality="HQ")
    np.testing.assert_array_equal(got, expected)


def test_prepare_audio_takes_paths_arrays_pairs_and_int16(tmp_path):
    x = tones(16000, 0.25, [500.0]).astype(np.float32)
    soundfile.write(tmp_path / "x.wav", x, 16000, subtype="FLOAT")
    base = audio_io.prepare_audio(str(tmp_path / "x.wav"), 16000)
    np.testing.assert_array_equal(audio_io.prepare_audio(x, 16000), base)
    np.testing.assert_array_equal(audio_io.prepare_audio((x, 16000), 16000), base)
    pcm = np.array([0, 16384, -32768], np.int16)
    np.testing.assert_array_equal(audio_io.prepare_audio(pcm, 16000), [0.0, 0.5, -1.0])
    with pytest.raises(ValueError, match="more channels than samples"):
        audio_io.prepare_audio(np.zeros([2, 1000], np.float32), 16000)
