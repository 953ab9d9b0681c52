from open_s2s.decoders.decoder import Decoder
from open_s2s.decoders.fc_ctc_decoder import FullyConnectedCTCDecoder
from open_s2s.decoders.fc_sc_decoder import FullyConnectedSCDecoder
from open_s2s.decoders.tacotron2_decoder import Tacotron2Decoder
from open_s2s.decoders.transformer_decoder import TransformerDecoder

# OpenSeq2Seq's resnet_commands configs name the classification decoder FullyConnectedDecoder
# (its image decoder, a projection of the globally pooled ResNet output); here the ResNet
# encoder pools frequency and this decoder pools time, the same global average pooling.
FullyConnectedDecoder = FullyConnectedSCDecoder

__all__ = [
    "Decoder",
    "FullyConnectedCTCDecoder",
    "FullyConnectedDecoder",
    "FullyConnectedSCDecoder",
    "Tacotron2Decoder",
    "TransformerDecoder",
]
