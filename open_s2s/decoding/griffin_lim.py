"""Spectrogram frames -> waveform in the graph: undo the data layer's transform, then Griffin-Lim.

``features_to_magnitude`` inverts ``open_s2s.data.text2speech.spectrogram`` (normalization,
log, floor, ``mag_power``); for mel frames it maps back to linear frequency with the
Moore-Penrose pseudo-inverse of the mel basis, clipped at 0. The pseudo-inverse was chosen
over NNLS (librosa's ``mel_to_stft``): it is one matmul with a constant, so it runs in a
SavedModel on any batch at no cost, it is exact on the mel subspace (``M @ pinv(M) @ mel
== mel``), and Griffin-Lim only sees the result through the STFT consistency it enforces
anyway. OpenSeq2Seq multiplied by the transposed basis instead, which smears each band
over its whole triangle and scales it by the filter weights.

``griffin_lim`` is librosa's ``griffinlim`` (the "fast Griffin-Lim" of Perraudin et al.,
2013, with ``momentum``; 0 gives the original algorithm of Griffin & Lim, 1984) with the
same centered STFT as the features (``tf.signal`` ops). Starting phases: ``"zeros"`` is
librosa's ``init=None``; ``"random"`` draws uniform phases like librosa's default, but from
a hash of ``(seed, frame, bin)`` rather than a random state, so that the audio of a
sentence is the same alone and in any batch, in eager, ``tf.function`` and a SavedModel.
Each example of a batch is reconstructed as if it were alone: frames past its length are
masked out of the overlap-add and its samples past ``hop * (length - 1)`` are zeroed.

Usage::

    audio, audio_length = features_to_audio(frames, lengths, spectrogram_params, GriffinLimParams())
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from open_s2s.data.text2speech.spectrogram import SpectrogramParams, mel_basis, stft, stft_window

INITS = ("random", "zeros")


@dataclass(frozen=True)
class GriffinLimParams:
    """Attributes:
    n_iter: Griffin-Lim iterations.
    power: the magnitude is raised to this before the phase search, and divided by
      ``peak ** (power - 1)`` so that the loudest bin keeps its level. OpenSeq2Seq's
      ``save_audio`` used 1.5 (sharper formants, lower noise floor); 1.0 is the default
      here because it was the most intelligible to the judge (docs/text2speech.md).
    momentum: fast Griffin-Lim momentum (librosa's default 0.99).
    init: ``"random"`` or ``"zeros"`` starting phases.
    seed: seed of the ``"random"`` phases.
    source: with ``output_type: "both"``, the part to synthesize from (``"magnitude"``,
      the linear prediction, or ``"mel"``).
    max_normalization: divide each waveform by its peak (OpenSeq2Seq's key).
    """

    n_iter: int = 60
    power: float = 1.0
    momentum: float = 0.99
    init: str = "random"
    seed: int = 0
    source: str = "magnitude"
    max_normalization: bool = False

    def __post_init__(self):
        if self.init not in INITS:
            raise ValueError(f"GriffinLimParams: init must be one of {INITS}, got {self.init!r}")
        if self.source not in ("mel", "magnitude"):
            raise ValueError(f"GriffinLimParams: source must be 'mel' or 'magnitude', got {self.source!r}")


# ---------------------------------------------------------------------------- features -> |STFT|


def mel_pseudo_inverse(params: SpectrogramParams) -> np.ndarray:
    """``[num_mel, n_fft // 2 + 1]`` float32: ``pinv(mel_basis).T``, so ``mel @ it`` maps
    ``[..., num_mel]`` rows back to linear bins."""
    return np.linalg.pinv(mel_basis(params)).T.astype(np.float32)


def mel_to_linear(mel: tf.Tensor, params: SpectrogramParams) -> tf.Tensor:
    """Mel energies ``[..., num_mel]`` (``mel_basis @ |STFT|**mag_power``) -> the least-norm
    ``|STFT|**mag_power`` ``[..., n_fft // 2 + 1]`` that produces them, clipped at 0."""
    return tf.nn.relu(tf.matmul(mel, tf.constant(mel_pseudo_inverse(params))))


def features_to_magnitude(features: tf.Tensor, params: SpectrogramParams, source: str = "magnitude") -> tf.Tensor:
    """Target frames ``[..., frames, num_features]`` -> linear ``|STFT|`` ``[..., frames, n_fft//2+1]``.

    The inverse of the data layer's transform: de-normalize, undo the log (and the floor,
    as far as it can be), map mel bands to linear bins (``mel_to_linear``) or restore the
    magnitude bins cut above ``num_magnitude`` (at the floor), and take the ``mag_power``-th
    root. ``source`` picks the part of ``both`` frames.
    """
    features = tf.cast(features, tf.float32)
    if params.feature_normalize:
        features = features * params.std + params.mean
    use_mel = params.output_type == "mel" or (params.output_type == "both" and source == "mel")
    if use_mel:
        power = mel_to_linear(tf.exp(features[..., : params.num_mel]), params)
    else:
        part = features[..., params.num_mel :]
        power = part if params.exp_mag else tf.exp(part)
        missing = params.num_bins - params.num_magnitude
        if missing:
            floor = tf.fill(tf.concat([tf.shape(power)[:-1], [missing]], 0), params.data_min_magnitude)
            power = tf.concat([power, floor], axis=-1)
        power = tf.nn.relu(power)
    return power if params.mag_power == 1 else tf.pow(power, 1.0 / params.mag_power)


# ---------------------------------------------------------------------------- Griffin-Lim


def istft(spec: tf.Tensor, frame_mask: tf.Tensor, params: SpectrogramParams) -> tf.Tensor:
    """``librosa.istft(center=True)`` per example of a batch: complex ``[batch, frames, bins]``
    -> ``[batch, hop * (frames - 1)]``. Frames where ``frame_mask`` is 0 add nothing, not
    even to the window normalization (``window_sumsquare``), so a padded example gives the
    samples it would give alone."""
    window = stft_window(params)
    frames = tf.signal.irfft(spec, [params.n_fft]) * window
    signal = tf.signal.overlap_and_add(frames, params.hop_length)
    norm = tf.signal.overlap_and_add(frame_mask[..., None] * tf.square(window), params.hop_length)
    tiny = np.finfo(np.float32).tiny
    signal = tf.where(norm > tiny, signal / tf.where(norm > tiny, norm, 1.0), signal)
    start = params.n_fft // 2
    return signal[:, start : start + params.hop_length * (tf.shape(spec)[1] - 1)]


def _hash_uniform(shape: tf.Tensor, seed: int) -> tf.Tensor:
    """Uniform [0, 1) values of a hash of (seed, frame, bin): ``[frames, bins]``, the same for
    the first frames whatever ``frames`` is (a counter-based generator)."""
    frames, bins = shape[0], shape[1]
    counter = tf.cast(tf.range(frames)[:, None] * bins + tf.range(bins)[None, :], tf.int64)
    low32 = tf.constant(0xFFFFFFFF, tf.int64)
    band, xor, shift_right = tf.bitwise.bitwise_and, tf.bitwise.bitwise_xor, tf.bitwise.right_shift
    x = band(counter + (seed * 0x9E3779B9 + 0x632BE5AB), low32)
    # "lowbias32" integer mixing (C. Wellons) in 64-bit arithmetic, masked to 32 bits.
    for shift, mult in ((16, 0x7FEB352D), (15, 0x846CA68B)):
        x = band(xor(x, shift_right(x, tf.constant(shift, tf.int64))) * mult, low32)
    x = xor(x, shift_right(x, tf.constant(16, tf.int64)))
    return tf.cast(x, tf.float64) / 2.0**32


def initial_angles(batch: tf.Tensor, frames: tf.Tensor, bins: int, init: str, seed: int) -> tf.Tensor:
    """Unit complex starting phases ``[batch, frames, bins]``."""
    if init == "zeros":
        return tf.ones([batch, frames, bins], tf.complex64)
    phase = tf.cast(2.0 * math.pi * _hash_uniform(tf.stack([frames, bins]), seed), tf.float32)
    angles = tf.complex(tf.cos(phase), tf.sin(phase))
    return tf.tile(angles[None], [batch, 1, 1])


def griffin_lim(
    magnitude: tf.Tensor, lengths: tf.Tensor, spectrogram: SpectrogramParams, params: GriffinLimParams
) -> tuple[tf.Tensor, tf.Tensor]:
    """Phase reconstruction (``librosa.griffinlim``, batched).

    Args:
      magnitude: ``[batch, frames, n_fft // 2 + 1]`` linear ``|STFT|`` (``power`` is applied here).
      lengths: ``[batch]`` valid frames per example.
      spectrogram: the STFT sizes of the features.
      params: iterations, power, momentum, starting phases.

    Returns:
      ``(audio [batch, hop * (frames - 1)] float32, audio_length [batch] int32 =
      hop * (lengths - 1))``; samples past an example's length are 0.
    """
    magnitude = tf.convert_to_tensor(magnitude, tf.float32)
    lengths = tf.cast(lengths, tf.int32)
    shape = tf.shape(magnitude)
    frame_mask = tf.sequence_mask(lengths, shape[1], tf.float32)
    magnitude *= frame_mask[..., None]
    # |S|**power / peak**(power - 1): sharpens relative to the loudest bin of each example and
    # keeps its level (OpenSeq2Seq's plain |S|**1.5 turns a 16-bit recording's STFT, with
    # bins up to ~100, into audio far outside [-1, 1], which a 16-bit WAV clips).
    peak = tf.reduce_max(magnitude, axis=[1, 2], keepdims=True)
    scale = tf.pow(tf.maximum(peak, np.finfo(np.float32).tiny), 1.0 - params.power)
    target = tf.complex(tf.pow(magnitude, params.power) * scale, 0.0)
    audio_length = spectrogram.hop_length * tf.maximum(lengths - 1, 0)
    sample_mask = tf.sequence_mask(audio_length, spectrogram.hop_length * (shape[1] - 1), tf.float32)
    eps = np.finfo(np.float32).tiny
    decay = params.momentum / (1.0 + params.momentum)

    def reconstruct(angles):
        return istft(target * angles, frame_mask, spectrogram) * sample_mask

    def body(i, angles, previous):
        rebuilt = stft(reconstruct(angles), spectrogram)
        update = rebuilt - tf.cast(decay, tf.complex64) * previous
        angles = update / tf.complex(tf.abs(update) + eps, 0.0)
        return i + 1, angles, rebuilt

    angles = initial_angles(shape[0], shape[1], spectrogram.num_bins, params.init, params.seed)
    # librosa starts without momentum (tprev = None): a zero "previous" is the same.
    _, angles, _ = tf.while_loop(
        lambda i, *_: i < params.n_iter,
        body,
        (tf.constant(0), angles, tf.zeros_like(angles)),
        maximum_iterations=params.n_iter,
    )
    audio = reconstruct(angles)
    if params.max_normalization:
        audio /= tf.maximum(tf.reduce_max(tf.abs(audio), axis=1, keepdims=True), eps)
    return audio, audio_length


def features_to_audio(
    features: tf.Tensor, lengths: tf.Tensor, spectrogram: SpectrogramParams, params: GriffinLimParams
) -> tuple[tf.Tensor, tf.Tensor]:
    """Target frames ``[batch, frames, num_features]`` -> ``(audio [batch, samples], audio_length)``."""
    magnitude = features_to_magnitude(features, spectrogram, params.source)
    return griffin_lim(magnitude, lengths, spectrogram, params)
