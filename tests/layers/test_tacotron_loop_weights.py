"""The Tacotron decoder's loop reads weights cast once per batch, not once per step.

- ``lstm_step`` is ``keras.layers.LSTMCell`` (the reference) on the same weights;
- ``cast_once`` + ``reuse`` in a ``tf.while_loop`` give the gradients of casting at every step
  (Keras' autocast), accumulated in float32, under mixed_bfloat16;
- the decoder's variables keep the paths a first call gives them (checkpoints are keyed by path).
"""

import keras
import numpy as np
import tensorflow as tf

from open_s2s.layers.tacotron import LocationSensitiveAttention, build_lstm_cell, cast_once, lstm_step, reuse


def test_lstm_step_is_keras_lstm_cell():
    cell = keras.layers.LSTMCell(8, bias_initializer="random_normal")  # a nonzero bias is checked too
    rng = np.random.default_rng(0)
    x, h, c = (tf.constant(rng.normal(size=s), tf.float32) for s in ((4, 5), (4, 8), (4, 8)))
    want_h, (_, want_c) = cell(x, [h, c])
    got_h, got_c = lstm_step(x, h, c, *build_lstm_cell(cell, 5))
    np.testing.assert_allclose(got_h, want_h, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got_c, want_c, rtol=1e-6, atol=1e-6)


def _loop_gradients(weights_in_loop):
    """Gradients of a 60-step recurrence ``h <- tanh(x_t W + h R)`` in bfloat16 w.r.t. float32 W, R."""
    rng = np.random.default_rng(1)
    w = tf.Variable(rng.normal(size=(16, 32)) * 0.3, dtype=tf.float32)
    r = tf.Variable(rng.normal(size=(32, 32)) * 0.2, dtype=tf.float32)
    xs = tf.cast(tf.constant(rng.normal(size=(60, 8, 16)), tf.float32), tf.bfloat16)
    with tf.GradientTape() as tape:
        get = weights_in_loop([w, r])

        def body(t, h, total):
            w_t, r_t = get()
            h = tf.tanh(tf.matmul(xs[t], w_t) + tf.matmul(h, r_t))
            return t + 1, h, total + tf.reduce_sum(tf.cast(h, tf.float32))

        _, _, total = tf.while_loop(lambda t, *_: t < 60, body, (0, tf.zeros([8, 32], tf.bfloat16), 0.0))
    return [g.numpy() for g in tape.gradient(total, [w, r])]


def per_step_cast(variables):  # what Keras' autocast does inside a loop
    return lambda: [tf.cast(v, tf.bfloat16) for v in variables]


def cast_before_loop(variables):
    pairs = cast_once(variables, tf.bfloat16)
    return lambda: [reuse(pair) for pair in pairs]


def test_cast_once_gives_the_per_step_cast_gradients():
    want = _loop_gradients(per_step_cast)
    got = _loop_gradients(cast_before_loop)
    for g, w in zip(got, want):
        assert g.dtype == np.float32
        # the same bfloat16 products, accumulated over the steps in float32 in both cases: equal up
        # to float32 summation order (1e-6 relative); a bfloat16 accumulator is off by ~1e-2
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5 * np.abs(w).max())


def test_attention_variables_keep_their_first_call_paths():
    attention = LocationSensitiveAttention(6, filters=3, kernel_size=5, name="attention")
    variables = attention.build_step(query_dim=4)
    assert [v.path for v in variables] == [
        "attention/query/kernel",
        "attention/location/kernel",
        "attention/location_dense/kernel",
        "attention/v/kernel",
        "attention/bias",
    ]


def test_float32_loop_reads_the_variable_value_without_per_step_ops():
    variable = tf.Variable(tf.ones([3, 4]))
    (pair,) = cast_once([variable], tf.float32)
    assert reuse(pair) is pair[0] and pair[0].dtype == tf.float32
