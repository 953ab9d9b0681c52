"""DataSpec: what a data layer tells every other component about the data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DataSpec:
    """Facts about the data that components need to size themselves.

    Components receive a DataSpec instead of a reference to the data layer, so that
    encoders, decoders and losses never reach into the input pipeline.

    Attributes:
      vocab_size: number of target symbols (characters, subwords or words), without
        the CTC blank (CTC decoders add one output for it, at index ``vocab_size``).
      vocab: the symbols, index-aligned with ids.
      num_features: feature dimension of the source (e.g. mel bins).
      sample_rate: audio sample rate in Hz (speech families).
      feature_stride: seconds between feature frames (speech families).
      pad_id / bos_id / eos_id: special target ids, -1 when unused.
      num_classes: number of classes (classification families).
      clip_samples: fixed input length in samples (speech commands), 0 when inputs vary.
    """

    vocab_size: int = 0
    vocab: tuple[str, ...] = ()
    num_features: int = 0
    sample_rate: int = 16000
    feature_stride: float = 0.01
    pad_id: int = -1
    bos_id: int = -1
    eos_id: int = -1
    num_classes: int = 0
    clip_samples: int = 0
