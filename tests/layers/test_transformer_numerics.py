"""Where the Transformer keeps float32 under mixed precision, and what it gives back for speed.

- ``float32_logits``: the forward product is float32 (logits not rounded to bfloat16's 8
  mantissa bits), its two backward products run in the compute dtype; under float32 it is
  exactly ``tf.matmul``.
- ``TransformerBlock``: the residual stream is float32 under mixed_bfloat16, so a block's
  small update survives on a large stream.
References: float32 ``tf.matmul`` / autodiff, and closed-form bfloat16 rounding.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from open_s2s.layers.transformer import TransformerBlock, float32_logits

BF16_EPS = 2.0**-8  # bfloat16 has 8 significant bits: relative rounding error <= 2^-8


def _inputs(dtype):
    rng = np.random.default_rng(0)
    x = tf.cast(tf.constant(rng.normal(size=(3, 7, 32)), tf.float32), dtype)
    table = tf.constant(rng.normal(size=(50, 32)), tf.float32)
    upstream = tf.constant(rng.normal(size=(3, 7, 50)), tf.float32)
    return x, table, upstream


def _grads(fn, x, table, upstream):
    with tf.GradientTape() as tape:
        tape.watch([x, table])
        logits = fn(x, table)
        loss = tf.reduce_sum(logits * upstream)
    return logits, tape.gradient(loss, [x, table])


def _reference(x, table):
    return tf.matmul(tf.cast(x, tf.float32), table, transpose_b=True)


def test_float32_policy_is_a_plain_matmul():
    x, table, upstream = _inputs(tf.float32)
    logits, (dx, dtable) = _grads(float32_logits, x, table, upstream)
    ref, (rdx, rdtable) = _grads(_reference, x, table, upstream)
    assert logits.dtype == dx.dtype == dtable.dtype == tf.float32
    np.testing.assert_allclose(logits, ref, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(dx, rdx, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(dtable, rdtable, rtol=1e-6, atol=1e-5)


def test_bfloat16_forward_is_float32_and_backward_within_bfloat16_rounding():
    x, table, upstream = _inputs(tf.bfloat16)
    logits, (dx, dtable) = _grads(float32_logits, x, table, upstream)
    # the reference: everything in float32 from the same (bfloat16-valued) x
    ref, (rdx, rdtable) = _grads(_reference, tf.cast(x, tf.float32), table, upstream)
    # forward: the float32 product of the bfloat16 inputs, not rounded to bfloat16
    assert logits.dtype == tf.float32
    np.testing.assert_allclose(logits, ref, rtol=1e-6, atol=1e-5)
    rounded = tf.cast(tf.cast(logits, tf.bfloat16), tf.float32)
    assert float(tf.reduce_max(tf.abs(logits - rounded))) > 1e-3, "logits were rounded to bfloat16"
    # backward: gradients reach x in its dtype and the table in float32 ...
    assert dx.dtype == tf.bfloat16 and dtable.dtype == tf.float32
    # ... from bfloat16 products: upstream and table are rounded to bfloat16 (2^-8 each) and each
    # product's result once more (2^-8); the float32 accumulation inside adds nothing visible.
    # |error| <= 3 * 2^-8 * sum_k |a_k||b_k|, bounded here by the product of absolute values.
    for got, want, bound in (
        (dx, rdx, tf.matmul(tf.abs(upstream), tf.abs(table)) * 3 * BF16_EPS),
        (
            dtable,
            rdtable,
            tf.matmul(
                tf.reshape(tf.abs(upstream), [-1, 50]),
                tf.reshape(tf.abs(tf.cast(x, tf.float32)), [-1, 32]),
                transpose_a=True,
            )
            * 3
            * BF16_EPS,
        ),
    ):
        error = tf.abs(tf.cast(got, tf.float32) - want)
        assert bool(tf.reduce_all(error <= bound)), float(tf.reduce_max(error - bound))
        # and really computed in bfloat16 (not a float32 backward): some error is visible
        assert float(tf.reduce_max(error)) > 0


@pytest.fixture
def bf16_policy():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_residual_stream_stays_float32_under_mixed_bfloat16(bf16_policy):
    block = TransformerBlock(16, 2, 32, 0.0, 0.0, 0.0)
    rng = np.random.default_rng(1)
    # A stream around 512, where bfloat16 spaces values 2 apart (512 * 2^-8) and float32 6e-5:
    # a residual sum in bfloat16 (or a block that casts its input to bfloat16) returns values
    # that are all exactly representable in bfloat16; in float32 almost none are.
    x = tf.constant(512.0 + rng.normal(size=(2, 5, 16)), tf.float32)
    out = block(x, tf.ones([1, 5, 5], tf.bool))
    assert out.dtype == tf.float32
    representable = tf.equal(out, tf.cast(tf.cast(out, tf.bfloat16), tf.float32))
    assert float(tf.reduce_mean(tf.cast(representable, tf.float32))) < 0.1
    # the update itself is O(1) (not lost, not blown up)
    assert 0.05 < float(tf.reduce_mean(tf.abs(out - x))) < 20


def test_bfloat16_backward_products_run_in_bfloat16():
    """Speed, checked structurally: of the three products (forward, d_x, d_table) only the
    forward one is float32 under bfloat16 inputs."""
    x, table, upstream = _inputs(tf.bfloat16)

    @tf.function
    def step(x, table):
        return _grads(float32_logits, x, table, upstream)

    graph = step.get_concrete_function(x, table).graph
    products = [op for op in graph.get_operations() if op.type in ("MatMul", "BatchMatMulV2", "BatchMatMulV3")]
    dtypes = sorted(op.inputs[0].dtype.name for op in products)
    assert dtypes == ["bfloat16", "bfloat16", "float32"], dtypes
