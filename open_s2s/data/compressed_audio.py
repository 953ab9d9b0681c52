"""Who decodes FLAC, OGG/Vorbis and MP3 in the graph: tensorflow-io's ops where they load,
soundfile (libsndfile) inside ``tf.data`` otherwise.

tensorflow-io is optional: 0.37.1 imports on TensorFlow >= 2.18 but its kernels library does
not load there (undefined symbols, tensorflow/io#2104), so ``tfio_usable`` asks once per
process whether its ops run. Both backends return what tensorflow-io returns, ``[samples,
channels]`` (FLAC: int16 or int32 full scale, 24-bit left-justified; OGG/MP3: float32 in
[-1, 1]), so scaling, mono mix and the header's rate stay in ``open_s2s.data.audio``.
"""

from __future__ import annotations

import io
import logging

import numpy as np
import tensorflow as tf

log = logging.getLogger("open_s2s")
_TFIO_USABLE: bool | None = None  # the probe's answer, once asked


def tfio_usable() -> bool:
    """Whether tensorflow-io's audio ops run here (asked once per process).

    Importing is not enough (it imports where its ops do not load), so the probe decodes a
    16-sample FLAC made in memory.
    """
    global _TFIO_USABLE
    if _TFIO_USABLE is None:
        _TFIO_USABLE = _probe_tfio()
    return _TFIO_USABLE


def _probe_tfio() -> bool:
    import soundfile

    samples = np.arange(-8, 8, dtype=np.int16) * 1000
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, 16000, format="FLAC", subtype="PCM_16")
    try:
        import tensorflow_io as tfio

        with tf.init_scope():  # the probe may be asked while a tf.data function is traced
            decoded = tfio.audio.decode_flac(tf.constant(buffer.getvalue()), dtype=tf.int16)
            ok = np.array_equal(np.asarray(decoded).reshape(-1), samples)
    except Exception as e:  # ImportError, NotImplementedError (kernels do not load), op errors
        reason = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        log.info("tensorflow-io unusable (%s): FLAC/OGG/MP3 decoded with soundfile", reason)
        return False
    if not ok:
        log.info("tensorflow-io decoded the probe FLAC wrongly: FLAC/OGG/MP3 decoded with soundfile")
    return ok


def tfio():
    import tensorflow_io  # imported only when a compressed format is decoded and its ops load

    return tensorflow_io


def decode(contents: tf.Tensor, file_format: str, dtype: tf.DType = tf.float32) -> tf.Tensor:
    """``[samples, channels]`` of a compressed file's bytes (see the module docstring).

    Args:
      contents: scalar string tensor, the file's bytes.
      file_format: 'flac', 'ogg' or 'mp3'.
      dtype: tf.int16 or tf.int32 for FLAC (by its bits per sample); OGG and MP3 are float32.
    """
    if tfio_usable():
        audio = tfio().audio
        if file_format == "flac":
            return audio.decode_flac(contents, dtype=dtype)
        return {"ogg": audio.decode_vorbis, "mp3": audio.decode_mp3}[file_format](contents)
    decoded = tf.numpy_function(
        lambda c: _soundfile_read(c, dtype.name), [contents], dtype, stateful=False, name="soundfile_decode"
    )
    decoded.set_shape([None, None])
    return decoded


def _soundfile_read(contents: bytes | np.ndarray, dtype: str) -> np.ndarray:
    """``[samples, channels]`` as libsndfile returns them: int16 and int32 full scale (24-bit
    FLAC left-justified, as tensorflow-io's int32), float32 in [-1, 1]."""
    import soundfile

    contents = contents.item() if isinstance(contents, np.ndarray) else contents  # numpy_function's 0-d array
    return soundfile.read(io.BytesIO(contents), dtype=dtype, always_2d=True)[0]
