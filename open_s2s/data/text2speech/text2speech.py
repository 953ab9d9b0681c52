"""OpenSeq2Seq's import path (``open_seq2seq.data.text2speech.text2speech``), for ported configs."""

from open_s2s.data.text2speech.text2speech_data_layer import Text2SpeechDataLayer

__all__ = ["Text2SpeechDataLayer"]
