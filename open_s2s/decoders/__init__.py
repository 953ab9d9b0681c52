from open_s2s.decoders.decoder import Decoder
from open_s2s.decoders.fc_ctc_decoder import FullyConnectedCTCDecoder
from open_s2s.decoders.fc_sc_decoder import FullyConnectedSCDecoder
from open_s2s.decoders.tacotron2_decoder import Tacotron2Decoder
from open_s2s.decoders.transformer_decoder import TransformerDecoder

__all__ = ["Decoder", "FullyConnectedCTCDecoder", "FullyConnectedSCDecoder", "Tacotron2Decoder", "TransformerDecoder"]
