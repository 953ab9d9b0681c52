"""LR policies vs hand-computed values and vs Keras' own schedules."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from open_s2s.config.params import ConfigError
from open_s2s.optimizers import (
    PolicySchedule,
    cosine_decay,
    exp_decay,
    fixed_lr,
    make_schedule,
    piecewise_constant,
    poly_decay,
    transformer_policy,
)


def values(schedule, steps):
    return [float(schedule(s)) for s in steps]


def test_fixed_lr():
    assert values(make_schedule(fixed_lr, {"learning_rate": 0.3}), [0, 10**6]) == pytest.approx([0.3, 0.3])
    assert values(make_schedule(None, {}, learning_rate=0.3), [7]) == pytest.approx([0.3])


def test_poly_decay_warmup_decay_and_floor():
    s = make_schedule(
        poly_decay,
        {"power": 2.0, "warmup_steps": 10, "min_lr": 0.01},
        0.1,
        max_steps=100,
    )
    # warmup 0 -> 0.05 -> 0.1; then (0.1-0.01)*(1-(t-10)/90)^2 + 0.01 (OpenSeq2Seq's
    # decay_steps = max_steps - warmup_steps); min_lr at the last step and after.
    expected = [0.0, 0.05, 0.1, 0.09 * 0.5**2 + 0.01, 0.01, 0.01]
    assert values(s, [0, 5, 10, 55, 100, 500]) == pytest.approx(expected, rel=1e-6)


def test_poly_decay_begin_decay_at():
    s = make_schedule(poly_decay, {"begin_decay_at": 20, "min_lr": 0.01}, 0.1, max_steps=100)
    # decay over max_steps - begin_decay_at = 80 steps
    assert values(s, [0, 19, 20, 60, 100]) == pytest.approx([0.1, 0.1, 0.1, 0.09 * 0.5 + 0.01, 0.01], rel=1e-6)


def test_poly_decay_matches_keras_polynomial_decay():
    ours = make_schedule(poly_decay, {"power": 3.0, "min_lr": 0.02, "decay_steps": 50}, 0.5)
    ref = keras.optimizers.schedules.PolynomialDecay(0.5, 50, end_learning_rate=0.02, power=3.0)
    steps = range(0, 80, 7)
    np.testing.assert_allclose(values(ours, steps), values(ref, steps), rtol=1e-6)


def test_cosine_decay_warmup_and_floor():
    # lr0 = 1: the fraction min_lr = 0.1 is also the final rate
    s = make_schedule(cosine_decay, {"warmup_steps": 10, "min_lr": 0.1}, 1.0, max_steps=110)
    half_amp = 0.45
    expected = [
        0.0,
        0.5,
        1.0,
        0.1 + half_amp * (1 + math.cos(math.pi / 4)),
        0.55,
        0.1,
        0.1,
    ]
    assert values(s, [0, 5, 10, 35, 60, 110, 200]) == pytest.approx(expected, rel=1e-6)


def test_cosine_decay_matches_keras_cosine_decay():
    ours = make_schedule(cosine_decay, {"min_lr": 0.1}, 2.0, max_steps=100)
    ref = keras.optimizers.schedules.CosineDecay(2.0, 100, alpha=0.1)  # min_lr is alpha, as in OpenSeq2Seq
    steps = range(0, 130, 9)
    np.testing.assert_allclose(values(ours, steps), values(ref, steps), rtol=1e-5)


def test_run_shorter_than_its_warmup_never_decays():
    # a smoke test or a benchmark of a few steps on a config with a long warmup
    for policy in (cosine_decay, poly_decay):
        s = make_schedule(policy, {"warmup_steps": 100}, 1.0, max_steps=10)
        assert values(s, [0, 5, 10]) == pytest.approx([0.0, 0.05, 0.1])


def test_exp_decay_begin_staircase_floor_and_warmup():
    params = {"decay_steps": 10, "decay_rate": 0.5, "begin_decay_at": 5, "min_lr": 0.1}
    smooth = make_schedule(exp_decay, params, 1.0)
    assert values(smooth, [4, 5, 15, 20, 100]) == pytest.approx([1, 1, 0.5, 0.5**1.5, 0.1], rel=1e-6)
    stair = make_schedule(exp_decay, {**params, "use_staircase_decay": True}, 1.0)  # OpenSeq2Seq alias
    assert values(stair, [20, 25]) == pytest.approx([0.5, 0.25], rel=1e-6)
    warm = make_schedule(exp_decay, {**params, "warmup_steps": 4, "staircase": True}, 1.0)
    assert values(warm, [0, 2, 4, 15]) == pytest.approx([0, 0.5, 1, 0.5], rel=1e-6)


def test_exp_decay_matches_keras_exponential_decay():
    ours = make_schedule(exp_decay, {"decay_steps": 7, "decay_rate": 0.8, "staircase": True}, 0.3)
    ref = keras.optimizers.schedules.ExponentialDecay(0.3, 7, 0.8, staircase=True)
    steps = range(0, 50, 3)
    np.testing.assert_allclose(values(ours, steps), values(ref, steps), rtol=1e-6)


def test_piecewise_constant_boundaries_are_inclusive_like_tf():
    s = make_schedule(piecewise_constant, {"boundaries": [10, 20], "decay_rates": [0.5, 0.1]}, 0.1)
    expected = [0.1, 0.1, 0.05, 0.05, 0.01, 0.01]
    steps = [0, 10, 11, 20, 21, 1000]
    assert values(s, steps) == pytest.approx(expected, rel=1e-6)
    ref = keras.optimizers.schedules.PiecewiseConstantDecay([10, 20], [0.1, 0.05, 0.01])
    np.testing.assert_allclose(values(s, steps), values(ref, steps), rtol=1e-6)
    epochs = make_schedule(
        piecewise_constant,
        {"boundaries": [2, 4], "decay_rates": [0.5, 0.1], "steps_per_epoch": 5},
        0.1,
    )
    assert values(epochs, steps) == pytest.approx(expected, rel=1e-6)


def test_piecewise_constant_length_mismatch():
    with pytest.raises(ConfigError, match="decay_rates"):
        make_schedule(piecewise_constant, {"boundaries": [10, 20], "decay_rates": [0.5]}, 0.1)


def test_transformer_policy():
    s = make_schedule(transformer_policy, {"d_model": 256, "warmup_steps": 100}, 2.0)
    # 2 * 256^-0.5 = 0.125 times min((t+1)^-0.5, (t+1) * 100^-1.5)
    assert values(s, [0, 99, 399]) == pytest.approx([0.125 * 1e-3, 0.125 * 0.1, 0.125 * 0.05], rel=1e-5)
    capped = make_schedule(transformer_policy, {"d_model": 256, "warmup_steps": 100, "max_lr": 0.01}, 2.0)
    assert values(capped, [0, 99, 399]) == pytest.approx([0.125e-3, 0.01, 0.00625], rel=1e-5)


def test_make_schedule_fills_decay_steps_and_learning_rate():
    s = make_schedule("poly_decay", {}, learning_rate=0.2, max_steps=40)
    assert s.params["decay_steps"] == 40 and s.params["learning_rate"] == 0.2
    explicit = make_schedule(poly_decay, {"decay_steps": 10, "learning_rate": 0.2}, max_steps=40)
    assert explicit.params["decay_steps"] == 10


@pytest.mark.parametrize(
    "policy, params, match",
    [
        (poly_decay, {"decay_step": 10}, "poly_decay.*'decay_step'"),
        (transformer_policy, {"warmup_steps": 10}, "transformer_policy.*'d_model'"),
        (exp_decay, {"decay_rate": "fast", "decay_steps": 3}, "decay_rate"),
        (poly_decay, {"decay_steps": 0}, "decay_steps"),
        (
            poly_decay,
            {"learning_rate": 0.5},
            "learning_rate",
        ),  # conflicts with 0.1 below
        ("no_such_policy", {}, "no_such_policy"),
    ],
)
def test_make_schedule_errors_name_policy_and_key(policy, params, match):
    with pytest.raises(ConfigError, match=match):
        make_schedule(policy, params, learning_rate=0.1, max_steps=100)


def test_schedule_in_tf_function_with_int64_step_and_config_round_trip():
    s = make_schedule(poly_decay, {"warmup_steps": 4}, 0.4, max_steps=20)
    step = tf.Variable(0, dtype=tf.int64)
    lr_at = tf.function(lambda: s(step))
    got = []
    for t in range(3):
        step.assign(t)
        got.append(float(lr_at()))
    assert got == pytest.approx([0.0, 0.1, 0.2])
    restored = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(s))
    assert isinstance(restored, PolicySchedule) and restored.policy is poly_decay
    assert values(restored, [2, 9]) == pytest.approx(values(s, [2, 9]))


def test_user_policy_without_annotations():
    def halve_after(global_step, learning_rate, at):
        return tf.where(global_step < at, learning_rate, learning_rate / 2)

    s = make_schedule(halve_after, {"at": 3}, learning_rate=1.0)
    assert values(s, [2, 3]) == pytest.approx([1.0, 0.5])
    with pytest.raises(ConfigError, match="halve_after.*'after'"):
        make_schedule(halve_after, {"after": 3}, learning_rate=1.0)
