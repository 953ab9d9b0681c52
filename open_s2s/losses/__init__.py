from open_s2s.losses.cross_entropy_loss import CrossEntropyLoss
from open_s2s.losses.ctc_loss import CTCLoss
from open_s2s.losses.loss import Loss
from open_s2s.losses.sequence_loss import PaddedCrossEntropyLossWithSmoothing
from open_s2s.losses.text2speech_loss import Text2SpeechLoss

__all__ = ["CTCLoss", "CrossEntropyLoss", "Loss", "PaddedCrossEntropyLossWithSmoothing", "Text2SpeechLoss"]
