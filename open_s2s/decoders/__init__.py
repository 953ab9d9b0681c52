from open_s2s.decoders.decoder import Decoder
from open_s2s.decoders.fc_ctc_decoder import FullyConnectedCTCDecoder

__all__ = ["Decoder", "FullyConnectedCTCDecoder"]
