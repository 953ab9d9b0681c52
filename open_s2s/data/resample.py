"""Band-limited resampling in the graph, for SavedModels that take audio at any common rate.

Output sample ``n`` is the input interpolated at ``t_n = n * rate / target`` (input samples):
``y[n] = sum_k x[k] h(t_n - k)`` with ``h(t) = f_c sinc(f_c t) w(t / T)``, a Kaiser-windowed
sinc low-pass at ``f_c = rolloff * min(1, target / rate)`` of the input Nyquist frequency,
``T = zeros / f_c`` input samples wide (the windowed-sinc design of Smith's "Digital Audio
Resampling", as in resampy). For ``target / rate = L / M`` in lowest terms the outputs
``p, p + L, p + 2L, ...`` all use the same taps (phase ``p``), so the whole resampler is one
strided ``conv1d``: stride ``M``, ``L`` output channels, one per phase; no sample depends on
how much padding follows it.

The kernel depends on the rate pair, so a graph holds one per rate it accepts
(``SUPPORTED_RATES``) and picks it with ``tf.switch_case``; another rate fails with a
message that names the accepted ones.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

SUPPORTED_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
ZEROS = 32  # zero crossings of the sinc on each side (at the cutoff)
ROLLOFF = 0.95  # cutoff as a fraction of the lower Nyquist frequency (the transition band below it)
KAISER_BETA = 9.0  # ~ -90 dB side lobes


def polyphase_kernel(rate: int, target: int) -> tuple[np.ndarray, int, int, int]:
    """``(kernel [R, 1, L] float32, L, M, left padding)`` of the conv1d that resamples ``rate`` -> ``target``."""
    g = math.gcd(rate, target)
    up, down = target // g, rate // g
    cutoff = ROLLOFF * min(1.0, up / down)
    half = int(math.ceil(ZEROS / cutoff))  # taps on each side of t_n
    phases = np.arange(up)
    base = (phases * down) // up
    frac = (phases * down) / up - base
    j = np.arange(-half + 1, half + 1)  # input sample offsets from floor(t_n)
    t = frac[:, None] - j[None, :]  # [L, 2 * half]
    width = ZEROS / cutoff  # T: the window ends at the ZEROS-th zero crossing
    inside = np.clip(1.0 - (t / width) ** 2, 0.0, None)
    window = np.where(np.abs(t) <= width, np.i0(KAISER_BETA * np.sqrt(inside)) / np.i0(KAISER_BETA), 0.0)
    taps = cutoff * np.sinc(cutoff * t) * window
    length = int(base.max()) + 2 * half
    kernel = np.zeros([length, 1, up], np.float64)
    for p in range(up):
        kernel[base[p] : base[p] + 2 * half, 0, p] = taps[p]
    return kernel.astype(np.float32), up, down, half - 1


def resample_fixed(audio: tf.Tensor, rate: int, target: int) -> tf.Tensor:
    """``[batch, samples]`` at ``rate`` -> ``[batch, ceil(samples * target / rate)]`` at ``target``."""
    audio = tf.convert_to_tensor(audio, tf.float32)
    if rate == target:
        return audio
    kernel, up, down, left = polyphase_kernel(rate, target)
    n = tf.shape(audio)[1]
    out_len = (n * up + down - 1) // down
    frames = (out_len + up - 1) // up  # conv outputs needed (each gives L samples)
    right = tf.maximum(frames * down + kernel.shape[0] - n - left, 0)
    padded = tf.pad(audio, [[0, 0], [left, 0]])
    padded = tf.pad(padded, [[0, 0], [0, right]])
    y = tf.nn.conv1d(padded[..., None], tf.constant(kernel), stride=down, padding="VALID")
    y = tf.reshape(y[:, :frames], [tf.shape(audio)[0], frames * up])
    return y[:, :out_len]


def resample(audio: tf.Tensor, audio_length: tf.Tensor, rate: tf.Tensor, target: int) -> tuple[tf.Tensor, tf.Tensor]:
    """``[batch, samples]`` audio at the scalar ``rate`` (one of ``SUPPORTED_RATES``) -> ``(audio at
    target, lengths)``; the lengths scale with the rate (rounded up)."""
    rates = list(SUPPORTED_RATES)
    if target not in rates:
        rates.append(target)
    rate = tf.cast(rate, tf.int32)
    matches = tf.cast(tf.equal(tf.constant(rates), rate), tf.int32)
    check = tf.debugging.assert_equal(
        tf.reduce_sum(matches),
        1,
        message=f"sample_rate is not one of {rates} Hz; resample the audio to {target} Hz first",
    )
    with tf.control_dependencies([check]):
        index = tf.argmax(matches, output_type=tf.int32)
    branches = [lambda r=r: resample_fixed(audio, r, target) for r in rates]
    out = tf.switch_case(index, branches)
    lengths = tf.cast(audio_length, tf.int64) * target
    lengths = tf.cast((lengths + tf.cast(rate, tf.int64) - 1) // tf.cast(rate, tf.int64), tf.int32)
    return out, tf.minimum(lengths, tf.shape(out)[1])


# Inputs of a serving signature that takes audio at any supported rate and channel count.
ANY_RATE_SIGNATURE = (
    tf.TensorSpec([None, None, None], tf.float32, name="audio"),  # [batch, samples, channels]
    tf.TensorSpec([None], tf.int32, name="audio_length"),
    tf.TensorSpec([], tf.int32, name="sample_rate"),
)


def mix_down(audio: tf.Tensor) -> tf.Tensor:
    """``[batch, samples, channels]`` -> ``[batch, samples]`` (channel mean)."""
    return tf.reduce_mean(tf.convert_to_tensor(audio, tf.float32), axis=2)
