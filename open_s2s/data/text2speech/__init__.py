"""Text-to-speech data: LJSpeech-style metadata, spectrogram targets (OpenSeq2Seq's text2speech)."""

from open_s2s.data.text2speech.spectrogram import SpectrogramParams
from open_s2s.data.text2speech.text2speech_data_layer import Text2SpeechDataLayer, stop_token_targets

__all__ = ["SpectrogramParams", "Text2SpeechDataLayer", "stop_token_targets"]
