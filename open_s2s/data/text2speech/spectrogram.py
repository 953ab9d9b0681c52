"""Speech-synthesis targets as TensorFlow ops: trimmed audio -> log mel / magnitude frames.

The transform is OpenSeq2Seq's ``get_speech_features`` (``open_seq2seq/data/text2speech/
speech_utils.py``), done in the graph instead of with librosa in ``tf.py_func``:

1. ``trim`` (optional): leading and trailing frames more than ``trim_top_db`` below the
   loudest frame are cut, exactly as ``librosa.effects.trim(y, top_db,
   frame_length=n_fft // 2, hop_length=hop_length // 2)`` (OpenSeq2Seq's framing).
2. ``|STFT|``: ``librosa.stft(y, n_fft, hop_length, win_length, window="hann",
   center=True, pad_mode="constant")``: ``1 + samples // hop_length`` frames.
3. ``|STFT| ** mag_power``, then per part: mel = ``log(max(mel_basis @ power, data_min))``;
   magnitude = ``log(max(power, data_min))`` of the lowest ``num_magnitude`` bins (with
   ``output_type: "both"`` and ``exp_mag``: ``max(power, data_min)`` without the log).
4. ``feature_normalize``: ``(x - feature_normalize_mean) / feature_normalize_std``.

``open_s2s.decoding.griffin_lim`` inverts steps 4 and 3 and reconstructs the phase.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

OUTPUT_TYPES = ("mel", "magnitude", "both")
MEL_TYPES = ("htk", "slaney")


@dataclass(frozen=True)
class SpectrogramParams:
    """How audio becomes target frames (see the module docstring).

    Attributes:
      sampling_rate: Hz.
      n_fft / win_length / hop_length: STFT sizes in samples (``win_length <= n_fft``; the
        periodic Hann window is zero-padded to ``n_fft`` in the middle, like librosa).
      output_type: ``mel``, ``magnitude`` or ``both`` (frames are ``[mel | magnitude]``).
      num_mel / num_magnitude: features of each part (0 when the part is absent).
      mag_power: exponent of ``|STFT|`` before the mel basis / the log (1 magnitude, 2 power).
      mel_type: ``htk`` (HTK mel scale, unnormalized triangles) or ``slaney`` (Slaney's
        scale, area-normalized triangles: librosa's ``norm="slaney"``).
      fmin / fmax: mel range in Hz (fmax None = Nyquist).
      data_min_mel / data_min_magnitude: floors before the log.
      exp_mag: with ``both``, the magnitude part is linear (``max(power, floor)``).
      feature_normalize / mean / std: ``(x - mean) / std`` after the log.
      trim / trim_top_db: silence trimming before the STFT.
    """

    sampling_rate: int = 16000
    n_fft: int = 1024
    win_length: int = 1024
    hop_length: int = 256
    output_type: str = "mel"
    num_mel: int = 80
    num_magnitude: int = 0
    mag_power: float = 2.0
    mel_type: str = "htk"
    fmin: float = 0.0
    fmax: float | None = None
    data_min_mel: float = 1e-5
    data_min_magnitude: float = 1e-5
    exp_mag: bool = False
    feature_normalize: bool = False
    mean: float = 0.0
    std: float = 1.0
    trim: bool = False
    trim_top_db: float = 60.0

    def __post_init__(self):
        if self.output_type not in OUTPUT_TYPES or self.mel_type not in MEL_TYPES:
            raise ValueError(f"SpectrogramParams: bad output_type {self.output_type!r} or mel_type {self.mel_type!r}")
        if self.win_length > self.n_fft:
            raise ValueError(f"SpectrogramParams: win_length {self.win_length} > n_fft {self.n_fft}")
        if self.num_magnitude > self.num_bins:
            raise ValueError(
                f"SpectrogramParams: {self.num_magnitude} magnitude features > the {self.num_bins} bins of n_fft "
                f"{self.n_fft}"
            )

    @property
    def num_bins(self) -> int:
        """Frequency bins of the STFT."""
        return self.n_fft // 2 + 1

    @property
    def num_features(self) -> int:
        return self.num_mel + self.num_magnitude

    @property
    def frame_seconds(self) -> float:
        return self.hop_length / self.sampling_rate

    def pad_vector(self, pad_value: float | None = None) -> np.ndarray:
        """``[num_features]`` float32: the value of the EOS and padding frames, i.e. each
        part's log floor (or ``pad_value``, in unnormalized units, as OpenSeq2Seq's key),
        after normalization."""
        if pad_value is not None:
            parts = [np.full(self.num_features, pad_value)]
        else:
            mag_floor = self.data_min_magnitude if self.exp_mag else math.log(self.data_min_magnitude)
            parts = [np.full(self.num_mel, math.log(self.data_min_mel)), np.full(self.num_magnitude, mag_floor)]
        vector = np.concatenate(parts)
        if self.feature_normalize:
            vector = (vector - self.mean) / self.std
        return vector.astype(np.float32)


# ---------------------------------------------------------------------------- mel basis


def hz_to_mel(hz, htk: bool):
    hz = np.asanyarray(hz, np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + hz / 700.0)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    logstep = math.log(6.4) / 27.0
    linear = hz / f_sp
    return np.where(
        hz >= min_log_hz, min_log_hz / f_sp + np.log(np.maximum(hz, min_log_hz) / min_log_hz) / logstep, linear
    )


def mel_to_hz(mel, htk: bool):
    mel = np.asanyarray(mel, np.float64)
    if htk:
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), mel * f_sp)


def mel_basis(params: SpectrogramParams) -> np.ndarray:
    """``[num_mel, n_fft // 2 + 1]`` float64, equal to ``librosa.filters.mel(sr, n_fft, n_mels,
    fmin, fmax, htk=mel_type == "htk", norm=None if htk else "slaney")``."""
    htk = params.mel_type == "htk"
    fmax = params.fmax if params.fmax is not None else params.sampling_rate / 2.0
    fft_freqs = np.fft.rfftfreq(params.n_fft, 1.0 / params.sampling_rate)
    mels = np.linspace(hz_to_mel(params.fmin, htk), hz_to_mel(fmax, htk), params.num_mel + 2)
    mel_f = mel_to_hz(mels, htk)
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_freqs)
    weights = np.maximum(0.0, np.minimum(-ramps[:-2] / fdiff[:-1, None], ramps[2:] / fdiff[1:, None]))
    if not htk:
        weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    return weights


# ---------------------------------------------------------------------------- STFT


def stft_window(params: SpectrogramParams) -> tf.Tensor:
    """Periodic Hann of ``win_length`` zero-padded to ``n_fft`` in the middle (librosa's)."""
    window = tf.signal.hann_window(params.win_length, periodic=True)
    left = (params.n_fft - params.win_length) // 2
    return tf.pad(window, [[left, params.n_fft - params.win_length - left]])


def stft(audio: tf.Tensor, params: SpectrogramParams) -> tf.Tensor:
    """``[..., samples]`` -> complex64 ``[..., 1 + samples // hop, n_fft // 2 + 1]``, librosa's
    centered STFT (``n_fft // 2`` zeros on each side)."""
    pad = params.n_fft // 2
    paddings = [[0, 0]] * (audio.shape.rank - 1) + [[pad, pad]]
    frames = tf.signal.frame(tf.pad(audio, paddings), params.n_fft, params.hop_length)
    return tf.signal.rfft(frames * stft_window(params), [params.n_fft])


def num_frames(num_samples, params: SpectrogramParams):
    """Frames of ``num_samples`` samples (tensor or numpy/int)."""
    return 1 + num_samples // params.hop_length


# ---------------------------------------------------------------------------- trim


def trim_bounds(audio: tf.Tensor, params: SpectrogramParams) -> tuple[tf.Tensor, tf.Tensor]:
    """``(start, end)`` sample indices of ``librosa.effects.trim(audio, top_db=trim_top_db,
    frame_length=n_fft // 2, hop_length=hop_length // 2)`` for a 1-D ``audio``."""
    frame_length, hop = params.n_fft // 2, max(params.hop_length // 2, 1)
    n = tf.shape(audio)[0]
    padded = tf.pad(audio, [[frame_length // 2, frame_length // 2]])
    frames = tf.signal.frame(padded, frame_length, hop)
    power = tf.reduce_mean(tf.square(frames), axis=-1)  # rms ** 2
    # librosa.amplitude_to_db(rms, ref=np.max): 10 log10(max(1e-10, rms^2) / max(1e-10, max rms^2))
    floor = tf.constant(1e-10, power.dtype)
    db = 10.0 * (_log10(tf.maximum(power, floor)) - _log10(tf.maximum(tf.reduce_max(power), floor)))
    loud = tf.cast(tf.where(db > -params.trim_top_db)[:, 0], tf.int32)
    start = tf.cond(tf.size(loud) > 0, lambda: loud[0] * hop, lambda: 0)
    end = tf.cond(tf.size(loud) > 0, lambda: tf.minimum(n, (loud[-1] + 1) * hop), lambda: 0)
    return start, end


def _log10(x: tf.Tensor) -> tf.Tensor:
    return tf.math.log(x) / tf.math.log(tf.constant(10.0, x.dtype))


def trim_silence(audio: tf.Tensor, params: SpectrogramParams) -> tf.Tensor:
    start, end = trim_bounds(audio, params)
    return audio[start:end]


# ---------------------------------------------------------------------------- features


def features_from_magnitude(magnitude: tf.Tensor, params: SpectrogramParams) -> tf.Tensor:
    """``|STFT|`` ``[..., frames, bins]`` -> target frames ``[..., frames, num_features]``."""
    power = magnitude if params.mag_power == 1 else tf.pow(magnitude, params.mag_power)
    parts = []
    if params.num_mel:
        basis = tf.constant(mel_basis(params).T, power.dtype)
        parts.append(tf.math.log(tf.maximum(tf.matmul(power, basis), params.data_min_mel)))
    if params.num_magnitude:
        linear = tf.maximum(power[..., : params.num_magnitude], params.data_min_magnitude)
        parts.append(linear if params.exp_mag else tf.math.log(linear))
    features = parts[0] if len(parts) == 1 else tf.concat(parts, axis=-1)
    if params.feature_normalize:
        features = (features - params.mean) / params.std
    return features


def compute_features(audio: tf.Tensor, params: SpectrogramParams) -> tf.Tensor:
    """``[samples]`` float32 -> ``[frames, num_features]`` float32 (trimmed if ``trim``)."""
    if params.trim:
        audio = trim_silence(audio, params)
    return features_from_magnitude(tf.abs(stft(audio, params)), params)
