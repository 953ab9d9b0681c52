"""OpenSeq2Seq's special token ids for text: PAD 0, EOS 1, S (start) 2, UNK 3."""

from __future__ import annotations

from enum import Enum

PAD_ID, EOS_ID, S_ID, UNK_ID = 0, 1, 2, 3
# Their names when a vocab file does not hold them (special_tokens_already_in_vocab: False).
SPECIAL_TOKENS = ("<PAD>", "</S>", "<S>", "<UNK>")
# Spellings of the specials that vocab files use at ids 0..3 (OpenSeq2Seq's and SentencePiece's).
KNOWN_SPELLINGS = (("<pad>",), ("</s>", "<eos>"), ("<s>", "<bos>", "<go>"), ("<unk>",))


class SpecialTextTokens(Enum):
    """OpenSeq2Seq's ``SpecialTextTokens`` (configs use ``SpecialTextTokens.S_ID.value`` etc.)."""

    PAD_ID = PAD_ID  # padding
    EOS_ID = EOS_ID  # end of sentence
    S_ID = S_ID  # start of sentence
    UNK_ID = UNK_ID  # out-of-vocabulary tokens map here

    @staticmethod
    def to_string(s_token: int) -> str:
        """The token a special id stands for, e.g. ``to_string(2) == "<S>"``."""
        if s_token not in (PAD_ID, EOS_ID, S_ID, UNK_ID):
            raise ValueError(f"not a special token id: {s_token}")
        return SPECIAL_TOKENS[s_token]
