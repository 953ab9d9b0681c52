"""Training-time augmentations as TensorFlow graph ops (run inside ``tf.data``).

Time domain (on raw samples, before features): band-limited resampling for speed
perturbation and additive Gaussian noise at a level in dB, with OpenSeq2Seq's semantics
(``augmentation: {speed_perturbation_ratio, noise_level_min, noise_level_max}``).
Feature domain (on ``[frames, features]`` or a batch ``[batch, frames, features]``, drawn
per example): vocal-tract-length perturbation and SpecAugment masking. Data layers apply
them in train mode only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from open_s2s.config.params import Param

# Windowed-sinc interpolation: 16 zero crossings of the sinc on each side, a Kaiser
# window (beta 8.6, about 80 dB stopband) and the cutoff at 94.5% of the lower Nyquist
# rate, close to resampy's 'kaiser_best' design that OpenSeq2Seq used.
_ZERO_CROSSINGS = 16
_KAISER_BETA = 8.6
_ROLLOFF = 0.945


# ---------------------------------------------------------------------------- config


def _check_speed_ratio(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        ok = value and all(isinstance(v, (int, float)) and 0 < v for v in value)
        return None if ok else "a list must hold speed factors > 0, e.g. [0.9, 1.0, 1.1]"
    return None if 0 <= value < 1 else "a float r must be in [0, 1) (factors uniform in [1 - r, 1 + r])"


def check_noise_levels(value: Any) -> str | None:
    """Cross-key check of a data layer's ``augmentation`` dict (both noise bounds or none)."""
    lo, hi = value.get("noise_level_min"), value.get("noise_level_max")
    if (lo is None) != (hi is None):
        return "give both noise_level_min and noise_level_max (dB), or neither"
    if lo is not None and lo > hi:
        return f"noise_level_min {lo} > noise_level_max {hi}"
    return None


def _non_negative(value: Any) -> str | None:
    return None if value is None or value >= 0 else "must be >= 0"


SPEC_AUGMENT_PARAMS = {
    "num_freq_masks": Param(int, 2, doc="Frequency masks per utterance.", check=_non_negative),
    "max_freq_mask": Param(int, 10, doc="Maximum frequency mask width (feature bins).", check=_non_negative),
    "num_time_masks": Param(int, 2, doc="Time masks per utterance.", check=_non_negative),
    "max_time_mask": Param(int, 20, doc="Maximum time mask width (frames).", check=_non_negative),
}


AUGMENTATION_PARAMS = {
    "speed_perturbation_ratio": Param(
        (float, list, type(None)),
        None,
        doc="r: speed factor uniform in [1-r, 1+r]; a list: one of its factors. Factor > 1 = longer. "
        "OpenSeq2Seq's time_stretch_ratio is accepted for it.",
        check=_check_speed_ratio,
        aliases=("time_stretch_ratio",),
    ),
    "noise_level_min": Param((float, type(None)), None, doc="Lowest white-noise RMS, dB re full scale (e.g. -90)."),
    "noise_level_max": Param((float, type(None)), None, doc="Highest white-noise RMS, dB re full scale (e.g. -46)."),
}


# ---------------------------------------------------------------------------- time domain


def resample(audio: tf.Tensor, rate_in, rate_out) -> tf.Tensor:
    """Band-limited resampling of a waveform from ``rate_in`` to ``rate_out`` Hz.

    Output sample ``j`` is the windowed-sinc interpolation of the input at time
    ``j * rate_in / rate_out`` input samples, low-passed at the lower of the two Nyquist
    rates so that downsampling does not alias; samples outside the input count as zeros.
    It is computed as a polyphase filter: with ``g = gcd(rate_in, rate_out)``, every
    ``up = rate_out / g`` outputs read a window that advances ``down = rate_in / g``
    input samples, so the whole resampling is one matmul of input frames
    ``[outputs / up, down + taps]`` by a filter bank ``[up, down + taps]`` (exact
    positions however long the file; cost grows with ``down``, so keep the rates'
    gcd large, as ``speed_perturb`` does).

    Args:
      audio: ``[samples]`` float32.
      rate_in / rate_out: positive int scalars (Python or tensors).

    Returns:
      ``[samples * rate_out // rate_in]`` float32.
    """
    audio = tf.convert_to_tensor(audio, tf.float32)
    rate_in, rate_out = tf.cast(rate_in, tf.int64), tf.cast(rate_out, tf.int64)
    g = _gcd(rate_in, rate_out)
    up, down = tf.cast(rate_out // g, tf.int32), tf.cast(rate_in // g, tf.int32)
    n_in = tf.shape(audio)[0]
    n_out = tf.cast(tf.cast(n_in, tf.int64) * rate_out // rate_in, tf.int32)
    cutoff = _ROLLOFF * tf.minimum(1.0, tf.cast(up, tf.float32) / tf.cast(down, tf.float32))
    half = tf.cast(tf.math.ceil(_ZERO_CROSSINGS / cutoff), tf.int32)
    width = down + 2 * half  # input samples one group of `up` outputs depends on
    num_frames = (n_out + up - 1) // up
    # Frame m starts at input sample m * down - (half - 1).
    right = tf.maximum((num_frames - 1) * down + width - (half - 1) - n_in, 0)
    padded = tf.pad(audio, [[half - 1, right]])
    frames = tf.signal.frame(padded, width, down)[:num_frames]  # [M, width]
    # Output phase p sits at p * down / up input samples after the frame's sample half - 1.
    phase = tf.cast(tf.range(up), tf.float32) * tf.cast(down, tf.float32) / tf.cast(up, tf.float32)
    x = cutoff * (phase[:, None] + tf.cast(half - 1, tf.float32) - tf.cast(tf.range(width), tf.float32)[None, :])
    bank = cutoff * _sinc(x) * _kaiser(x / _ZERO_CROSSINGS)  # [up, width]
    return tf.reshape(tf.matmul(frames, bank, transpose_b=True), [-1])[:n_out]


def _gcd(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    return tf.while_loop(lambda a, b: b > 0, lambda a, b: (b, a % b), (a, b))[0]


def _sinc(x: tf.Tensor) -> tf.Tensor:
    safe = tf.where(tf.abs(x) < 1e-6, tf.ones_like(x), x)
    return tf.where(tf.abs(x) < 1e-6, tf.ones_like(x), tf.sin(np.pi * safe) / (np.pi * safe))


def _kaiser(u: tf.Tensor) -> tf.Tensor:
    """Kaiser window on ``u`` in [-1, 1], zero outside."""
    arg = _KAISER_BETA * tf.sqrt(tf.maximum(1.0 - tf.square(u), 0.0))
    return tf.where(tf.abs(u) <= 1.0, tf.math.bessel_i0(arg) / np.i0(_KAISER_BETA), 0.0)


def speed_factor(ratio: float | list) -> tf.Tensor:
    """A random speed-perturbation factor, as in OpenSeq2Seq.

    Args:
      ratio: a float ``r``: uniform in ``[1 - r, 1 + r]``; a list: one of its values
        (uniformly).

    Returns:
      Scalar float32 factor; the perturbed utterance is ``factor`` times as long.
    """
    if isinstance(ratio, (list, tuple)):
        choices = tf.constant(list(ratio), tf.float32)
        return tf.gather(choices, tf.random.uniform([], 0, len(ratio), tf.int32))
    return tf.random.uniform([], 1.0 - ratio, 1.0 + ratio)


def speed_perturb(audio: tf.Tensor, factor, sample_freq: int) -> tf.Tensor:
    """Plays ``audio`` at ``1 / factor`` speed (pitch moves with it), as OpenSeq2Seq does.

    The waveform is resampled from ``sample_freq`` to ``sample_freq * factor`` Hz and
    then read at ``sample_freq``: ``factor`` 1.1 makes the utterance 10% longer and 10%
    lower. The target rate is rounded to a multiple of ``gcd(sample_freq, 100)`` Hz
    (100 Hz at 16 kHz, i.e. factors in steps of 1/160), which keeps the polyphase
    filter of ``resample`` small. Length: ``samples * rate_out // sample_freq``.
    """
    step = math.gcd(sample_freq, 100)
    rate_out = tf.cast(tf.round(float(sample_freq / step) * tf.cast(factor, tf.float32)), tf.int64) * step
    return resample(audio, sample_freq, tf.maximum(rate_out, step))


def add_noise(audio: tf.Tensor, level_db) -> tf.Tensor:
    """Adds white Gaussian noise whose RMS is ``level_db`` dB relative to full scale.

    ``level_db`` -60 adds noise of standard deviation ``10 ** (-60 / 20) = 0.001`` (the
    signal is in [-1, 1]), OpenSeq2Seq's ``noise_level_min/max`` convention.
    """
    std = tf.pow(10.0, tf.cast(level_db, tf.float32) / 20.0)
    return audio + std * tf.random.normal(tf.shape(audio))


def augment_audio(audio: tf.Tensor, augmentation: Mapping[str, Any], sample_freq: int) -> tf.Tensor:
    """Applies a data layer's ``augmentation`` params to ``[samples]``: speed, then noise.

    The noise level is drawn uniformly (continuous) in ``[noise_level_min,
    noise_level_max]`` dB for each utterance.
    """
    ratio = augmentation["speed_perturbation_ratio"]
    if ratio is not None:
        audio = speed_perturb(audio, speed_factor(ratio), sample_freq)
    lo, hi = augmentation["noise_level_min"], augmentation["noise_level_max"]
    if lo is not None:
        audio = add_noise(audio, tf.random.uniform([], float(lo), float(hi)))
    return audio


# ---------------------------------------------------------------------------- feature domain


def frequency_warp(features: tf.Tensor, alpha) -> tf.Tensor:
    """Vocal-tract-length perturbation on the feature axis (Jaitly & Hinton, 2013).

    Output bin ``f`` takes the (linearly interpolated) input at ``f / alpha``: with
    ``alpha > 1`` spectral content, and with it the formants, moves to higher bins, as
    for a speaker with a shorter vocal tract. Bins that would read past the top repeat
    the last one.

    Args:
      features: ``[..., F]`` (e.g. ``[frames, F]`` log-mel features) for a scalar
        ``alpha``; ``[batch, frames, F]`` for a ``[batch]`` vector of factors.
      alpha: warp factor, scalar or one per example.

    Returns:
      Warped features, same shape.
    """
    alpha = tf.cast(alpha, tf.float32)
    num = tf.shape(features)[-1]
    src = tf.range(num, dtype=tf.float32) / alpha[..., None]  # [F] or [batch, F]
    src = tf.clip_by_value(src, 0.0, tf.cast(num - 1, tf.float32))
    lo = tf.cast(tf.floor(src), tf.int32)
    hi = tf.minimum(lo + 1, num - 1)
    weight = tf.cast(src - tf.floor(src), features.dtype)[..., None]
    # The interpolation as a matmul with a [F_out, F_in] (per example: [batch, F_out, F_in])
    # matrix of two nonzeros per row: 10x cheaper on a CPU than two batched gathers.
    dtype = features.dtype
    matrix = tf.one_hot(lo, num, dtype=dtype) * (1 - weight) + tf.one_hot(hi, num, dtype=dtype) * weight
    return tf.linalg.matmul(features, matrix, transpose_b=True)


def spec_augment(
    features: tf.Tensor,
    length,
    num_freq_masks: int = 2,
    max_freq_mask: int = 10,
    num_time_masks: int = 2,
    max_time_mask: int = 20,
) -> tf.Tensor:
    """SpecAugment frequency and time masking (Park et al., 2019), without warping.

    Masked values are set to 0 (the mean, after per-feature normalisation). Time masks
    lie inside the valid ``length`` frames. Masks are drawn independently per example.

    Args:
      features: ``[frames, num_features]``, or ``[batch, frames, num_features]`` with
        ``length`` ``[batch]``.
      length: valid frames (int scalar, or ``[batch]``).
      num_freq_masks / num_time_masks: how many masks.
      max_freq_mask / max_time_mask: maximum width (bins / frames); widths are uniform
        in ``[0, max]``.

    Returns:
      Same shape and dtype as ``features``.
    """
    if features.shape.rank == 2:
        args = (num_freq_masks, max_freq_mask, num_time_masks, max_time_mask)
        return spec_augment(features[None], tf.reshape(length, [1]), *args)[0]
    batch, frames, bins = tf.shape(features)[0], tf.shape(features)[1], tf.shape(features)[2]
    length = tf.minimum(tf.cast(length, tf.int32), frames)
    # The masks are built small ([batch, 1, bins] and [batch, frames, 1]) and meet the
    # features in one broadcast select: full-size boolean masks per band cost 3x more.
    keep_bins = tf.ones([batch, 1, bins], tf.bool)
    for _ in range(num_freq_masks):
        keep_bins &= ~_random_band(tf.range(bins)[None, None, :], max_freq_mask, tf.fill([batch], bins))
    keep_frames = tf.ones([batch, frames, 1], tf.bool)
    for _ in range(num_time_masks):
        keep_frames &= ~_random_band(tf.range(frames)[None, :, None], max_time_mask, length)
    return tf.where(keep_bins & keep_frames, features, tf.zeros([], features.dtype))


def _random_band(index: tf.Tensor, max_width: int, size: tf.Tensor) -> tf.Tensor:
    """Per example, ``index`` in a random band of width <= max_width inside [0, size).

    Args:
      index: positions, broadcastable to ``[batch, frames, bins]`` (e.g. ``[1, 1, bins]``).
      size: ``[batch]`` int32, the extent of each example along that axis.
    """
    shape = tf.shape(size)
    width = tf.cast(tf.random.uniform(shape) * tf.cast(tf.minimum(max_width, size) + 1, tf.float32), tf.int32)
    start = tf.cast(tf.random.uniform(shape) * tf.cast(size - width + 1, tf.float32), tf.int32)
    width, start = width[:, None, None], start[:, None, None]
    return (index >= start) & (index < start + width)
