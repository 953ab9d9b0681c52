from open_s2s.encoders.ds2_encoder import DeepSpeech2Encoder
from open_s2s.encoders.encoder import Encoder
from open_s2s.encoders.resnet_encoder import ResNetEncoder
from open_s2s.encoders.tacotron2_encoder import Tacotron2Encoder
from open_s2s.encoders.tdnn_encoder import TDNNEncoder
from open_s2s.encoders.transformer_encoder import TransformerEncoder

__all__ = ["DeepSpeech2Encoder", "Encoder", "ResNetEncoder", "Tacotron2Encoder", "TDNNEncoder", "TransformerEncoder"]
