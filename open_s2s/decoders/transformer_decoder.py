"""TransformerDecoder: teacher-forced training and cached beam-search generation (OpenSeq2Seq's keys)."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from open_s2s.config.params import ConfigError, Param, positive
from open_s2s.data import keys
from open_s2s.decoders.decoder import Decoder
from open_s2s.decoding.beam_search import beam_search, greedy_search, tile_beams
from open_s2s.encoders.transformer_encoder import check_norm
from open_s2s.layers.transformer import SharedEmbedding, TransformerBlock, position_encoding


class TransformerDecoder(Decoder):
    """The decoder of "Attention Is All You Need" (arXiv:1706.03762) with beam search.

    Training (``call`` with targets) is teacher-forced: the decoder reads the target shifted
    right by one (a zero vector first, as OpenSeq2Seq's Transformer) under a causal mask and
    attends to the encoder outputs of the valid source frames. Generation (``generate``)
    runs free from the encoder outputs alone: greedy when ``beam_size`` is 1, otherwise beam
    search with a finished set and GNMT's length penalty ``((5 + len) / 6) ** alpha`` (see
    ``open_s2s.decoding.beam_search``). Each sentence may generate up to its source length +
    ``extra_decode_length`` tokens, so a sentence decodes the same alone as in a batch.
    Self-attention keys and values of past steps are cached, so each generated token costs
    one step rather than a pass over the prefix (``use_cache: False`` re-runs the prefix, for
    benchmarks). The output projection shares the target embedding's weights.

    Input (``call``): ``outputs`` [batch, S, hidden] and ``lengths`` [batch] of the encoder,
    ``target`` [batch, T] int32 ids ending with EOS, ``target_length`` [batch].
    Output: ``logits`` [batch, T, vocab] float32, ``lengths`` [batch].
    ``generate`` returns ``ids`` [batch, max_len] (EOS excluded, padded with EOS),
    ``lengths`` [batch] and ``scores`` [batch] (length-normalized log-probability).
    """

    AUTOREGRESSIVE = True

    PARAMS = {
        "num_hidden_layers": Param(int, doc="Number of blocks.", check=positive),
        "hidden_size": Param(int, doc="Model width d_model (the encoder's).", check=positive),
        "num_heads": Param(int, doc="Attention heads (divide hidden_size).", check=positive),
        "filter_size": Param(int, doc="Inner width of the feed-forward network.", check=positive),
        "attention_dropout": Param(float, 0.0, doc="Dropout on attention weights."),
        "relu_dropout": Param(float, 0.0, doc="Dropout inside the feed-forward network."),
        "layer_postprocess_dropout": Param(float, 0.0, doc="Dropout on embeddings and each sublayer's output."),
        "beam_size": Param(int, 4, doc="Beam width; 1 = greedy search.", check=positive),
        "alpha": Param(float, 0.6, doc="Length-penalty exponent of the beam search (GNMT)."),
        "extra_decode_length": Param(int, 50, doc="Each sentence generates up to source length + this."),
        "use_cache": Param(bool, True, doc="Cache past keys/values; False re-runs the prefix (benchmarks)."),
        "pad_embeddings_2_eight": Param(bool, False, doc="Round embedding rows up to a multiple of 8."),
        "norm_params": Param(dict, {"type": "layernorm_L2"}, doc="Only layer normalization ('layernorm_L2')."),
        "EOS_ID": Param((int, type(None)), None, doc="End id; default the data layer's (must match if given)."),
        "END_SYMBOL": Param((int, type(None)), None, doc="OpenSeq2Seq's alias of the end id (must match)."),
        "PAD_SYMBOL": Param((int, type(None)), None, doc="Padding id; default the data layer's (must match)."),
        "GO_SYMBOL": Param(
            (int, type(None)), None, doc="Accepted; as in OpenSeq2Seq the first input is a zero vector."
        ),
        "tgt_vocab_size": Param((int, type(None)), None, doc="Filled from the data layer; must match if given."),
        "batch_size": Param((int, type(None)), None, doc="Accepted for OpenSeq2Seq configs; unused."),
    }

    def __init__(self, params, data_spec, **kwargs):
        super().__init__(params, data_spec, **kwargs)
        p, side = self.params, self.data_spec.target
        check_norm(type(self).__name__, p["norm_params"])
        self.eos_id, self.pad_id = side.eos_id, max(side.pad_id, 0)
        for key, given, actual in (
            ("EOS_ID", p["EOS_ID"], side.eos_id),
            ("END_SYMBOL", p["END_SYMBOL"], side.eos_id),
            ("PAD_SYMBOL", p["PAD_SYMBOL"], side.pad_id),
            ("tgt_vocab_size", p["tgt_vocab_size"], side.vocab_size),
        ):
            if given is not None and given != actual:
                raise ConfigError(f"TransformerDecoder.{key}: {given} but the data layer's is {actual}")
        if self.eos_id < 0:
            raise ConfigError("TransformerDecoder: the data layer's target side has no EOS id")
        self.hidden = p["hidden_size"]
        self.embedding = SharedEmbedding(
            side.vocab_size, self.hidden, self.pad_id, p["pad_embeddings_2_eight"], name="embedding"
        )
        self.input_dropout = keras.layers.Dropout(p["layer_postprocess_dropout"])
        self.blocks = [
            TransformerBlock(
                self.hidden,
                p["num_heads"],
                p["filter_size"],
                p["attention_dropout"],
                p["relu_dropout"],
                p["layer_postprocess_dropout"],
                cross_attention=True,
                name=f"layer_{i}",
            )
            for i in range(p["num_hidden_layers"])
        ]
        self.output_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="output_norm")

    # ------------------------------------------------------------------ teacher-forced

    def call(self, inputs: dict[str, Any], training: bool = False) -> dict[str, Any]:
        if keys.TARGET not in inputs:
            raise ValueError("TransformerDecoder.call needs targets (teacher forcing); use generate() without them")
        targets = inputs[keys.TARGET]
        x = self.embedding(targets)
        x = tf.pad(x, [[0, 0], [1, 0], [0, 0]])[:, :-1]  # shift right: the first input is a zero vector
        logits = self._decode_sequence(x, inputs[keys.OUTPUTS], inputs[keys.LENGTHS], training)
        return {keys.LOGITS: logits, keys.LENGTHS: inputs[keys.TARGET_LENGTH]}

    def _decode_sequence(self, x, memory, memory_lengths, training):
        """Decoder stack over whole sequences of input embeddings ``x [batch, T, hidden]``."""
        length = tf.shape(x)[1]
        x = x + tf.cast(position_encoding(length, self.hidden), x.dtype)[None]
        x = self.input_dropout(x, training=training)
        causal = tf.linalg.band_part(tf.ones([length, length], tf.bool), -1, 0)[None]
        memory_mask = tf.sequence_mask(memory_lengths, tf.shape(memory)[1])[:, None, :]
        for block in self.blocks:
            x = block(x, causal, memory, memory_mask, training=training)
        return self.embedding.logits(self.output_norm(x))

    # ------------------------------------------------------------------ free-running

    def generate(self, inputs: dict[str, Any]) -> dict[str, Any]:
        memory, memory_lengths = inputs[keys.OUTPUTS], inputs[keys.LENGTHS]
        max_lengths = memory_lengths + self.params["extra_decode_length"]
        beam = self.params["beam_size"]
        if beam > 1:
            memory, memory_lengths = tile_beams((memory, memory_lengths), beam)
        step_fn, cache = (self._cached_step if self.params["use_cache"] else self._uncached_step)(
            memory, memory_lengths, tf.reduce_max(max_lengths)
        )
        if beam > 1:
            out = beam_search(step_fn, cache, self.pad_id, self.eos_id, max_lengths, beam, self.params["alpha"])
        else:
            out = greedy_search(step_fn, cache, self.pad_id, self.eos_id, max_lengths)
        return {"ids": out["ids"], keys.LENGTHS: out["lengths"], "scores": out["scores"]}

    def _cached_step(self, memory, memory_lengths, max_length):
        """A step function that attends to cached keys/values of the past steps."""
        rows = tf.shape(memory)[0]
        memory_mask = tf.sequence_mask(memory_lengths, tf.shape(memory)[1])[:, None, :]
        memory_kv = [block.cross_attention.project(memory) for block in self.blocks]
        signal = tf.cast(position_encoding(max_length, self.hidden), self.compute_dtype)
        heads = self.params["num_heads"]
        shape = [rows, max_length, heads, self.hidden // heads]
        cache = [
            {"k": tf.zeros(shape, self.compute_dtype), "v": tf.zeros(shape, self.compute_dtype)} for _ in self.blocks
        ]

        def step(last, index, cache):
            x = self.embedding(last[:, None]) + signal[index][None, None]
            self_mask = (tf.range(max_length) <= index)[None, None, :]
            new_cache = []
            for block, layer_cache, kv in zip(self.blocks, cache, memory_kv):
                x, layer_cache = block.step(x, index, layer_cache, self_mask, kv, memory_mask)
                new_cache.append(layer_cache)
            return self.embedding.logits(self.output_norm(x))[:, 0], new_cache

        return step, cache

    def _uncached_step(self, memory, memory_lengths, max_length):
        """A step function that re-runs the decoder over the whole prefix (no cache)."""
        rows = tf.shape(memory)[0]
        prefix = tf.fill([rows, max_length], tf.cast(self.pad_id, tf.int32))

        def step(last, index, ids):
            ids = tf.where(tf.equal(tf.range(max_length), index)[None], last[:, None], ids)
            x = self.embedding(ids[:, : index + 1])
            logits = self._decode_sequence(x, memory, memory_lengths, training=False)
            return logits[:, -1], ids

        return step, prefix
