from open_s2s.models.image2label import Image2Label
from open_s2s.models.model import EncoderDecoderModel
from open_s2s.models.speech2text import Speech2Text
from open_s2s.models.speech_commands import SpeechCommands
from open_s2s.models.text2speech import Text2SpeechTacotron
from open_s2s.models.text2text import Text2Text

__all__ = ["EncoderDecoderModel", "Image2Label", "SpeechCommands", "Speech2Text", "Text2SpeechTacotron", "Text2Text"]
