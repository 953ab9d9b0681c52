"""LARC clip/scale vs hand computation."""

import numpy as np
import pytest
import tensorflow as tf

from open_s2s.config.params import ConfigError, validate
from open_s2s.optimizers import LARC_PARAMS, apply_larc

W = np.array([3.0, 4.0], np.float32)  # ||w|| = 5
G = np.array([0.6, 0.8], np.float32)  # ||g|| = 1
# local lr r = eta * ||w|| / (||g|| + eps) = 0.002 * 5 / (1 + 1e-7)
R = 0.002 * 5 / (1 + 1e-7)


def larc(grad, var, lr, **kw):
    [(g, _)] = apply_larc([(tf.constant(grad), tf.Variable(var))], lr, **kw)
    return g.numpy()


def test_scale_mode_multiplies_by_local_lr():
    np.testing.assert_allclose(larc(G, W, 0.1, larc_mode="scale"), G * R, rtol=1e-6)


def test_clip_mode_caps_the_effective_lr():
    # r / lr = 0.1 < 1: effective lr becomes r.
    np.testing.assert_allclose(larc(G, W, 0.1, larc_mode="clip"), G * R / 0.1, rtol=1e-6)
    # r / lr = 10 > 1: gradient untouched.
    np.testing.assert_allclose(larc(G, W, 0.001, larc_mode="clip"), G, rtol=1e-6)


@pytest.mark.parametrize("mode, lr", [("scale", 0.1), ("clip", 1.0)])
def test_min_update_floor(mode, lr):
    tiny = W * 1e-6  # r = 1e-8 < min_update
    np.testing.assert_allclose(larc(G, tiny, lr, larc_mode=mode, min_update=1e-7), G * 1e-7, rtol=1e-6)


def test_eta_epsilon_and_none_gradients():
    var = tf.Variable(W)
    out = apply_larc(
        [(None, var), (tf.constant(G * 0), var)],
        1.0,
        larc_eta=0.01,
        larc_mode="scale",
        epsilon=0.5,
    )
    assert out[0][0] is None and out[0][1] is var
    np.testing.assert_allclose(out[1][0].numpy(), [0.0, 0.0])
    # ||g|| = 0: r = 0.01 * 5 / 0.5 = 0.1
    np.testing.assert_allclose(
        larc(G, W, 1.0, larc_eta=0.01, larc_mode="scale", epsilon=0.5),
        G * 0.01 * 5 / 1.5,
        rtol=1e-6,
    )


def test_gradient_dtype_is_kept():
    [(g, _)] = apply_larc([(tf.constant(G, tf.float16), tf.Variable(W))], 0.1, larc_mode="scale")
    assert g.dtype == tf.float16
    # float16 roundings: G, the multiplier (through ||G|| and its cast), the product
    np.testing.assert_allclose(g.numpy(), G * R, rtol=4 * 2.0**-11)


def test_larc_params_spec():
    assert dict(validate("larc_params", {}, LARC_PARAMS)) == {
        "larc_eta": 0.002,
        "larc_mode": "clip",
        "min_update": 1e-7,
        "epsilon": 1e-7,
    }
    with pytest.raises(ConfigError, match="larc_mode"):
        validate("larc_params", {"larc_mode": "trust"}, LARC_PARAMS)
    with pytest.raises(ConfigError, match="'eta'"):
        validate("larc_params", {"eta": 0.1}, LARC_PARAMS)


@pytest.mark.parametrize("var", [np.zeros(2, np.float32), W])
def test_clip_mode_at_zero_learning_rate_is_finite(var):
    # Step 0 of every warmup schedule has lr = 0. OpenSeq2Seq's r / lr is then 0/0 = NaN for a
    # zero-initialised variable (biases, BN beta) and inf otherwise; the effective rate
    # lr * c = min(lr, r) is 0 either way, so the multiplier must be a finite number (1 here,
    # the "r >= lr" branch: the gradient is not clipped).
    got = larc(G, var, 0.0, larc_mode="clip")
    np.testing.assert_array_equal(got, G)


def test_clip_mode_with_zero_gradient_and_zero_variable():
    # ||w|| = ||g|| = 0: r = 0 < lr, so c = max(0 / lr, min_update) = min_update; no NaN.
    got = larc(np.zeros(2, np.float32), np.zeros(2, np.float32), 0.1, larc_mode="clip")
    np.testing.assert_array_equal(got, [0.0, 0.0])
