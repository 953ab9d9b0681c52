"""Audio decoding, speech features and SpecAugment as TensorFlow graph ops.

Everything on the hot path is a TF op (``tf.signal``, WAV parsed with ``tf.io``), so the same
code runs in the ``tf.data`` pipeline and inside an exported SavedModel. The compressed formats
(FLAC, OGG/Vorbis, MP3) are decoded by tensorflow-io's ops where they load, otherwise by
soundfile (libsndfile) inside ``tf.data`` (``open_s2s.data.compressed_audio``).

Framing convention (the single source of truth is ``frame_lengths``): frames are
``num_fft`` samples long, start every ``hop = round(window_stride * sample_freq)``
samples at sample 0 (no centering, no reflection padding), and the window of
``round(window_size * sample_freq)`` samples is zero-padded to ``num_fft`` in the middle
of the frame. This is exactly ``librosa.stft(..., center=False)``. An utterance of ``n``
samples has ``1 + max(n - num_fft, 0) // hop`` frames; one shorter than ``num_fft`` gets
a single zero-padded frame.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

# Augmentations moved to open_s2s.data.augmentation; re-exported for existing imports.
from open_s2s.data import compressed_audio
from open_s2s.data.augmentation import frequency_warp, spec_augment  # noqa: F401

FORMATS = ("wav", "flac", "ogg", "mp3")
_EXTENSIONS = {".wav": "wav", ".wave": "wav", ".flac": "flac", ".ogg": "ogg", ".oga": "ogg", ".mp3": "mp3"}
# soundfile subtypes each decoder handles (the in-graph WAV decoder reads 16-bit PCM only).
_SUBTYPES = {"wav": ("PCM_16",), "flac": ("PCM_16", "PCM_24"), "ogg": ("VORBIS",), "mp3": ("MPEG_LAYER_III",)}


class DataError(ValueError):
    """Bad input data (a CSV row, an audio file), found at load time."""


# ---------------------------------------------------------------------------- decoding


def audio_format(path: str) -> str:
    """Returns the format ('wav', 'flac', 'ogg' or 'mp3') named by ``path``'s extension."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in _EXTENSIONS:
        raise DataError(f"unsupported audio extension {ext!r} of {path} (supported: {sorted(_EXTENSIONS)})")
    return _EXTENSIONS[ext]


@dataclass(frozen=True)
class AudioInfo:
    """Header facts of one audio file (from ``soundfile.info``)."""

    sample_rate: int
    num_samples: int
    channels: int
    format: str
    pcm_offset: int = -1  # 16-bit WAV: byte offset of the samples in the file (see decode_pcm16)
    pcm_bytes: int = 0  # and their length in bytes (whole frames)

    @property
    def duration(self) -> float:
        return self.num_samples / self.sample_rate


def read_audio_info(path: str) -> AudioInfo:
    """Reads an audio header with soundfile (fast: no decoding).

    Raises:
      DataError: unreadable/corrupt file, or an encoding the graph decoders cannot read.
    """
    import soundfile  # load-time only

    fmt = audio_format(path)
    try:
        info = soundfile.info(path)
    except Exception as e:  # soundfile raises RuntimeError subclasses with libsndfile text
        raise DataError(f"cannot read audio file {path}: {e}") from e
    if info.subtype not in _SUBTYPES[fmt]:
        raise DataError(
            f"{path}: {fmt} subtype {info.subtype} is not supported (need one of {_SUBTYPES[fmt]}); "
            f"convert it, e.g. `sox {path} -b 16 out.wav`"
        )
    offset, nbytes = _wav_samples_location(path, int(info.channels)) if fmt == "wav" else (-1, 0)
    return AudioInfo(int(info.samplerate), int(info.frames), int(info.channels), fmt, offset, nbytes)


def _wav_samples_location(path: str, channels: int) -> tuple[int, int]:
    """(byte offset, byte count) of a WAV's ``data`` chunk, by the rules of ``_decode_wav``:
    RIFF chunks are word-aligned; a size of 0 or past the end (streamed files) means "to the
    end"; a trailing partial frame is dropped."""
    with open(path, "rb") as f:
        end = f.seek(0, os.SEEK_END)
        pos = 12
        for _ in range(64):
            f.seek(pos)
            header = f.read(8)
            if len(header) < 8:
                break
            size = int.from_bytes(header[4:], "little")
            if header[:4] == b"data":
                available = end - pos - 8
                size = available if size <= 0 or size > available else size
                return pos + 8, size - size % (2 * channels)
            pos += 8 + size + size % 2
    raise DataError(f"{path}: no 'data' chunk in the first 64 RIFF chunks")


def decode_pcm16(path, offset, nbytes, channels=1) -> tf.Tensor:
    """Mono float32 samples of a 16-bit PCM WAV whose samples ``read_audio_info`` located
    (``pcm_offset``, ``pcm_bytes``): the same values as ``decode_audio``, without parsing the
    header in the graph, which costs more than the decoding itself (1.7 of 3.1 CPU-ms per 16
    utterances). ``channels`` is a Python int or a tensor."""
    raw = tf.strings.substr(tf.io.read_file(path), offset, nbytes)
    audio = tf.cast(tf.io.decode_raw(raw, tf.int16, little_endian=True), tf.float32) / 32768.0
    if isinstance(channels, int) and channels == 1:
        return audio
    return _mono(tf.reshape(audio, [-1, channels]))


def decode_audio(path_or_bytes: Any, file_format: str | None = None, *, is_path: bool | None = None):
    """Decodes an audio file to mono float32 samples.

    WAV (16-bit PCM) is parsed in the graph; FLAC, OGG/Vorbis and MP3 use tensorflow-io
    where its ops load, soundfile otherwise (``compressed_audio``: same samples, and the
    scaling, mono mix and rate are this module's). Multi-channel audio is averaged to mono.

    Args:
      path_or_bytes: a path or the file's bytes: Python ``str`` (path), ``bytes``
        (contents) or a scalar string tensor (a path unless ``is_path=False``).
      file_format: one of ``FORMATS``; ``None`` = from the extension of a Python path,
        else sniffed in-graph from the magic bytes (RIFF/fLaC/OggS, otherwise MP3).
      is_path: overrides the path/contents guess above.

    Returns:
      ``(samples [num_samples] float32 in [-1, 1], sample_rate [] int32)``. For MP3 the
      rate is read from the first frame header after an ID3v2 tag (best effort).
    """
    if is_path is None:
        is_path = not isinstance(path_or_bytes, bytes)
    if file_format is None and is_path and isinstance(path_or_bytes, str):
        file_format = audio_format(path_or_bytes)
    contents = tf.io.read_file(path_or_bytes) if is_path else tf.convert_to_tensor(path_or_bytes, tf.string)
    if file_format is not None:
        return _DECODERS[file_format](contents)
    magic = tf.constant([b"RIFF", b"fLaC", b"OggS"])
    index = tf.reduce_min(tf.where(tf.equal(magic, tf.strings.substr(contents, 0, 4)), [0, 1, 2], 3))
    return tf.switch_case(index, [lambda f=f: _DECODERS[f](contents) for f in FORMATS])


def _mono(audio: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(tf.cast(audio, tf.float32), axis=1)


def _header_bytes(contents: tf.Tensor, offset, n: int) -> tf.Tensor:
    """``n`` bytes of ``contents`` from ``offset`` as int32 ``[n]``."""
    return tf.cast(tf.io.decode_raw(tf.strings.substr(contents, offset, n), tf.uint8), tf.int32)


def _le_uint(contents: tf.Tensor, offset, n: int) -> tf.Tensor:
    """Little-endian unsigned integer of ``n`` (2 or 4) bytes at ``offset``, as int64."""
    b = tf.cast(_header_bytes(contents, offset, n), tf.int64)
    return tf.reduce_sum(b * tf.constant([1, 1 << 8, 1 << 16, 1 << 24][:n], tf.int64))


def _find_chunk(contents: tf.Tensor, name: bytes) -> tf.Tensor:
    """Offset of the RIFF chunk ``name`` (walks the chunk list from byte 12)."""

    def body(pos):
        size = tf.cast(_le_uint(contents, pos + 4, 4), tf.int32)
        return (pos + 8 + size + size % 2,)

    (pos,) = tf.while_loop(
        lambda pos: tf.strings.substr(contents, pos, 4) != name, body, (tf.constant(12),), maximum_iterations=64
    )
    return pos


def _decode_wav(contents):
    """16-bit PCM WAV (checked at load time by ``read_audio_info``).

    Reinterprets the ``data`` chunk's bytes (several times cheaper than
    ``tf.audio.decode_wav``, same values: ``int16 / 32768``); ``fmt `` gives the channels
    and rate. A data size of 0 or past the end (streamed files) means "to the end".
    """
    fmt = _find_chunk(contents, b"fmt ")
    channels = tf.cast(_le_uint(contents, fmt + 10, 2), tf.int32)
    rate = tf.cast(_le_uint(contents, fmt + 12, 4), tf.int32)
    data = _find_chunk(contents, b"data")
    available = tf.strings.length(contents) - data - 8
    size = tf.cast(_le_uint(contents, data + 4, 4), tf.int32)
    size = tf.where((size <= 0) | (size > available), available, size)
    size -= size % (2 * channels)
    samples = tf.io.decode_raw(tf.strings.substr(contents, data + 8, size), tf.int16, little_endian=True)
    audio = tf.reshape(tf.cast(samples, tf.float32) / 32768.0, [-1, channels])
    return _mono(audio), rate


def _decode_flac(contents):
    b = _header_bytes(contents, 18, 4)  # STREAMINFO: 20-bit rate, 3-bit channels, 5-bit bits-1
    rate = b[0] * 4096 + b[1] * 16 + b[2] // 16
    bits = (b[2] % 2) * 16 + b[3] // 16 + 1
    audio = tf.cond(
        bits <= 16,
        lambda: _mono(compressed_audio.decode(contents, "flac", tf.int16)) / 2.0**15,
        lambda: _mono(compressed_audio.decode(contents, "flac", tf.int32)) / 2.0**31,
    )
    return audio, rate


def _decode_ogg(contents):
    segments = _header_bytes(contents, 26, 1)[0]  # Vorbis id header follows the segment table
    rate = tf.reduce_sum(_header_bytes(contents, 27 + segments + 12, 4) * [1, 1 << 8, 1 << 16, 1 << 24])
    return _mono(compressed_audio.decode(contents, "ogg")), rate


def _decode_mp3(contents):
    tag = _header_bytes(contents, 0, 10)
    has_id3 = tf.equal(tf.strings.substr(contents, 0, 3), b"ID3")
    id3_size = tf.reduce_sum(tag[6:] * [1 << 21, 1 << 14, 1 << 7, 1]) + 10 + 10 * (tag[5] // 16 % 2)
    h = _header_bytes(contents, tf.where(has_id3, id3_size, 0), 4)
    rates = tf.constant([[11025, 12000, 8000], [0, 0, 0], [22050, 24000, 16000], [44100, 48000, 32000]])
    rate = rates[h[1] // 8 % 4, tf.minimum(h[2] // 4 % 4, 2)]
    return _mono(compressed_audio.decode(contents, "mp3")), rate


_DECODERS = {"wav": _decode_wav, "flac": _decode_flac, "ogg": _decode_ogg, "mp3": _decode_mp3}


# ---------------------------------------------------------------------------- features


@dataclass(frozen=True)
class FeatureParams:
    """How raw audio becomes features (see the module docstring for the framing).

    Attributes:
      input_type: 'spectrogram' (log power, lowest bins), 'logfbank' (log mel) or 'mfcc'.
      num_audio_features: feature dimension F.
      sample_freq: expected sample rate in Hz.
      window_size / window_stride: seconds.
      num_fft: FFT length; None = the window length for 'spectrogram' (OpenSeq2Seq's FFT:
        bins ``sample_freq / win_length`` apart up to ``sample_freq / 2``), the next power of
        two >= the window length for 'logfbank' and 'mfcc'.
      dither: std of the noise added to the samples, in training only (``dither_noise``).
      preemph: pre-emphasis coefficient (``y[t] = x[t] - preemph * x[t-1]``); None = off.
      norm_per_feature: per-utterance mean/std normalisation over valid frames.
      subtract_mean_per_feature: per-utterance mean subtraction only (no division), when
        ``norm_per_feature`` is off.
      window: 'hanning' (periodic Hann), 'hamming' or 'none'.
      mel_fmin / mel_fmax: mel filterbank range in Hz; fmax None = sample_freq / 2.
      num_mels: mel bands for 'mfcc'; None = 2 * num_audio_features (OpenSeq2Seq).
      log_zero_guard: added before the log.
    """

    input_type: str = "logfbank"
    num_audio_features: int = 64
    sample_freq: int = 16000
    window_size: float = 0.02
    window_stride: float = 0.01
    num_fft: int | None = None
    dither: float = 1e-5
    preemph: float | None = 0.97
    norm_per_feature: bool = True
    subtract_mean_per_feature: bool = False
    window: str = "hanning"
    mel_fmin: float = 0.0
    mel_fmax: float | None = None
    num_mels: int | None = None
    log_zero_guard: float = 2.0**-24

    def __post_init__(self):
        if self.input_type not in ("spectrogram", "logfbank", "mfcc"):
            raise ValueError(f"FeatureParams: unknown input_type {self.input_type!r}")
        if self.window not in _WINDOWS:
            raise ValueError(f"FeatureParams: window must be one of {sorted(_WINDOWS)}, got {self.window!r}")
        if self.win_length > self.fft_length:
            raise ValueError(f"FeatureParams: num_fft {self.fft_length} < window length {self.win_length}")
        if self.input_type == "spectrogram" and self.num_audio_features > self.fft_length // 2 + 1:
            raise ValueError(
                f"FeatureParams: num_audio_features {self.num_audio_features} > {self.fft_length // 2 + 1} "
                f"spectrogram bins of num_fft {self.fft_length}"
            )

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> FeatureParams:
        """Builds from a data layer's params; keys that are not fields are ignored."""
        return cls(**{f.name: params[f.name] for f in dataclasses.fields(cls) if f.name in params})

    @property
    def win_length(self) -> int:
        return round(self.window_size * self.sample_freq)

    @property
    def hop_length(self) -> int:
        return round(self.window_stride * self.sample_freq)

    @property
    def fft_length(self) -> int:
        if self.num_fft:
            return self.num_fft
        if self.input_type == "spectrogram":
            # OpenSeq2Seq's spectrogram used n_fft = window length (320 points at 20 ms and
            # 16 kHz: 161 bins to 8 kHz). A 512-point FFT would make DeepSpeech2's 160 kept
            # bins end at 5 kHz.
            return self.win_length
        return 1 << (self.win_length - 1).bit_length()

    @property
    def mel_bins(self) -> int:
        if self.input_type == "mfcc":
            return self.num_mels or 2 * self.num_audio_features
        return self.num_audio_features


_WINDOWS = {"hanning": tf.signal.hann_window, "hamming": tf.signal.hamming_window, "none": None}


def frame_lengths(audio_length, params: FeatureParams):
    """Number of feature frames of utterances of ``audio_length`` samples.

    Args:
      audio_length: int tensor of any shape, or Python int / numpy array.

    Returns:
      Same shape: int32 tensor for tensor input, numpy/int otherwise.
    """
    if tf.is_tensor(audio_length):
        n = tf.cast(audio_length, tf.int32)
        return 1 + tf.maximum(n - params.fft_length, 0) // params.hop_length
    return 1 + np.maximum(np.asarray(audio_length) - params.fft_length, 0) // params.hop_length


def mel_matrix(params: FeatureParams) -> np.ndarray:
    """Slaney-style mel filterbank ``[num_fft // 2 + 1, mel_bins]`` float32.

    Same maths as ``librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False,
    norm='slaney')`` (transposed), without importing librosa.
    """
    sr, n_fft, n_mels = params.sample_freq, params.fft_length, params.mel_bins
    fmax = params.mel_fmax if params.mel_fmax is not None else sr / 2.0
    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(params.mel_fmin), _hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_freqs)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    return weights.T.astype(np.float32)


_F_SP, _MIN_LOG_HZ, _LOGSTEP = 200.0 / 3, 1000.0, np.log(6.4) / 27.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP


def _hz_to_mel(hz):
    hz = np.asanyarray(hz, np.float64)
    log_part = _MIN_LOG_MEL + np.log(np.maximum(hz, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(hz >= _MIN_LOG_HZ, log_part, hz / _F_SP)


def _mel_to_hz(mel):
    mel = np.asanyarray(mel, np.float64)
    log_part = _MIN_LOG_HZ * np.exp(_LOGSTEP * (np.maximum(mel, _MIN_LOG_MEL) - _MIN_LOG_MEL))
    return np.where(mel >= _MIN_LOG_MEL, log_part, mel * _F_SP)


def _window(params: FeatureParams) -> tf.Tensor:
    """The window, zero-padded on both sides to ``num_fft`` (like librosa)."""
    fn = _WINDOWS[params.window]
    win = tf.ones([params.win_length]) if fn is None else fn(params.win_length, periodic=True)
    left = (params.fft_length - params.win_length) // 2
    return tf.pad(win, [[left, params.fft_length - params.win_length - left]])


def power_spectrum(audio: tf.Tensor, params: FeatureParams) -> tf.Tensor:
    """``[batch, samples]`` -> power spectrum ``[batch, frames, num_fft // 2 + 1]``.

    Produces ``frame_lengths(samples)`` frames (zero-pads inputs shorter than num_fft).
    """
    n_fft = params.fft_length
    audio = tf.pad(audio, [[0, 0], [0, tf.maximum(n_fft - tf.shape(audio)[1], 0)]])
    frames = tf.signal.frame(audio, n_fft, params.hop_length) * _window(params)
    spec = tf.signal.rfft(frames, [n_fft])
    return tf.square(tf.math.real(spec)) + tf.square(tf.math.imag(spec))


def _power_to_features(power: tf.Tensor, params: FeatureParams) -> tf.Tensor:
    num = params.num_audio_features
    if params.input_type == "spectrogram":
        return tf.math.log(power[..., :num] + params.log_zero_guard)
    log_mel = tf.math.log(tf.matmul(power, tf.constant(mel_matrix(params))) + params.log_zero_guard)
    if params.input_type == "logfbank":
        return log_mel
    return tf.signal.dct(log_mel, type=2, norm="ortho")[..., :num]


def _normalize(features: tf.Tensor, mask: tf.Tensor, divide: bool = True) -> tf.Tensor:
    """Per-utterance, per-feature mean (and std) over the frames where ``mask`` is 1."""
    count = tf.maximum(tf.reduce_sum(mask, axis=1, keepdims=True), 1.0)  # exact: a sum of ones
    mean = _sum_over_valid_frames(features * mask, count) / count
    if not divide:
        return features - mean
    var = _sum_over_valid_frames(tf.square((features - mean) * mask), count) / count
    return (features - mean) / (tf.sqrt(var) + 1e-5)


_SUM_BLOCK = 64  # frames


def _sum_over_valid_frames(x: tf.Tensor, count: tf.Tensor) -> tf.Tensor:
    """``[batch, frames, F]`` (zero past each length) -> ``[batch, 1, F]`` sums of the first ``count`` frames.

    Not ``reduce_sum`` over the padded axis: its summation order depends on the padded length,
    so a sequence's features moved by ~1e-6 with the batch it came in, enough for a weakly trained
    network to change a transcript between --mode=infer and the Python API. Here the frames are
    summed in fixed blocks of 64 that start at frame 0 (a block's sum depends only on its
    frames), then a running sum over the blocks is read at the last valid block: the same
    numbers added in the same order whatever padding follows. A running sum over all frames
    (``cumsum``) is exact too, but its scan took 2.6 of the 6.5 CPU-ms that the features of
    16 utterances take here; the normalization now takes 0.4. Float32 only: TFLite has no float64
    kernels.
    """
    frames = tf.shape(x)[1]
    x = tf.pad(x, [[0, 0], [0, -frames % _SUM_BLOCK], [0, 0]])
    blocks = tf.reduce_sum(tf.reshape(x, [tf.shape(x)[0], -1, _SUM_BLOCK, x.shape[-1]]), axis=2)
    last = (tf.cast(count[:, 0, 0], tf.int32) - 1) // _SUM_BLOCK
    return tf.gather(tf.cumsum(blocks, axis=1), last, axis=1, batch_dims=1)[:, None, :]


def compute_features(audio, audio_length, params: FeatureParams, training: bool = False):
    """Batched speech features that respect each example's length.

    Samples at or past ``audio_length`` never influence valid frames, and frames at or
    past the returned length are zero. Works with unknown batch and time dimensions.

    Args:
      audio: ``[batch, samples]`` float32 in [-1, 1], zero-padded.
      audio_length: ``[batch]`` int, valid samples per example.
      params: the FeatureParams.
      training: adds ``params.dither`` noise (see ``dither_noise``) when True.

    Returns:
      ``(features [batch, frames, num_audio_features] float32, lengths [batch] int32)``.
    """
    audio = tf.convert_to_tensor(audio, tf.float32)
    audio_length = tf.cast(audio_length, tf.int32)
    if training and params.dither > 0:
        audio += dither_noise(tf.shape(audio), params.dither)
    if params.preemph:
        audio = tf.concat([audio[:, :1], audio[:, 1:] - params.preemph * audio[:, :-1]], axis=1)
    audio *= tf.sequence_mask(audio_length, tf.shape(audio)[1], tf.float32)
    features = _power_to_features(power_spectrum(audio, params), params)
    lengths = frame_lengths(audio_length, params)
    mask = tf.sequence_mask(lengths, tf.shape(features)[1], tf.float32)[..., None]
    if params.norm_per_feature:
        features = _normalize(features, mask)
    elif params.subtract_mean_per_feature:
        features = _normalize(features, mask, divide=False)
    return features * mask, lengths


def dither_noise(shape, std: float) -> tf.Tensor:
    """Zero-mean noise of standard deviation ``std``, uniform on 256 evenly spaced levels.

    Dither only has to keep digital silence and quantization steps off ``log(0)``; its
    distribution does not matter at 1e-5. Drawing the random bits is what costs here
    (≈ 3 ns per 32-bit number on one core), so each 32-bit draw gives four 8-bit levels:
    0.85 CPU-ms for a batch of 55 s of audio, against 2.6 for one float32 uniform per sample
    and 8.6 for a Gaussian, which was the largest single cost of the training input pipeline.
    """
    shape = tf.convert_to_tensor(shape, tf.int32)
    size = tf.reduce_prod(shape)
    seed = tf.random.uniform([2], maxval=tf.int32.max, dtype=tf.int32)
    bits = tf.random.stateless_uniform([(size + 3) // 4], seed, minval=None, maxval=None, dtype=tf.int32)
    levels = tf.reshape(tf.reshape(tf.bitcast(bits, tf.uint8), [-1])[:size], shape)
    return (tf.cast(levels, tf.float32) - 127.5) * (std / _BYTE_STD)


_BYTE_STD = ((256**2 - 1) / 12) ** 0.5  # std of a uniform draw from 0..255


def compute_features_single(audio, params: FeatureParams, training: bool = False):
    """Unbatched ``compute_features``: ``[samples]`` -> ``([frames, F], length [] int32)``."""
    audio = tf.convert_to_tensor(audio, tf.float32)
    features, lengths = compute_features(audio[None], tf.shape(audio)[:1], params, training)
    return features[0], lengths[0]
