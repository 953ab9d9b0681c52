"""OpenSeq2Seq's module path of the keyword data layer (``open_seq2seq.data.speech2text.speech_commands``)."""

from open_s2s.data.speech_commands.speech_commands_data_layer import SpeechCommandsDataLayer

__all__ = ["SpeechCommandsDataLayer"]
