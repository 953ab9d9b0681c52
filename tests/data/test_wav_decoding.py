"""The in-graph 16-bit WAV decoder against tf.audio.decode_wav and soundfile, with unusual chunk layouts."""

import io
import struct

import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

from open_s2s.data.audio import decode_audio


def _wav(samples: np.ndarray, rate: int, extra_chunks=(), data_size=None) -> bytes:
    """A PCM16 WAV with ``extra_chunks`` ((id, payload), ...) between 'fmt ' and 'data'."""
    channels = samples.shape[1]
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * 2, channels * 2, 16)
    data = samples.astype("<i2").tobytes()
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    for cid, payload in extra_chunks:
        body += cid + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) % 2 else b"")
    body += b"data" + struct.pack("<I", len(data) if data_size is None else data_size) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize("channels", [1, 2])
def test_matches_decode_wav_with_extra_chunks(channels):
    rng = np.random.default_rng(channels)
    samples = rng.integers(-32768, 32767, size=(5001, channels))
    contents = _wav(samples, 22050, [(b"JUNK", b"abcd"), (b"LIST", b"INFOxxxx")])
    audio, rate = decode_audio(contents, "wav", is_path=False)
    reference, ref_rate = tf.audio.decode_wav(contents)
    assert int(rate) == int(ref_rate) == 22050
    np.testing.assert_allclose(audio.numpy(), tf.reduce_mean(reference, axis=1).numpy(), atol=1e-7)
    np.testing.assert_allclose(audio.numpy(), samples.mean(axis=1) / 32768.0, atol=1e-7)


def test_odd_sized_chunk_is_padded_as_riff_says():
    samples = np.random.default_rng(0).integers(-32768, 32767, size=(999, 1))
    contents = _wav(samples, 16000, [(b"JUNK", b"abc")])  # tf.audio.decode_wav rejects this file
    audio, _ = decode_audio(contents, "wav", is_path=False)
    expected, _ = sf.read(io.BytesIO(contents), dtype="float32")
    np.testing.assert_array_equal(audio.numpy(), expected)


def test_streamed_data_size_reads_to_the_end():
    samples = np.arange(-500, 500).reshape(-1, 1)
    for size in (0, 0xFFFFFFFF):
        audio, _ = decode_audio(_wav(samples, 16000, data_size=size), "wav", is_path=False)
        np.testing.assert_array_equal(audio.numpy(), samples[:, 0] / 32768.0)


def test_soundfile_written_wav(tmp_path):
    samples = np.random.default_rng(0).uniform(-0.9, 0.9, size=(3000, 2)).astype(np.float32)
    buffer = io.BytesIO()
    sf.write(buffer, samples, 8000, format="WAV", subtype="PCM_16")
    audio, rate = decode_audio(buffer.getvalue(), "wav", is_path=False)
    expected, _ = sf.read(io.BytesIO(buffer.getvalue()), dtype="float32")
    assert int(rate) == 8000
    np.testing.assert_allclose(audio.numpy(), expected.mean(axis=1), atol=1e-6)


@pytest.mark.parametrize(
    "chunks, data_size, channels",
    [
        ((), None, 1),
        (((b"JUNK", b"abc"), (b"LIST", b"INFOxxxx")), None, 1),  # odd-sized chunk: word-aligned
        (((b"LIST", b"INFOxx"),), None, 2),
        ((), 0, 1),  # streamed: to the end
        ((), 0xFFFFFFFF, 2),
    ],
)
def test_load_time_location_decodes_as_the_graph_parser(tmp_path, chunks, data_size, channels):
    """read_audio_info locates the samples; decode_pcm16 from there equals decode_audio."""
    from open_s2s.data.audio import decode_pcm16, read_audio_info

    samples = np.random.default_rng(channels).integers(-32768, 32767, size=(4001, channels))
    path = tmp_path / "x.wav"
    contents = _wav(samples, 16000, chunks, data_size)
    path.write_bytes(contents + (b"\x01" if data_size is not None else b""))  # a partial trailing frame
    info = read_audio_info(str(path))
    assert info.pcm_offset == contents.index(b"data") + 8
    assert info.pcm_bytes == samples.size * 2
    expected, _ = decode_audio(str(path))
    np.testing.assert_array_equal(expected.numpy(), samples.mean(axis=1) / 32768.0)
    fast = tf.function(decode_pcm16)(tf.constant(str(path)), info.pcm_offset, info.pcm_bytes, tf.constant(channels))
    np.testing.assert_array_equal(fast.numpy(), expected.numpy())
    if channels == 1:
        np.testing.assert_array_equal(decode_pcm16(str(path), info.pcm_offset, info.pcm_bytes, 1), expected)
