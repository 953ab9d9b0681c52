from open_s2s.encoders.encoder import Encoder
from open_s2s.encoders.resnet_encoder import ResNetEncoder
from open_s2s.encoders.tdnn_encoder import TDNNEncoder

__all__ = ["Encoder", "ResNetEncoder", "TDNNEncoder"]
