"""OpenSeq2Seq's import path ``open_seq2seq.data.text2text.text2text``: configs port by
changing ``open_seq2seq`` to ``open_s2s``."""

from open_s2s.data.text2text.parallel_text_data_layer import ParallelTextDataLayer
from open_s2s.data.text2text.special_tokens import SpecialTextTokens

__all__ = ["ParallelTextDataLayer", "SpecialTextTokens"]
