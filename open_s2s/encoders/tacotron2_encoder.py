"""Tacotron2Encoder: character embedding, convolution stack and bidirectional LSTM (OpenSeq2Seq's keys)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf

from open_s2s.config.params import ConfigError, Param, positive, validate
from open_s2s.data import keys
from open_s2s.encoders.encoder import Encoder
from open_s2s.layers.activations import get_activation
from open_s2s.layers.tacotron import ConvStack

CONV_PARAMS = {
    "kernel_size": Param(list, doc="[k]."),
    "stride": Param(list, [1], doc="Only [1]."),
    "num_channels": Param(int, doc="Output channels."),
    "padding": Param(str, "SAME", choices=("SAME", "same"), doc="Only SAME."),
    "activation_fn": Param((str, Callable, type(None)), "__encoder__", doc="Overrides the encoder's activation_fn."),
}
RNN_TYPES = ("lstm", "cudnn_lstm", "LSTMCell", "CudnnLSTM")


def conv_layer_specs(owner: str, layers: list, default_activation) -> list[dict]:
    """Validated conv layer dicts with a resolved ``activation`` callable (None = linear)."""
    specs = []
    for i, entry in enumerate(layers):
        spec = dict(validate(f"{owner}[{i}]", entry, CONV_PARAMS))
        if spec["stride"] != [1]:
            raise ConfigError(f"{owner}[{i}].stride: only [1] is supported")
        act = spec.pop("activation_fn")
        spec["activation"] = default_activation if act == "__encoder__" else (get_activation(act) if act else None)
        specs.append(spec)
    return specs


class Tacotron2Encoder(Encoder):
    """Character embedding -> ``conv_layers`` (conv, batch norm, activation, dropout) ->
    ``num_rnn_layers`` bidirectional LSTMs (Shen et al. 2018, arXiv:1712.05884, section 2.2).

    Padded characters are masked in the convolutions, the batch-norm statistics and the
    LSTMs, so a sentence encodes the same in any batch.

    Input: ``source`` [batch, chars] int32, ``source_length`` [batch].
    Output: ``outputs`` [batch, chars, 2 * rnn_cell_dim] (``rnn_cell_dim`` if unidirectional),
    ``lengths`` [batch].
    """

    PARAMS = {
        "src_emb_size": Param(int, 512, doc="Character embedding width.", check=positive),
        "conv_layers": Param(list, doc="Conv layers: kernel_size [k], num_channels, padding SAME."),
        "activation_fn": Param((str, Callable), "relu", doc="Activation of the conv layers."),
        "cnn_dropout_prob": Param(float, 0.5, doc="Dropout after each conv layer."),
        "num_rnn_layers": Param(int, 1, doc="Bidirectional LSTM layers.", check=positive),
        "rnn_cell_dim": Param(int, 256, doc="LSTM units per direction.", check=positive),
        "rnn_unidirectional": Param(bool, False, doc="Forward LSTMs only."),
        "rnn_dropout_prob": Param(float, 0.0, doc="Dropout on LSTM outputs."),
        "rnn_type": Param((str, type, type(None)), "lstm", doc="LSTM (Keras LSTM runs cuDNN kernels on a GPU)."),
        "use_cudnn_rnn": Param(bool, True, doc="Accepted for OpenSeq2Seq configs (Keras picks cuDNN on a GPU)."),
        "zoneout_prob": Param(float, 0.0, doc="Only 0 (zoneout is not implemented)."),
        "bn_momentum": Param(float, 0.9, doc="Batch-norm momentum."),
        "bn_epsilon": Param(float, 1e-3, doc="Batch-norm epsilon."),
        "data_format": Param(str, "channels_last", choices=("channels_last", "channels_first"), doc="Accepted."),
        "style_embedding_enable": Param(bool, False, doc="Global style tokens are not supported."),
        "style_embedding_params": Param(dict, {}, doc="Accepted only with style_embedding_enable False."),
    }

    def __init__(self, params, data_spec, **kwargs):
        super().__init__(params, data_spec, **kwargs)
        p = self.params
        if p["zoneout_prob"]:
            raise ConfigError("Tacotron2Encoder.zoneout_prob: zoneout is not supported; use rnn_dropout_prob")
        if p["style_embedding_enable"]:
            raise ConfigError("Tacotron2Encoder.style_embedding_enable: global style tokens are not supported")
        rnn_type = getattr(p["rnn_type"], "__name__", p["rnn_type"])
        if rnn_type is not None and str(rnn_type) not in RNN_TYPES:
            raise ConfigError(f"Tacotron2Encoder.rnn_type: {rnn_type!r} is not an LSTM ({list(RNN_TYPES)})")
        side = self.data_spec.source
        self.embedding = keras.layers.Embedding(side.vocab_size, p["src_emb_size"], name="embedding")
        specs = conv_layer_specs("Tacotron2Encoder.conv_layers", p["conv_layers"], get_activation(p["activation_fn"]))
        self.convs = ConvStack(specs, p["cnn_dropout_prob"], p["bn_momentum"], p["bn_epsilon"], name="conv_stack")
        self.rnns = []
        for i in range(p["num_rnn_layers"]):
            lstm = keras.layers.LSTM(p["rnn_cell_dim"], return_sequences=True, name=f"lstm{i}")
            if not p["rnn_unidirectional"]:
                lstm = keras.layers.Bidirectional(lstm, name=f"bilstm{i}")
            self.rnns.append(lstm)
        self.rnn_dropout = keras.layers.Dropout(p["rnn_dropout_prob"])

    def call(self, inputs: dict[str, Any], training: bool = False) -> dict[str, Any]:
        ids, lengths = inputs[keys.SOURCE], inputs[keys.SOURCE_LENGTH]
        mask = tf.sequence_mask(lengths, tf.shape(ids)[1])
        x = self.convs(self.embedding(ids), lengths, training=training)
        for rnn in self.rnns:
            # the mask makes the backward direction start at each sentence's last character
            x = self.rnn_dropout(rnn(x, mask=mask, training=training), training=training)
        x = x * tf.cast(mask[:, :, None], x.dtype)
        return {keys.OUTPUTS: x, keys.LENGTHS: lengths}
