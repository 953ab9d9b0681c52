"""Loss scalers: Backoff against Keras's LossScaleOptimizer, LogMax against its formula."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from open_s2s.config.params import ConfigError
from open_s2s.optimizers import BackoffScaler, LogMaxScaler, LossScaler, make_loss_scaler

# finite (True) / overflowing (False) steps
SCRIPT = [True] * 7 + [False] + [True] * 3 + [False, False] + [True] * 10


def run(scaler, script, amaxes=None):
    scales = []
    for i, finite in enumerate(script):
        amax = 1.0 if amaxes is None else amaxes[i]
        scaler.update(tf.constant(finite), tf.constant(amax, tf.float32))
        scales.append(float(scaler.scale.numpy()))
    return scales


def test_backoff_matches_keras_loss_scale_optimizer():
    """Same initial scale and growth window: the same scale after every step."""
    ours = BackoffScaler({"initial_scale": 2.0**15, "step_window": 3, "scale_min": 2.0**-30, "scale_max": 2.0**40})
    var = keras.Variable(np.zeros(2, np.float32))
    lso = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1), initial_scale=2.0**15, dynamic_growth_steps=3)
    lso.build([var])
    keras_scales = []
    for finite in SCRIPT:
        grad = tf.constant([1.0, 2.0]) if finite else tf.constant([np.inf, 1.0])
        lso.apply([grad], [var])
        keras_scales.append(float(lso.dynamic_scale.numpy()))
    assert run(ours, SCRIPT) == keras_scales
    assert int(ours.skipped_steps.numpy()) == SCRIPT.count(False) == 3


def test_backoff_grows_after_step_window_and_is_clamped():
    scaler = BackoffScaler({"initial_scale": 8.0, "step_window": 4, "scale_min": 2.0, "scale_max": 32.0})
    scales = run(scaler, [True] * 12 + [False] * 5)
    assert scales[:12] == [8, 8, 8, 16, 16, 16, 16, 32, 32, 32, 32, 32]  # doubles on the 4th clean step
    assert scales[12:] == [16, 8, 4, 2, 2]  # halves on overflow, never below scale_min


def test_backoff_defaults_are_openseq2seqs():
    scaler = BackoffScaler()
    assert float(scaler.scale.numpy()) == 2.0**24
    assert scaler.params["step_window"] == 2000 and scaler.params["step_factor"] == 2.0


def logmax_reference(amaxes, finite, log_max=16.0, beta1=0.99, beta2=0.999, k=3.09, smin=1.0, smax=2.0**24):
    """The LogMax formula written out in float64 (module docstring of loss_scaling)."""
    x_hat = slow = sq = 0.0
    scales = []
    for t, (a, ok) in enumerate(zip(amaxes, finite), start=1):
        x = math.log2(a) if ok else log_max
        x_hat = beta1 * x_hat + (1 - beta1) * x
        slow = beta2 * slow + (1 - beta2) * x
        sq = beta2 * sq + (1 - beta2) * x * x
        mu = x_hat / (1 - beta1**t)
        m = slow / (1 - beta2**t)
        sigma = math.sqrt(max(sq / (1 - beta2**t) - m * m, 0.0))
        scales.append(min(max(2.0 ** (log_max - (mu + k * sigma)), smin), smax))
    return scales


def test_logmax_follows_its_formula_on_scripted_gradient_maxima():
    rng = np.random.default_rng(0)
    amaxes = (2.0 ** rng.normal(-6.0, 2.0, size=40)).tolist()
    finite = [i not in (10, 25) for i in range(40)]
    ours = run(LogMaxScaler(), finite, amaxes)
    expected = logmax_reference(amaxes, finite)
    # float32 state vs float64 reference: equal to 0.01 in log2 (0.7% in scale)
    np.testing.assert_allclose(np.log2(ours), np.log2(expected), atol=1e-2)
    # sanity of the test itself: the scale moves, and an overflow lowers it
    assert max(expected) / min(expected) > 4
    assert expected[10] < expected[9] and expected[25] < expected[24]


def test_logmax_keeps_the_largest_scaled_gradient_below_float16_max():
    rng = np.random.default_rng(1)
    amaxes = (2.0 ** rng.normal(-8.0, 1.0, size=300)).tolist()
    scales = run(LogMaxScaler(), [True] * 300, amaxes)
    scaled = np.array(amaxes[1:]) * np.array(scales[:-1])  # scale chosen before seeing the step
    assert (scaled > 65504).mean() < 0.02
    assert np.median(scaled) > 2.0**10  # and uses most of float16's range


def test_make_loss_scaler():
    assert make_loss_scaler("float32", "Backoff", {}) is None
    assert make_loss_scaler("mixed_bf16", "Backoff", {}) is None
    assert isinstance(make_loss_scaler("mixed", "backoff", {}), BackoffScaler)
    assert isinstance(make_loss_scaler("mixed", "LogMax", {"beta1": 0.9}), LogMaxScaler)
    static = make_loss_scaler("mixed", 512, {})
    assert type(static) is LossScaler and float(static.scale.numpy()) == 512.0
    assert run(static, [False, True]) == [512.0, 512.0]  # a static scale never moves
    with pytest.raises(ConfigError, match="unknown scaler 'Back'"):
        make_loss_scaler("mixed", "Back", {})
    with pytest.raises(ConfigError, match="loss_scaling_params \\(Backoff\\).*step_windw"):
        make_loss_scaler("mixed", "Backoff", {"step_windw": 10})
    with pytest.raises(ConfigError, match="positive"):
        make_loss_scaler("mixed", -1.0, {})
