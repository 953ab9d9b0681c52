"""Audio from files or arrays at any sample rate and channel count, as a model wants it (numpy).

Inference accepts what a user has: 44.1 kHz stereo WAVs, 8 kHz FLACs, arrays from a
microphone. ``read_audio`` and ``prepare_audio`` mix channels down to mono (their mean, as
the in-graph decoders do) and resample with soxr (the resampler librosa uses, at its
``HQ`` quality) to the model's rate. Audio already at the model's rate is returned as
decoded, so a 16 kHz mono 16-bit WAV gives exactly the samples the ``tf.data`` pipeline
decodes (``int16 / 32768``). No TensorFlow here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from open_s2s.data.audio import DataError


def mix_down(audio: np.ndarray) -> np.ndarray:
    """``[samples]`` or ``[samples, channels]`` -> mono float32 ``[samples]`` (channel mean)."""
    audio = np.asarray(audio, np.float32)
    if audio.ndim == 1:
        return audio
    if audio.ndim != 2:
        raise ValueError(f"audio must be [samples] or [samples, channels], got shape {audio.shape}")
    if audio.shape[1] > audio.shape[0]:
        raise ValueError(
            f"audio of shape {audio.shape} has more channels than samples: pass [samples, channels] (transpose it)"
        )
    return audio.mean(axis=1, dtype=np.float32) if audio.shape[1] > 1 else audio[:, 0]


def resample(audio: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    """Mono ``audio`` at ``rate`` Hz -> float32 at ``target_rate`` Hz (soxr, HQ; unchanged if equal)."""
    audio = np.asarray(audio, np.float32)
    if int(rate) == int(target_rate):
        return audio
    import soxr  # noqa: PLC0415  (installed with librosa)

    return soxr.resample(audio, int(rate), int(target_rate), quality="HQ").astype(np.float32, copy=False)


def read_audio(path: str, target_rate: int) -> np.ndarray:
    """An audio file (WAV, FLAC, OGG, MP3; any rate and channels) as mono float32 at ``target_rate``.

    Raises:
      DataError: the file cannot be read.
    """
    import soundfile  # noqa: PLC0415

    try:
        audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except Exception as e:  # soundfile raises RuntimeError subclasses with libsndfile's text
        raise DataError(f"cannot read audio file {path}: {e}") from e
    return resample(mix_down(audio), rate, target_rate)


def prepare_audio(item: Any, target_rate: int) -> np.ndarray:
    """One input of the Python API as mono float32 at ``target_rate``.

    Args:
      item: a path; a ``(array, sample_rate)`` pair; or an array ``[samples]`` /
        ``[samples, channels]`` already at ``target_rate`` (float in [-1, 1], or int16).
      target_rate: the model's sample rate.
    """
    if isinstance(item, (str, bytes)) or hasattr(item, "__fspath__"):
        return read_audio(str(item if not isinstance(item, bytes) else item.decode()), target_rate)
    rate = target_rate
    if isinstance(item, tuple) and len(item) == 2 and np.isscalar(item[1]):
        item, rate = item
    audio = np.asarray(item)
    if audio.dtype == np.int16:
        audio = audio.astype(np.float32) / 32768.0
    return resample(mix_down(audio), int(rate), target_rate)
