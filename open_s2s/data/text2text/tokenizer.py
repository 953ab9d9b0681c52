"""OpenSeq2Seq's ``data.text2text.tokenizer`` constants, which its Transformer configs import."""

from open_s2s.data.text2text.special_tokens import EOS_ID, PAD_ID

__all__ = ["EOS_ID", "PAD_ID"]
