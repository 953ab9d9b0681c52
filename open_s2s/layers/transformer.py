"""Transformer building blocks (Vaswani et al. 2017) shared by the encoder and the decoder.

Pre-norm residual blocks as in OpenSeq2Seq's and TensorFlow's official Transformer: each
sublayer sees ``LayerNorm(x)`` and adds its dropped-out output to ``x``; the stack ends with
a LayerNorm. Attention is Keras' ``MultiHeadAttention``, extended with a key/value cache so
that generating a token costs one step.

Numerics under mixed precision (float16/bfloat16 compute, float32 variables): the matmuls,
attention scores and softmax run in the compute dtype, but two places stay float32 under
every policy: the residual stream (each block adds a small update to ``x``; added in
bfloat16 the low bits of the update are lost, block after block) and the output logits
(forward and backward). Together they took bf16 from 7.9 BLEU behind float32 at equal steps
to 0.15 behind (docs/benchmarks.md). Float32 attention scores were tried and are not needed
(they cost ~5 % of a bf16 step); logits with a bfloat16 backward were tried and trained worse.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from open_s2s.layers.linear import matmul_last_axis


def position_encoding(length: tf.Tensor | int, hidden_size: int, max_timescale: float = 1.0e4) -> tf.Tensor:
    """Sinusoidal position signal ``[length, hidden_size]`` float32 (sines then cosines)."""
    position = tf.cast(tf.range(length), tf.float32)
    num_timescales = hidden_size // 2
    increment = math.log(max_timescale) / max(num_timescales - 1, 1)
    inv_timescales = tf.exp(tf.range(num_timescales, dtype=tf.float32) * -increment)
    scaled = position[:, None] * inv_timescales[None]
    return tf.concat([tf.sin(scaled), tf.cos(scaled)], axis=1)


class SharedEmbedding(keras.layers.Layer):
    """Token embedding whose transpose is also the output projection (OpenSeq2Seq's
    ``EmbeddingSharedWeights``): ``embed(ids)`` scales by sqrt(hidden) and zeroes the padding
    id; ``logits(x)`` projects hidden states onto the vocabulary.

    Args:
      vocab_size: number of tokens.
      hidden_size: embedding width.
      pad_id: the id whose embedding is zero (also the decoder's start input).
      pad_to_eight: round the number of rows up to a multiple of 8 (tensor-core friendly
        shapes); the extra rows are never produced as logits.
    """

    def __init__(self, vocab_size: int, hidden_size: int, pad_id: int = 0, pad_to_eight: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.hidden_size, self.pad_id = vocab_size, hidden_size, pad_id
        self.rows = vocab_size + (-vocab_size % 8 if pad_to_eight else 0)

    def build(self, input_shape=None):
        self.weights_matrix = self.add_weight(
            shape=(self.rows, self.hidden_size),
            initializer=keras.initializers.RandomNormal(stddev=self.hidden_size**-0.5),
            name="weights",
        )

    def embed(self, ids: tf.Tensor) -> tf.Tensor:
        table = tf.cast(self.weights_matrix, self.compute_dtype)
        x = tf.gather(table, ids) * tf.cast(self.hidden_size**0.5, self.compute_dtype)
        return x * tf.cast(tf.not_equal(ids, self.pad_id), self.compute_dtype)[..., None]

    def logits(self, x: tf.Tensor) -> tf.Tensor:
        """``[..., hidden]`` -> float32 ``[..., vocab_size]``."""
        # in float32 under mixed precision too: bfloat16 would round the logits to 8 mantissa
        # bits (steps of 0.06-0.125 at |logit| 8-20) before the cross-entropy and the beam scores
        table = tf.cast(self.weights_matrix[: self.vocab_size], tf.float32)
        return matmul_last_axis(tf.cast(x, tf.float32), table, transpose_b=True)

    def call(self, ids):
        return self.embed(ids)


class CachedMultiHeadAttention(keras.layers.MultiHeadAttention):
    """Keras multi-head attention that can attend with keys/values projected beforehand.

    ``project(value)`` returns the projected ``(key, value)`` ``[batch, length, heads, dim]``,
    which a decoder computes once for the encoder outputs, or appends to step by step for
    its own past (``attend_step``). Everything runs in the compute dtype; masked keys get a
    large negative score that stays finite in float16.
    """

    def _masked_softmax(self, attention_scores, attention_mask=None):
        """Softmax over the key axis of ``scores [batch, heads, T, S]``; masked keys get 0 (and a
        row with every key masked is all 0), as Keras' masked softmax."""
        if attention_mask is None:
            return tf.nn.softmax(attention_scores, axis=-1)
        mask = tf.cast(attention_mask, tf.bool)
        for _ in range(len(attention_scores.shape) - len(mask.shape)):
            mask = tf.expand_dims(mask, axis=-len(self._attention_axes) * 2 - 1)
        # float16's range ends at 65504: its "minus infinity" must stay finite
        large_negative = -3e4 if attention_scores.dtype == tf.float16 else -1e9
        masked = tf.where(mask, attention_scores, tf.constant(large_negative, attention_scores.dtype))
        weights = tf.nn.softmax(masked, axis=-1)
        return tf.where(mask, weights, tf.zeros_like(weights))

    def _compute_attention(
        self,
        query,
        key,
        value,
        attention_mask=None,
        training=None,
        return_attention_scores=False,
        use_causal_mask=False,
    ):
        if use_causal_mask:
            causal = self._compute_causal_mask(query, value)
            attention_mask = (
                causal if attention_mask is None else tf.logical_and(tf.cast(attention_mask, tf.bool), causal)
            )
        query = query * tf.cast(self._inverse_sqrt_key_dim, query.dtype)
        # keras.ops.einsum runs these equations as transposes + a batched matmul, which here took
        # 20 fewer CPU-ms per training step (forward + backward) than tf.einsum's Einsum kernels
        scores = keras.ops.einsum(self._dot_product_equation, key, query)
        weights = self._masked_softmax(scores, attention_mask)
        if self._dropout > 0.0:
            weights = self._dropout_layer(weights, training=training)
        output = keras.ops.einsum(self._combine_equation, weights, value)
        return output, weights

    def project(self, value: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return self._key_dense(value), self._value_dense(value)

    def attend(self, query, key, value, attention_mask, training=False):
        """Attention of ``query [batch, T, hidden]`` over projected ``key``/``value``."""
        out, _ = self._compute_attention(self._query_dense(query), key, value, attention_mask, training)
        return self._output_dense(out)

    def attend_step(self, query, cache_key, cache_value, index, attention_mask):
        """One decoding step: writes this step's key/value at ``index`` of the cache, attends.

        Args:
          query: ``[batch, 1, hidden]`` the step's input.
          cache_key / cache_value: ``[batch, max_length, heads, dim]``.
          index: scalar step number.
          attention_mask: ``[batch or 1, 1, max_length]`` True at positions ``<= index``.

        Returns:
          ``(output [batch, 1, hidden], cache_key, cache_value)``.
        """
        key, value = self.project(query)
        here = tf.equal(tf.range(tf.shape(cache_key)[1]), index)[None, :, None, None]
        cache_key = tf.where(here, key, cache_key)
        cache_value = tf.where(here, value, cache_value)
        return self.attend(query, cache_key, cache_value, attention_mask), cache_key, cache_value


class FeedForward(keras.layers.Layer):
    """``Dense(filter_size, relu) -> dropout -> Dense(hidden_size)``."""

    def __init__(self, hidden_size: int, filter_size: int, relu_dropout: float, **kwargs):
        super().__init__(**kwargs)
        self.inner = keras.layers.Dense(filter_size, activation="relu", name="filter")
        self.dropout = keras.layers.Dropout(relu_dropout)
        self.outer = keras.layers.Dense(hidden_size, name="output")

    def call(self, x, training=False):
        return self.outer(self.dropout(self.inner(x), training=training))


class TransformerBlock(keras.layers.Layer):
    """Self-attention, optional attention over encoder outputs, and a feed-forward network,
    each as ``x + dropout(sublayer(LayerNorm(x)))``.

    Args:
      hidden_size, num_heads, filter_size: layer sizes.
      attention_dropout: dropout on attention weights.
      relu_dropout: dropout inside the feed-forward network.
      postprocess_dropout: dropout on each sublayer's output before the residual sum.
      cross_attention: add attention over a memory (decoder blocks).
    """

    def __init__(
        self,
        hidden_size: int,
        num_heads: int,
        filter_size: int,
        attention_dropout: float,
        relu_dropout: float,
        postprocess_dropout: float,
        cross_attention: bool = False,
        **kwargs,
    ):
        # the residual stream ``x`` stays float32 (see the module docstring): the block must
        # not cast its input to the compute dtype; its sublayers still do
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        if hidden_size % num_heads:
            raise ValueError(f"hidden_size {hidden_size} is not divisible by num_heads {num_heads}")
        head = hidden_size // num_heads

        def attention(name):
            return CachedMultiHeadAttention(num_heads, head, dropout=attention_dropout, name=name)

        self.self_attention = attention("self_attention")
        self.self_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="self_attention_norm")
        self.cross_attention = attention("encdec_attention") if cross_attention else None
        self.cross_norm = (
            keras.layers.LayerNormalization(epsilon=1e-6, name="encdec_attention_norm") if cross_attention else None
        )
        self.ffn = FeedForward(hidden_size, filter_size, relu_dropout, name="ffn")
        self.ffn_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="ffn_norm")
        self.dropout = keras.layers.Dropout(postprocess_dropout)

    def call(self, x, self_mask, memory=None, memory_mask=None, training=False):
        """Full-sequence pass: ``x [batch, T, hidden]``; masks ``[batch or 1, T, T]`` / ``[batch, 1, S]``.

        Returns the float32 residual stream.
        """
        x = tf.cast(x, tf.float32)
        h = self.self_norm(x)
        x = x + self._residual(self.self_attention(h, h, attention_mask=self_mask, training=training), training)
        if self.cross_attention is not None:
            h = self.cross_norm(x)
            x = x + self._residual(
                self.cross_attention(h, memory, attention_mask=memory_mask, training=training), training
            )
        return x + self._residual(self.ffn(self.ffn_norm(x), training=training), training)

    def _residual(self, update, training):
        return tf.cast(self.dropout(update, training=training), tf.float32)

    def step(self, x, index, cache, self_mask, memory_kv=None, memory_mask=None):
        """One generation step (inference): ``x [batch, 1, hidden]``; ``cache`` {"k", "v"}."""
        x = tf.cast(x, tf.float32)
        out, k, v = self.self_attention.attend_step(self.self_norm(x), cache["k"], cache["v"], index, self_mask)
        x = x + tf.cast(out, tf.float32)
        if self.cross_attention is not None:
            x = x + tf.cast(self.cross_attention.attend(self.cross_norm(x), *memory_kv, memory_mask), tf.float32)
        return x + tf.cast(self.ffn(self.ffn_norm(x)), tf.float32), {"k": k, "v": v}
