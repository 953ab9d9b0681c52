from open_s2s.losses.cross_entropy_loss import CrossEntropyLoss
from open_s2s.losses.ctc_loss import CTCLoss
from open_s2s.losses.loss import Loss
from open_s2s.losses.sequence_loss import PaddedCrossEntropyLossWithSmoothing

__all__ = ["CTCLoss", "CrossEntropyLoss", "Loss", "PaddedCrossEntropyLossWithSmoothing"]
