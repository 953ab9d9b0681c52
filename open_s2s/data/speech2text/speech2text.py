"""OpenSeq2Seq's module path of the speech data layer (``open_seq2seq.data.speech2text.speech2text``)."""

from open_s2s.data.speech2text.speech2text_data_layer import Speech2TextDataLayer

__all__ = ["Speech2TextDataLayer"]
