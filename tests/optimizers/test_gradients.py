"""Global-norm clipping and the L2 penalty vs their formulas."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from open_s2s.optimizers import clip_by_global_norm, l2_loss, l2_variables


def test_clip_by_global_norm_scales_to_max_norm_and_keeps_none():
    grads = [tf.constant([3.0, 4.0]), None, tf.constant([[12.0]])]  # global norm 13
    clipped, norm = clip_by_global_norm(grads, 6.5)
    assert float(norm) == pytest.approx(13.0)
    assert clipped[1] is None
    np.testing.assert_allclose(clipped[0].numpy(), [1.5, 2.0], rtol=1e-6)
    np.testing.assert_allclose(clipped[2].numpy(), [[6.0]], rtol=1e-6)


def test_clip_by_global_norm_below_threshold_or_disabled():
    grads = [tf.constant([3.0, 4.0])]
    for max_norm in (100.0, None):
        clipped, norm = clip_by_global_norm(grads, max_norm)
        np.testing.assert_allclose(clipped[0].numpy(), [3.0, 4.0])
        assert float(norm) == pytest.approx(5.0)
    clipped, norm = clip_by_global_norm([None, None], 1.0)
    assert clipped == [None, None] and float(norm) == 0.0


def build_model():
    tokens = keras.Input((6,), dtype="int32")
    x = keras.layers.Embedding(10, 4, name="emb")(tokens)
    x = keras.layers.Conv1D(3, 2, name="conv")(x)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.LayerNormalization(name="ln")(x)
    x = keras.layers.LSTM(2, name="lstm")(x)
    return keras.Model(tokens, keras.layers.Dense(2, name="out")(x))


def test_l2_loss_covers_kernels_and_embeddings_only():
    model = build_model()
    layer = model.get_layer
    lstm_cell = layer("lstm").cell
    expected_vars = [
        layer("emb").embeddings,
        layer("conv").kernel,
        lstm_cell.kernel,
        lstm_cell.recurrent_kernel,
        layer("out").kernel,
    ]
    selected = l2_variables(model.variables)
    assert {id(v) for v in selected} == {id(v) for v in expected_vars}
    # Keras numbers auto-named seed generators per process ("seed_generator_78"): drop the suffix.
    excluded = {re.sub(r"^seed_generator_\d+/", "seed_generator/", v.path) for v in model.variables}
    excluded -= {v.path for v in selected}
    assert excluded == {
        "conv/bias",
        "bn/gamma",
        "bn/beta",
        "bn/moving_mean",
        "bn/moving_variance",
        "ln/gamma",
        "ln/beta",
        "lstm/lstm_cell/bias",
        "out/bias",
        "seed_generator/seed_generator_state",
    }

    scale = 0.003
    by_formula = scale * sum(np.sum(np.square(v.numpy().astype(np.float64))) for v in expected_vars)
    by_keras = sum(float(keras.regularizers.L2(scale)(v)) for v in expected_vars)
    got = l2_loss(model.trainable_variables, scale)
    assert got.dtype == tf.float32
    assert float(got) == pytest.approx(by_formula, rel=1e-5)
    assert float(got) == pytest.approx(by_keras, rel=1e-5)


def test_l2_loss_on_raw_tf_variables_and_empty():
    kernel = tf.Variable([[1.0, 2.0]], name="dense/kernel")
    bias = tf.Variable([5.0], name="dense/bias")
    assert float(l2_loss([kernel, bias], 0.5)) == pytest.approx(0.5 * 5.0)
    assert float(l2_loss([bias], 0.5)) == 0.0
