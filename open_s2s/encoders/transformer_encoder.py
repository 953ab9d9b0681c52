"""TransformerEncoder: the encoder of "Attention Is All You Need" (OpenSeq2Seq's keys)."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from open_s2s.config.params import ConfigError, Param, positive
from open_s2s.data import keys
from open_s2s.encoders.encoder import Encoder
from open_s2s.layers.transformer import SharedEmbedding, TransformerBlock, position_encoding

NORM_TYPES = ("layernorm_L2",)


def check_norm(owner: str, norm_params) -> None:
    kind = (norm_params or {}).get("type", "layernorm_L2")
    if kind not in NORM_TYPES:
        raise ConfigError(
            f"{owner}.norm_params: type {kind!r} is not supported (only layer normalization, 'layernorm_L2')"
        )


class TransformerEncoder(Encoder):
    """Token embedding + sinusoidal positions, then ``encoder_layers`` pre-norm blocks of
    self-attention and a feed-forward network, and a final layer norm (Vaswani et al. 2017,
    arXiv:1706.03762; the layout of OpenSeq2Seq's and TensorFlow's official Transformer).

    Padding is masked by ``source_length``, so a sentence encodes the same in any batch.

    Input: ``source`` [batch, time] int32 ids, ``source_length`` [batch].
    Output: ``outputs`` [batch, time, hidden_size], ``lengths`` [batch] (= source_length).
    """

    PARAMS = {
        "encoder_layers": Param(int, doc="Number of blocks.", check=positive),
        "hidden_size": Param(int, doc="Model width d_model.", check=positive),
        "num_heads": Param(int, doc="Attention heads (divide hidden_size).", check=positive),
        "filter_size": Param(int, doc="Inner width of the feed-forward network.", check=positive),
        "attention_dropout": Param(float, 0.0, doc="Dropout on attention weights."),
        "relu_dropout": Param(float, 0.0, doc="Dropout inside the feed-forward network."),
        "layer_postprocess_dropout": Param(float, 0.0, doc="Dropout on embeddings and each sublayer's output."),
        "remove_padding": Param(bool, True, doc="Accepted for OpenSeq2Seq configs; padding is always masked."),
        "pad_embeddings_2_eight": Param(bool, False, doc="Round embedding rows up to a multiple of 8."),
        "norm_params": Param(dict, {"type": "layernorm_L2"}, doc="Only layer normalization ('layernorm_L2')."),
        "src_vocab_size": Param((int, type(None)), None, doc="Filled from the data layer; must match if given."),
    }

    def __init__(self, params, data_spec, **kwargs):
        super().__init__(params, data_spec, **kwargs)
        p, side = self.params, self.data_spec.source
        check_norm(type(self).__name__, p["norm_params"])
        if p["src_vocab_size"] is not None and p["src_vocab_size"] != side.vocab_size:
            raise ConfigError(
                f"TransformerEncoder.src_vocab_size: {p['src_vocab_size']} but the data has {side.vocab_size}"
            )
        self.embedding = SharedEmbedding(
            side.vocab_size, p["hidden_size"], max(side.pad_id, 0), p["pad_embeddings_2_eight"], name="embedding"
        )
        self.input_dropout = keras.layers.Dropout(p["layer_postprocess_dropout"])
        self.blocks = [
            TransformerBlock(
                p["hidden_size"],
                p["num_heads"],
                p["filter_size"],
                p["attention_dropout"],
                p["relu_dropout"],
                p["layer_postprocess_dropout"],
                name=f"layer_{i}",
            )
            for i in range(p["encoder_layers"])
        ]
        self.output_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="output_norm")

    def call(self, inputs: dict[str, Any], training: bool = False) -> dict[str, Any]:
        ids, lengths = inputs[keys.SOURCE], inputs[keys.SOURCE_LENGTH]
        x = self.embedding(ids)
        x = x + tf.cast(position_encoding(tf.shape(ids)[1], self.params["hidden_size"]), x.dtype)[None]
        x = self.input_dropout(x, training=training)
        mask = tf.sequence_mask(lengths, tf.shape(ids)[1])[:, None, :]  # [batch, 1, time]: keys to attend to
        for block in self.blocks:
            x = block(x, mask, training=training)
        return {keys.OUTPUTS: self.output_norm(x), keys.LENGTHS: lengths}
