"""Text-to-text data: line-aligned parallel text files (OpenSeq2Seq's ParallelTextDataLayer)."""

from open_s2s.data.text2text.parallel_text_data_layer import ParallelTextDataLayer
from open_s2s.data.text2text.postprocess import detokenize, tf_detokenize
from open_s2s.data.text2text.serving_params import TextServingParams, TextSideServing
from open_s2s.data.text2text.special_tokens import SpecialTextTokens

__all__ = [
    "ParallelTextDataLayer",
    "SpecialTextTokens",
    "TextServingParams",
    "TextSideServing",
    "detokenize",
    "tf_detokenize",
]
