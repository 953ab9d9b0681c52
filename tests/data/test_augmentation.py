"""Waveform augmentations: resampling vs soxr, speed perturbation, noise level in dB, train-only."""

import numpy as np
import pytest
import soundfile as sf
import soxr
import tensorflow as tf

from open_s2s.config.params import ConfigError
from open_s2s.data import keys
from open_s2s.data.audio import FeatureParams, frame_lengths
from open_s2s.data.augmentation import add_noise, augment_audio, resample, speed_factor, speed_perturb
from open_s2s.data.speech2text import Speech2TextDataLayer

SR = 16000


def _tones(t):
    return np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 3000 * t)


@pytest.mark.parametrize("rate_out", [14400, 17600, 12345, 16000])
def test_resample_matches_soxr_and_the_continuous_signal(rate_out):
    x = _tones(np.arange(2 * SR) / SR).astype(np.float32)
    y = resample(x, SR, rate_out).numpy()
    reference = soxr.resample(x, SR, rate_out, quality="VHQ")
    assert len(y) == len(reference) == 2 * SR * rate_out // SR
    inner = slice(400, len(y) - 400)  # away from the zero-padded edges
    np.testing.assert_allclose(y[inner], reference[inner], atol=2e-4)
    np.testing.assert_allclose(y[inner], _tones(np.arange(len(y)) / rate_out)[inner], atol=2e-4)


def test_downsampling_removes_content_above_the_new_nyquist():
    x = np.sin(2 * np.pi * 7500 * np.arange(SR) / SR).astype(np.float32)  # above 6 kHz
    y = resample(x, SR, 12000).numpy()
    assert np.sqrt(np.mean(y[400:-400] ** 2)) < 1e-3


@pytest.mark.parametrize("factor", [0.9, 1.1, 1.25])
def test_speed_perturbation_changes_length_and_pitch_by_the_factor(factor):
    n = 24000
    x = np.sin(2 * np.pi * 1000 * np.arange(n) / SR).astype(np.float32)
    y = speed_perturb(x, factor, SR).numpy()
    assert len(y) == int(n * round(SR * factor)) // SR
    assert len(y) / n == pytest.approx(factor, abs=1e-3)
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    peak_hz = np.argmax(spectrum) * SR / len(y)
    assert peak_hz == pytest.approx(1000 / factor, rel=2e-3)  # played back at SR: pitch / factor


def test_speed_factor_semantics():
    tf.random.set_seed(0)
    draws = np.array([float(speed_factor(0.1)) for _ in range(200)])
    assert 0.9 <= draws.min() < 0.92 and 1.08 < draws.max() <= 1.1
    assert set(np.round([float(speed_factor([0.9, 1.1])) for _ in range(50)], 5)) == {0.9, 1.1}


@pytest.mark.parametrize("level_db", [-60.0, -30.0, -10.0])
def test_noise_level_in_db(level_db):
    t = np.arange(4 * SR) / SR
    clean = (0.5 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    noisy = add_noise(clean, level_db).numpy()
    noise = noisy - clean
    assert 20 * np.log10(np.sqrt(np.mean(noise**2))) == pytest.approx(level_db, abs=0.1)
    signal_db = 20 * np.log10(np.sqrt(np.mean(clean**2)))  # -9.03 dBFS
    snr = 10 * np.log10(np.mean(clean**2) / np.mean(noise**2))
    assert snr == pytest.approx(signal_db - level_db, abs=0.1)


def test_augment_audio_draws_the_noise_level_in_range():
    spec = {"speed_perturbation_ratio": None, "noise_level_min": -50, "noise_level_max": -40}
    levels = [20 * np.log10(np.std(augment_audio(tf.zeros([SR]), spec, SR).numpy())) for _ in range(40)]
    assert -50.1 < min(levels) < -47 and -43 < max(levels) < -39.9


# ---------------------------------------------------------------------------- in the data layer


@pytest.fixture(scope="module")
def tone_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("tones")
    rng = np.random.default_rng(0)
    lines = []
    for i, seconds in enumerate([1.0, 1.3, 0.7]):
        t = np.arange(int(seconds * SR)) / SR
        audio = 0.3 * np.sin(2 * np.pi * (200 + 100 * i) * t) + 0.01 * rng.standard_normal(len(t))
        sf.write(root / f"{i}.wav", audio.astype(np.float32), SR, subtype="PCM_16")
        lines.append(f"{i}.wav,0,tone {i}\n")
    (root / "data.csv").write_text("wav_filename,wav_filesize,transcript\n" + "".join(lines))
    (root / "vocab.txt").write_text("\n".join([" ", "t", "o", "n", "e", "0", "1", "2"]) + "\n")
    return root


def _layer(corpus, mode, **kw):
    params = {
        "num_audio_features": 32,
        "vocab_file": str(corpus / "vocab.txt"),
        "dataset_files": [str(corpus / "data.csv")],
        "dither": 0.0,
        "num_buckets": 1,
        "shuffle": False,
        "repeat": False,
    }
    return Speech2TextDataLayer({**params, **kw}, mode, batch_size=3)


def _by_index(dl):
    batch = next(iter(dl.build_dataset()))
    order = np.argsort(batch[keys.INDEX].numpy())
    return batch[keys.SOURCE].numpy()[order], batch[keys.SOURCE_LENGTH].numpy()[order]


def test_speed_perturbation_in_the_pipeline_changes_frames_by_the_ratio(tone_corpus):
    dl = _layer(tone_corpus, "train", augmentation={"speed_perturbation_ratio": [1.2]})
    _, lengths = _by_index(dl)
    samples = np.array([sf.info(p).frames for p in dl.wav_filenames])
    fp = FeatureParams(num_audio_features=32, dither=0.0)
    np.testing.assert_array_equal(lengths, frame_lengths(samples * 19200 // SR, fp))


def test_waveform_augmentation_is_off_in_eval_and_infer(tone_corpus):
    augmentation = {"speed_perturbation_ratio": 0.2, "noise_level_min": -30, "noise_level_max": -20}
    plain, plain_lengths = _by_index(_layer(tone_corpus, "eval"))
    for mode in ("eval", "infer"):
        features, lengths = _by_index(_layer(tone_corpus, mode, augmentation=augmentation))
        np.testing.assert_array_equal(lengths, plain_lengths)
        np.testing.assert_allclose(features, plain, atol=1e-5)
    trained, _ = _by_index(_layer(tone_corpus, "train", augmentation={"noise_level_min": -30, "noise_level_max": -20}))
    assert np.abs(trained - plain).max() > 0.1


@pytest.mark.parametrize(
    "augmentation, message",
    [
        ({"noise_level_min": -60}, "give both noise_level_min and noise_level_max"),
        ({"noise_level_min": -40, "noise_level_max": -60}, "noise_level_min -40 > noise_level_max -60"),
        ({"speed_perturbation_ratio": 1.5}, "must be in \\[0, 1\\)"),
        ({"speed_perturbation_ratio": [0.9, -1]}, "factors > 0"),
        ({"time_stretch": 0.1}, "unknown key 'time_stretch'"),
        ({"time_stretch_ratio": 0.1, "speed_perturbation_ratio": 0.1}, "are the same key"),
        ({"time_stretch_ratio": 1.5}, "augmentation.speed_perturbation_ratio: a float r must be in \\[0, 1\\)"),
    ],
)
def test_bad_augmentation_params(tone_corpus, augmentation, message):
    with pytest.raises(ConfigError, match=message):
        _layer(tone_corpus, "train", augmentation=augmentation)
