"""Speech recognition data: OpenSeq2Seq CSVs of audio files and transcripts."""

from open_s2s.data.speech2text.speech2text_data_layer import Speech2TextDataLayer

__all__ = ["Speech2TextDataLayer"]
