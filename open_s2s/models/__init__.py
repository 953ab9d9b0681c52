from open_s2s.models.model import EncoderDecoderModel
from open_s2s.models.speech2text import Speech2Text

__all__ = ["EncoderDecoderModel", "Speech2Text"]
