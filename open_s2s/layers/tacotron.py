"""Tacotron 2 building blocks (Shen et al. 2018, arXiv:1712.05884): masked conv stacks, the
prenet, location-sensitive attention, and the guided-attention prior."""

from __future__ import annotations

import keras
import tensorflow as tf

from open_s2s.layers.linear import matmul_last_axis
from open_s2s.layers.masked_conv import MaskedConv1D
from open_s2s.layers.normalization import BatchNormalization

NEG = -1.0e9  # attention energy of a padded memory frame (float32)


# ---------------------------------------------------------------- weights read in a loop
# Inside ``tf.while_loop`` a Keras layer casts each float32 variable to the compute dtype at
# every step (and the cast's gradient back at every step of the backward loop). The Tacotron
# decoder step reads 15 weights, so under mixed precision it paid 15 casts per step, the LSTM
# kernels ~0.5 M values each. ``cast_once`` casts before the loop; in the loop ``reuse`` hands
# out the cast copy and routes its gradient, in float32, to the float32 value, so the loop's
# gradient accumulators stay float32 (accumulated in bfloat16 over ~100 steps they drift ~2 %).


@tf.custom_gradient
def _reuse(cast_value: tf.Tensor, float32_value: tf.Tensor):
    def grad(upstream):
        return None, tf.cast(upstream, float32_value.dtype)

    return tf.identity(cast_value), grad


def cast_once(variables, dtype) -> list[tuple[tf.Tensor, tf.Tensor]]:
    """``(value in dtype, float32 value)`` of each Keras variable, for ``reuse`` in a loop
    (under float32 both are the variable's value, read once before the loop).

    Reads the backend variable itself: inside a layer's ``call`` the Keras variable would
    already hand out its autocast (compute-dtype) value.
    """
    pairs = []
    for variable in variables:
        value = tf.convert_to_tensor(getattr(variable, "_value", variable))
        pairs.append((tf.cast(value, dtype), value))
    return pairs


def reuse(pair: tuple[tf.Tensor, tf.Tensor]) -> tf.Tensor:
    """Inside the loop: the cast value of a ``cast_once`` pair, gradient to its float32 value.
    Under float32 the value itself (nothing to cast; its gradient accumulates in float32)."""
    cast_value, float32_value = pair
    if cast_value.dtype == float32_value.dtype:
        return cast_value
    return _reuse(cast_value, float32_value)


def lstm_step(x, h, c, kernel, recurrent_kernel, bias):
    """One step of ``keras.layers.LSTMCell`` (gates i, f, c, o; sigmoid / tanh) from given
    weights: ``(h, c)``."""
    z = tf.matmul(x, kernel) + tf.matmul(h, recurrent_kernel) + bias
    z_i, z_f, z_c, z_o = tf.split(z, 4, axis=1)
    c = tf.sigmoid(z_f) * c + tf.sigmoid(z_i) * tf.tanh(z_c)
    return tf.sigmoid(z_o) * tf.tanh(c), c


def build_lstm_cell(cell: keras.layers.LSTMCell, input_dim: int) -> list:
    """Builds ``cell`` for ``input_dim`` inputs if needed; its variables in ``lstm_step`` order."""
    if not cell.built:
        cell.build((None, input_dim))
    return [cell.kernel, cell.recurrent_kernel, cell.bias]


class ConvStack(keras.layers.Layer):
    """``conv -> batch norm -> activation -> dropout`` blocks over ``[batch, time, channels]``.

    Convolutions are centred and padded frames are zeroed before each one, and batch-norm
    statistics use the valid frames only, so a sequence's output does not depend on the
    padding of its batch.

    Args:
      layers: dicts with ``kernel_size`` ([k]), ``num_channels`` and an optional
        ``activation`` (a callable or None for linear) — OpenSeq2Seq's conv layer lists.
      dropout: dropout rate after each block.
      bn_momentum, bn_epsilon: batch-norm settings.
      kernel_initializer: Keras initializer of the kernels.
    """

    def __init__(self, layers, dropout, bn_momentum=0.9, bn_epsilon=1e-3, kernel_initializer="glorot_uniform", **kw):
        super().__init__(**kw)
        self.convs, self.norms, self.activations = [], [], []
        for i, spec in enumerate(layers):
            self.convs.append(
                MaskedConv1D(
                    spec["num_channels"],
                    spec["kernel_size"][0],
                    use_bias=False,
                    kernel_initializer=kernel_initializer,
                    name=f"conv{i}",
                )
            )
            self.norms.append(BatchNormalization(momentum=bn_momentum, epsilon=bn_epsilon, name=f"bn{i}"))
            self.activations.append(spec["activation"])
        self.dropout = keras.layers.Dropout(dropout)

    def call(self, x, lengths, training=False):
        mask = tf.sequence_mask(lengths, tf.shape(x)[1])
        for conv, norm, activation in zip(self.convs, self.norms, self.activations):
            x, _ = conv(x, lengths)
            x = norm(x, training=training, mask=mask)
            if activation is not None:
                x = activation(x)
            x = self.dropout(x, training=training)
        return x * tf.cast(mask[:, :, None], x.dtype)


class Prenet(keras.layers.Layer):
    """Dense + ReLU + dropout layers on the previous output frame, with dropout on at
    inference too (the paper's only source of variation in generated speech).

    At inference the dropout masks are drawn with stateless random ops seeded by
    ``(seed, step)``: a sentence seeded by its own text gets the same masks alone or in a
    batch, and the exported model reproduces ``--mode=infer``.
    """

    def __init__(self, units: int, num_layers: int, rate: float, activation="relu", **kw):
        super().__init__(**kw)
        self.rate = rate
        self.denses = [keras.layers.Dense(units, activation=activation, name=f"dense{i}") for i in range(num_layers)]
        self.train_dropout = keras.layers.Dropout(rate)

    def call(self, x, training=False, seeds=None):
        """``x [batch, ..., features]``.

        In training, Keras dropout. Otherwise ``seeds [batch, 2]`` int32 (one pair per
        sentence, e.g. ``(text hash, 8 * step)``) give each sentence stateless masks.
        """
        for i, dense in enumerate(self.denses):
            x = dense(x)
            if self.rate <= 0:
                continue
            if training:
                x = self.train_dropout(x, training=True)
            else:
                x = self._stateless_dropout(x, seeds + tf.constant([0, i], tf.int32))
        return x

    def _stateless_dropout(self, x, seeds):
        keep = 1.0 - self.rate

        def draw(seed):  # one stateless draw per sentence
            return tf.random.stateless_uniform(tf.shape(x)[1:], seed)

        noise = tf.map_fn(draw, seeds, fn_output_signature=tf.float32)
        return tf.where(noise < keep, x / tf.cast(keep, x.dtype), tf.zeros_like(x))


class LocationSensitiveAttention(keras.layers.Layer):
    """Additive attention with location features (Chorowski et al. 2015, arXiv:1506.07503):
    ``e_j = v . tanh(W q + V m_j + U conv(sum of past weights)_j + b)``, softmax over the valid
    memory frames, computed in float32.

    Args:
      units: attention depth.
      filters, kernel_size: the location convolution.
      use_bias: the bias ``b``.
    """

    def __init__(self, units: int, filters: int = 32, kernel_size: int = 31, use_bias: bool = True, **kw):
        super().__init__(**kw)
        self.memory_layer = keras.layers.Dense(units, use_bias=False, name="memory")
        self.query_layer = keras.layers.Dense(units, use_bias=False, name="query")
        self.location_conv = keras.layers.Conv1D(filters, kernel_size, padding="same", use_bias=False, name="location")
        self.location_layer = keras.layers.Dense(units, use_bias=False, name="location_dense")
        self.v = keras.layers.Dense(1, use_bias=False, name="v")
        self.use_bias = use_bias
        self.units = units

    def build(self, query_shape=None):
        """Creates the bias and, given ``query_shape`` (``[batch, query_dim]``), the layers of a
        step (inside this layer's name scope, as a first call would)."""
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias") if self.use_bias else None
        if query_shape is None:
            return
        for layer, shape in (
            (self.query_layer, (None, query_shape[-1])),
            (self.location_conv, (None, None, 1)),
            (self.location_layer, (None, None, self.location_conv.filters)),
            (self.v, (None, None, self.units)),
        ):
            if not layer.built:
                layer.build(shape)

    def process_memory(self, memory):
        """The memory term ``V m`` (computed once per sentence)."""
        return self.memory_layer(memory)

    def build_step(self, query_dim: int) -> list:
        """Builds the layers ``step`` uses (for a query of ``query_dim``); the variables ``step``
        reads, in its order."""
        if not self.built:
            self.build((None, query_dim))
        kernels = [self.query_layer.kernel, self.location_conv.kernel, self.location_layer.kernel, self.v.kernel]
        return kernels + ([self.bias] if self.use_bias else [])

    def call(self, query, processed_memory, memory, mask, cumulative):
        """One step.

        Args:
          query: ``[batch, query_dim]``.
          processed_memory: ``[batch, L, units]`` from ``process_memory``.
          memory: ``[batch, L, memory_dim]``.
          mask: ``[batch, L]`` bool, True on valid frames.
          cumulative: ``[batch, L]`` float32 sum of past attention weights.

        Returns:
          ``(context [batch, memory_dim], weights [batch, L] float32)``.
        """
        weights = [tf.convert_to_tensor(v) for v in self.build_step(query.shape[-1])]  # autocast here
        return self.step(query, processed_memory, memory, mask, cumulative, weights)

    def step(self, query, processed_memory, memory, mask, cumulative, weights):
        """``call`` with the weights given (from ``build_step``'s variables, in the compute
        dtype), for a decoder loop that casts them once (``cast_once``)."""
        query_kernel, conv_kernel, location_kernel, v_kernel, *bias = weights
        location = tf.nn.conv1d(tf.cast(cumulative, conv_kernel.dtype)[:, :, None], conv_kernel, 1, "SAME")
        hidden = (
            tf.matmul(query, query_kernel)[:, None, :] + processed_memory + matmul_last_axis(location, location_kernel)
        )
        if bias:
            hidden = hidden + bias[0]
        energies = tf.cast(matmul_last_axis(tf.tanh(hidden), v_kernel)[:, :, 0], tf.float32)
        weights = tf.nn.softmax(tf.where(mask, energies, NEG), axis=-1)
        context = tf.einsum("bl,bld->bd", tf.cast(weights, memory.dtype), memory)
        return context, weights


def guided_attention_prior(text_lengths, step_lengths, max_text, max_steps, sigma: float) -> tf.Tensor:
    """``[batch, max_steps, max_text]`` penalty ``1 - exp(-(l/L - s/S)^2 / (2 sigma^2))`` of
    Tachibana et al. 2017 (arXiv:1710.08969): small near the diagonal, 0 outside the valid area."""
    s = tf.cast(tf.range(max_steps), tf.float32)[None, :, None] / tf.cast(step_lengths, tf.float32)[:, None, None]
    n = tf.cast(tf.range(max_text), tf.float32)[None, None, :] / tf.cast(text_lengths, tf.float32)[:, None, None]
    prior = 1.0 - tf.exp(-tf.square(n - s) / (2.0 * sigma**2))
    valid = tf.logical_and(
        tf.sequence_mask(step_lengths, max_steps)[:, :, None], tf.sequence_mask(text_lengths, max_text)[:, None, :]
    )
    return tf.where(valid, prior, 0.0)
