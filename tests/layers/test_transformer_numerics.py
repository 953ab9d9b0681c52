"""Where the Transformer keeps float32 under mixed_bfloat16 (docs/benchmarks.md: these two
places close the bf16 BLEU gap at equal steps; attention scores run in the compute dtype).

- ``SharedEmbedding.logits``: float32 products of the bfloat16 activations, not rounded to
  bfloat16's 8 significant bits; its gradients equal float32 autodiff's.
- ``TransformerBlock``: the residual stream is float32, so a block's small update survives on
  a large stream.
References: float32 ``tf.matmul`` / autodiff, and closed-form bfloat16 rounding.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from open_s2s.layers.transformer import SharedEmbedding, TransformerBlock


@pytest.fixture
def bf16_policy():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_logits_are_float32_products_of_bfloat16_activations(bf16_policy):
    embedding = SharedEmbedding(50, 32)
    embedding.build()
    rng = np.random.default_rng(0)
    x = tf.cast(tf.constant(rng.normal(size=(3, 7, 32)), tf.float32), tf.bfloat16)
    upstream = tf.constant(rng.normal(size=(3, 7, 50)), tf.float32)
    table = embedding.weights_matrix
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        logits = embedding.logits(x)
        loss = tf.reduce_sum(logits * upstream)
        x32 = tf.cast(x, tf.float32)  # the reference: the same values, float32 throughout
        tape.watch(x32)
        ref = tf.matmul(x32, tf.convert_to_tensor(table.value), transpose_b=True)
        ref_loss = tf.reduce_sum(ref * upstream)
    assert logits.dtype == tf.float32
    np.testing.assert_allclose(logits, ref, rtol=1e-6, atol=1e-5)
    rounded = tf.cast(tf.cast(logits, tf.bfloat16), tf.float32)
    assert float(tf.reduce_max(tf.abs(logits - rounded))) > 1e-3, "logits were rounded to bfloat16"
    d_table, d_ref = tape.gradient(loss, table.value), tape.gradient(ref_loss, table.value)
    np.testing.assert_allclose(d_table, d_ref, rtol=1e-5, atol=1e-5)


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
