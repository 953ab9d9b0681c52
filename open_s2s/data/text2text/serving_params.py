"""What a text SavedModel needs besides the model to take raw text and return text.

The fields follow ``open_s2s.export.text2text`` (which tokenizes with TensorFlow Text's
SentencePiece op or a lookup table), so the data layer can hand them over from the config
alone (``ParallelTextDataLayer.spec_from_params``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TextSideServing:
    """How one side's text becomes ids and back.

    Attributes:
      sentencepiece_model: the serialized SentencePiece model (the ``.model`` file's bytes),
        or None for a side of delimiter-separated tokens.
      vocab: tokens by id (the pieces for SentencePiece), as in the side's ``SideSpec``.
      delimiter: what separates the tokens of an input line (token sides). Text comes back
        by ``open_s2s.data.text2text.tf_detokenize`` with the side's ``SideSpec``, which
        joins pieces of a SentencePiece ``.vocab`` by their word-start marks.
      pad_id / bos_id / eos_id / unk_id: special ids (OpenSeq2Seq's 0 / 2 / 1 / 3).
      use_start_token: whether sentences begin with ``bos_id`` (OpenSeq2Seq's key).
    """

    sentencepiece_model: bytes | None
    vocab: tuple[str, ...]
    delimiter: str
    pad_id: int
    bos_id: int
    eos_id: int
    unk_id: int
    use_start_token: bool


@dataclass(frozen=True)
class TextServingParams:
    source: TextSideServing
    target: TextSideServing
