"""Keyword spotting data: the Google Speech Commands folder layout."""

from open_s2s.data.speech_commands.speech_commands_data_layer import SpeechCommandsDataLayer

__all__ = ["SpeechCommandsDataLayer"]
