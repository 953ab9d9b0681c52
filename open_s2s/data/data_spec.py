"""DataSpec: what a data layer tells every other component about the data, one side at a time."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from open_s2s.data import keys

# Length of the variable (time) axis in the batch that creates a model's variables.
DUMMY_TIME = 16


@dataclass(frozen=True)
class SideSpec:
    """One side of an example (the source or the target) as the model sees it.

    Attributes:
      shape: shape of one example without the batch axis; ``None`` marks the variable
        (time) axis, e.g. ``(None, 64)`` for log-mel frames, ``(None,)`` for token ids,
        ``()`` for a class id. A side whose first axis is ``None`` has a length entry in
        the batch (``source_length`` / ``target_length``).
      dtype: ``"float32"`` (features, spectrograms) or ``"int32"`` (ids, class ids).
      vocab: the symbols ids stand for (characters, subwords, words or class names),
        index-aligned with ids; empty for float sides.
      pad_id / bos_id / eos_id / unk_id: special ids, -1 when the side has none.
      sample_rate: audio sample rate in Hz (audio sides), 0 otherwise.
      feature_stride: seconds between feature frames (audio sides), 0 otherwise.
      clip_samples: fixed waveform length in samples (clip classification), 0 when it varies.
      delimiter: what joins the symbols of ``vocab`` back into text: ``""`` for characters
        and SentencePiece pieces (pieces carry their own word-start marks), ``" "`` for
        whitespace-separated words or tokens (``open_s2s.data.vocab.ids_to_text``).
      audio: for frames computed from audio that a model generates (speech synthesis), the
        data layer's feature transform as plain values, so that a vocoder can invert it.
      length_multiple: the data layer pads this side's time axis to a multiple of it (1:
        to the longest example). A server pads the same way, so that it runs the shapes, and
        so the float rounding, that ``--mode=infer`` runs.
    """

    shape: tuple[int | None, ...] = ()
    dtype: str = "int32"
    vocab: tuple[str, ...] = ()
    pad_id: int = -1
    bos_id: int = -1
    eos_id: int = -1
    unk_id: int = -1
    sample_rate: int = 0
    feature_stride: float = 0.0
    clip_samples: int = 0
    delimiter: str = ""
    audio: Mapping[str, Any] = field(default_factory=dict)
    length_multiple: int = 1

    @property
    def vocab_size(self) -> int:
        """Number of symbols (for a classification target: the number of classes)."""
        return len(self.vocab)

    @property
    def num_features(self) -> int:
        """Size of the last axis of a ``[time, features]`` side, 0 for other sides."""
        return self.shape[-1] if len(self.shape) == 2 and self.shape[-1] is not None else 0

    @property
    def has_length(self) -> bool:
        return bool(self.shape) and self.shape[0] is None


def audio_features(num_features: int, sample_rate: int, feature_stride: float, clip_samples: int = 0) -> SideSpec:
    """A side of ``[time, num_features]`` float features computed from audio."""
    return SideSpec(
        (None, num_features),
        "float32",
        sample_rate=sample_rate,
        feature_stride=feature_stride,
        clip_samples=clip_samples,
    )


def token_ids(
    vocab: tuple[str, ...],
    pad_id: int = -1,
    bos_id: int = -1,
    eos_id: int = -1,
    unk_id: int = -1,
    delimiter: str = "",
) -> SideSpec:
    """A side of ``[time]`` int32 ids into ``vocab`` (joined by ``delimiter`` into text)."""
    return SideSpec((None,), "int32", tuple(vocab), pad_id, bos_id, eos_id, unk_id, delimiter=delimiter)


def class_id(names: tuple[str, ...]) -> SideSpec:
    """A side holding one int32 class id per example."""
    return SideSpec((), "int32", tuple(names))


def frames(
    num_features: int, sample_rate: int = 0, feature_stride: float = 0.0, audio: Mapping[str, Any] | None = None
) -> SideSpec:
    """A side of ``[time, num_features]`` float frames that a model generates (e.g. mel spectrograms)."""
    return SideSpec(
        (None, num_features), "float32", sample_rate=sample_rate, feature_stride=feature_stride, audio=dict(audio or {})
    )


@dataclass(frozen=True)
class DataSpec:
    """Facts about the data that components need to size themselves, per side.

    Components receive a DataSpec instead of a reference to the data layer, so that
    encoders, decoders and losses never reach into the input pipeline; an encoder reads
    ``source``, a decoder and a loss read ``target``.
    """

    source: SideSpec = field(default_factory=SideSpec)
    target: SideSpec = field(default_factory=SideSpec)

    def element_spec(self) -> dict[str, Any]:
        """``tf.TensorSpec`` of every model input a batch carries (batch axis first)."""
        import tensorflow as tf  # noqa: PLC0415  (configs and docs import this module without TF)

        out = {}
        for side, value_key, length_key in (
            (self.source, keys.SOURCE, keys.SOURCE_LENGTH),
            (self.target, keys.TARGET, keys.TARGET_LENGTH),
        ):
            out[value_key] = tf.TensorSpec((None, *side.shape), side.dtype)
            if side.has_length:
                out[length_key] = tf.TensorSpec([None], tf.int32)
        return out

    def dummy_batch(self, time: int = DUMMY_TIME) -> dict[str, Any]:
        """A one-example batch of zeros shaped by ``element_spec`` (creates a model's variables)."""
        import tensorflow as tf  # noqa: PLC0415

        batch = {}
        for name, spec in self.element_spec().items():
            if name in (keys.SOURCE_LENGTH, keys.TARGET_LENGTH):
                batch[name] = tf.constant([time], tf.int32)
            else:
                batch[name] = tf.zeros([1] + [time if d is None else d for d in spec.shape[1:]], spec.dtype)
        return batch

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> DataSpec:
        """Inverse of ``to_dict`` (lists from JSON become tuples)."""

        def side(d: Mapping[str, Any]) -> SideSpec:
            return SideSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

        return cls(source=side(value["source"]), target=side(value["target"]))
