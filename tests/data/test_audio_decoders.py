"""The two decoders of the compressed formats: tensorflow-io's ops and the soundfile fallback.

tensorflow-io's kernels do not load on TensorFlow >= 2.18 (tensorflow/io#2104), so
``open_s2s.data.compressed_audio`` probes them once (``tfio_usable``) and otherwise decodes FLAC,
OGG and MP3 with soundfile inside the graph. The fallback tests force the probe's answer, so they run
on both stacks; the comparison with tensorflow-io runs where its ops load (the tf216 stack).

References: the integer samples written (FLAC is lossless), the original signal (lossy codecs,
to their quality), libsndfile's own decode read with ``soundfile.read`` (the fallback must pass
it through unchanged: layout, mono mix, dtype), and tensorflow-io's decoders.
"""

from __future__ import annotations

import io
import sys
import types

import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

from open_s2s.data import audio as A
from open_s2s.data import compressed_audio as C

SR = 16000
LOSSY = {"ogg": "VORBIS", "mp3": "MPEG_LAYER_III"}
# tensorflow-io against soundfile on the same lossy file. Both decode the same bitstream with
# float32 synthesis (Vorbis: libvorbis in both, an inverse MDCT of up to 2048 points through an
# FFT, ~11 rounding stages; MP3: minimp3 against mpg123, per output sample an 18-term IMDCT sum,
# a 32-term matrixing sum and a 16-term window sum), so they may differ by the rounding of those
# sums: at most ~ stages * 2**-24 * (sum of |terms| <= a few full scales), i.e. a few 1e-6. The
# bounds below are that estimate; measured on the tf216 stack (mono, stereo): OGG 1.5e-7, 8.9e-8;
# MP3 4.8e-7, 2.4e-7.
TFIO_TOL = {"ogg": 2e-6, "mp3": 4e-6}
# Lossy codecs against the original signal: the codec's own error at libsndfile's default
# quality, as signal-to-error ratio over the file. Measured with libsndfile 1.2.2: OGG 20.7 dB
# (mono) / 21.2 dB (stereo), MP3 17.7 / 20.2 dB (the white-noise part codes worst). A decoder
# that drops a channel gives ~0 dB, one off by a factor 2 in scale 6 dB; 12 dB leaves room for
# another encoder build.
MIN_SNR_DB = 12.0


def _signal(channels: int, seconds: float = 1.5) -> np.ndarray:
    """``[samples, channels]`` float in [-1, 1): a windowed tone plus noise, and on the right
    channel another tone, so that a swapped, dropped or unmixed channel shows."""
    rng = np.random.default_rng(channels)
    t = np.arange(int(SR * seconds)) / SR
    left = 0.5 * np.sin(2 * np.pi * 440 * t) * np.hanning(len(t)) + 0.05 * rng.standard_normal(len(t))
    right = 0.3 * np.sin(2 * np.pi * 1234 * t + 1.0)
    return np.clip(np.stack([left, right], 1)[:, :channels], -1, 1 - 2**-15)


def _encode(samples: np.ndarray, fmt: str, subtype: str) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, SR, format=fmt.upper(), subtype=subtype)
    return buffer.getvalue()


def _mono(x: np.ndarray) -> np.ndarray:
    """Channel average in float32, as the graph's ``reduce_mean`` (exact for 1 or 2 channels)."""
    return np.mean(x.astype(np.float32), axis=1, dtype=np.float32)


def _all_ways(path: str, data: bytes) -> list[tuple[str, np.ndarray, int]]:
    """The decode of one file by every entry point: Python path (format from the extension),
    path tensor with the format sniffed in a traced function, bytes, and inside tf.data."""
    samples, rate = A.decode_audio(path)
    sniffed, rate_t = tf.function(lambda p: A.decode_audio(p))(tf.constant(path))
    from_bytes, rate_b = A.decode_audio(data)
    ds = tf.data.Dataset.from_tensor_slices([path, path]).map(
        lambda p: A.decode_audio(p, is_path=True), num_parallel_calls=2
    )
    out = [("path", samples, rate), ("sniffed", sniffed, rate_t), ("bytes", from_bytes, rate_b)]
    out += [(f"tf.data[{i}]", s, r) for i, (s, r) in enumerate(ds)]
    return [(name, np.asarray(s), int(r)) for name, s, r in out]


@pytest.fixture
def fallback(monkeypatch):
    """Forces the soundfile decoders, and fails any use of tensorflow-io."""

    def no_tfio():
        raise AssertionError("tensorflow-io used although the probe said it is unusable")

    monkeypatch.setattr(C, "tfio_usable", lambda: False)
    monkeypatch.setattr(C, "tfio", no_tfio)


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("bits", [16, 24])
def test_fallback_flac_is_lossless(fallback, tmp_path, bits, channels):
    """FLAC through soundfile gives exactly the integers written, scaled by 2**-(bits-1)."""
    full = 2 ** (bits - 1)
    ints = np.round(_signal(channels) * full).astype(np.int32)
    path = tmp_path / "x.flac"
    sf.write(path, ints << (32 - bits), SR, subtype=f"PCM_{bits}")  # int32 input is left-justified
    assert sf.info(path).subtype == f"PCM_{bits}"
    expected = _mono(ints.astype(np.float32) / np.float32(full))
    for name, samples, rate in _all_ways(str(path), path.read_bytes()):
        assert rate == SR, name
        assert samples.dtype == np.float32, name
        np.testing.assert_array_equal(samples, expected, err_msg=name)


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("fmt", sorted(LOSSY))
def test_fallback_lossy_formats(fallback, tmp_path, fmt, channels):
    """OGG/MP3 through soundfile: libsndfile's decode unchanged (mono mix in float32), the
    original signal to the codec's quality, the rate from the header."""
    if fmt.upper() not in sf.available_formats():
        pytest.skip(f"this libsndfile cannot write {fmt}")
    x = _signal(channels)
    data = _encode(x, fmt, LOSSY[fmt])
    path = tmp_path / f"x.{fmt}"
    path.write_bytes(data)
    reference = _mono(sf.read(io.BytesIO(data), dtype="float32", always_2d=True)[0])
    original = x.mean(axis=1)
    for name, samples, rate in _all_ways(str(path), data):
        assert rate == SR, name
        assert samples.dtype == np.float32, name
        np.testing.assert_array_equal(samples, reference, err_msg=name)
    assert len(samples) == len(original)  # libsndfile trims the encoder delay and padding
    snr = 10 * np.log10(np.sum(original**2) / np.sum((samples - original) ** 2))
    assert snr > MIN_SNR_DB, f"{fmt}: {snr:.1f} dB"


def test_fallback_wav_from_bytes_never_builds_tensorflow_io(fallback):
    """A WAV whose format is sniffed from its bytes decodes without tensorflow-io: the
    switch over the formats builds the compressed branches with the fallback."""
    ints = np.round(_signal(2) * 32768).astype(np.int16)
    data = _encode(ints, "wav", "PCM_16")
    expected = _mono(ints.astype(np.float32) / np.float32(32768))
    eager, rate = A.decode_audio(data)
    traced, rate_t = tf.function(lambda c: A.decode_audio(c, is_path=False))(tf.constant(data))
    np.testing.assert_array_equal(eager, expected)
    np.testing.assert_array_equal(traced, expected)
    assert int(rate) == int(rate_t) == SR


@pytest.fixture(scope="module")
def tfio_here():
    if not C.tfio_usable():
        pytest.skip("tensorflow-io's ops do not load on this stack (tensorflow/io#2104)")


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("fmt, subtype", [("flac", "PCM_16"), ("flac", "PCM_24"), ("ogg", "VORBIS"), ("mp3", None)])
def test_soundfile_matches_tensorflow_io(tfio_here, monkeypatch, fmt, subtype, channels):
    """Same file, both decoders: FLAC identical; OGG/MP3 within float32 decoder rounding."""
    if fmt.upper() not in sf.available_formats():
        pytest.skip(f"this libsndfile cannot write {fmt}")
    data = _encode(_signal(channels), fmt, subtype or LOSSY[fmt])
    with_tfio, rate_tfio = A.decode_audio(data)
    monkeypatch.setattr(C, "tfio_usable", lambda: False)
    with_sf, rate_sf = A.decode_audio(data)
    assert int(rate_tfio) == int(rate_sf) == SR
    assert with_tfio.shape == with_sf.shape
    diff = float(np.abs(with_tfio.numpy() - with_sf.numpy()).max())
    print(f"{fmt} {subtype} {channels} ch: max |tensorflow-io - soundfile| = {diff:.3g}")
    if fmt == "flac":
        assert diff == 0.0
    else:
        assert diff <= TFIO_TOL[fmt]


def _fake_tfio(decode_flac) -> types.ModuleType:
    module = types.ModuleType("tensorflow_io")
    module.audio = types.SimpleNamespace(decode_flac=decode_flac)
    return module


def test_probe_needs_working_ops(monkeypatch):
    """Importing tensorflow-io is not enough (it imports on TF 2.21 and no op runs): the probe
    says no when the import fails, when the op raises and when it decodes wrongly."""

    def raises(contents, dtype):
        raise NotImplementedError("unable to open file: libtensorflow_io.so ... undefined symbol")

    def wrong(contents, dtype):
        return tf.zeros([16, 1], dtype)

    def right(contents, dtype):
        return tf.constant(sf.read(io.BytesIO(contents.numpy()), dtype="int16", always_2d=True)[0])

    monkeypatch.setitem(sys.modules, "tensorflow_io", None)  # import raises ImportError
    assert C._probe_tfio() is False
    for decode, usable in ((raises, False), (wrong, False), (right, True)):
        monkeypatch.setitem(sys.modules, "tensorflow_io", _fake_tfio(decode))
        assert C._probe_tfio() is usable, decode.__name__


def test_probe_on_this_stack():
    """tensorflow-io 0.37.1's ops load on TensorFlow 2.16 and not from 2.18 on: the probe must
    find them where they work (else the tensorflow-io comparison above would skip unseen)."""
    try:
        import tensorflow_io  # noqa: F401
    except ImportError:
        installed = False
    else:
        installed = True
    major_minor = tuple(int(v) for v in tf.__version__.split(".")[:2])
    assert C.tfio_usable() is (installed and major_minor < (2, 18))
