"""LR policies against OpenSeq2Seq's formulas (open_seq2seq/optimizers/lr_policies.py and the
defaults its Model filled in), in closed form at chosen steps, the last step included."""

import math

import keras
import numpy as np
import pytest

from open_s2s.optimizers import cosine_decay, exp_decay, make_schedule, piecewise_constant, poly_decay


def values(schedule, steps):
    return [float(schedule(s)) for s in steps]


def poly(t, lr0, min_lr, power, begin, length):
    """tf.train.polynomial_decay(lr0, t - begin, length, min_lr, power)."""
    s = min(t - begin, length)
    return (lr0 - min_lr) * (1 - s / length) ** power + min_lr


@pytest.mark.parametrize("warmup, begin", [(10, 0), (0, 20), (10, 30), (30, 10)])
def test_poly_decay_reaches_min_lr_at_the_last_step(warmup, begin):
    # OpenSeq2Seq's Model: begin_decay_at = max(begin_decay_at, warmup_steps) and
    # decay_steps = max_steps - begin_decay_at, so the decay ends exactly at max_steps.
    lr0, min_lr, power, last = 0.1, 0.01, 2.0, 100
    s = make_schedule(
        poly_decay, {"power": power, "min_lr": min_lr, "warmup_steps": warmup, "begin_decay_at": begin}, lr0, last
    )
    b = max(warmup, begin)
    assert s.params["decay_steps"] == last - b
    steps = [b, (b + last) // 2, last - 1, last]
    expected = [poly(t, lr0, min_lr, power, b, last - b) for t in steps]
    assert values(s, steps) == pytest.approx(expected, rel=1e-6)
    assert float(s(last)) == pytest.approx(min_lr, rel=1e-6)
    if warmup:
        assert values(s, [0, warmup // 2]) == pytest.approx([0.0, lr0 * (warmup // 2) / warmup], rel=1e-6)


def test_cosine_decay_min_lr_is_a_fraction_of_the_learning_rate():
    # OpenSeq2Seq passed min_lr as tf.train.cosine_decay's alpha: the last lr is lr0 * min_lr.
    lr0, alpha, last, warmup = 2.0, 0.1, 110, 10
    s = make_schedule(cosine_decay, {"min_lr": alpha, "warmup_steps": warmup}, lr0, last)
    ref = keras.optimizers.schedules.CosineDecay(lr0, last - warmup, alpha=alpha)  # tf.train.cosine_decay
    steps = [warmup, 35, 60, 85, last - 1, last]
    np.testing.assert_allclose(values(s, steps), [float(ref(t - warmup)) for t in steps], rtol=1e-5)
    assert float(s(last)) == pytest.approx(lr0 * alpha, rel=1e-6)
    assert values(s, [0, 5]) == pytest.approx([0.0, 1.0], rel=1e-6)


def test_cosine_decay_begin_decay_at():
    lr0, last, begin = 1.0, 100, 40
    s = make_schedule(cosine_decay, {"begin_decay_at": begin}, lr0, last)
    expected = [lr0, lr0, lr0 * 0.5 * (1 + math.cos(math.pi * 30 / 60)), 0.0]
    assert values(s, [0, begin, begin + 30, last]) == pytest.approx(expected, rel=1e-6, abs=1e-7)


def test_exp_decay_default_length_counts_from_the_decay_start():
    # decay_steps filled as max_steps - begin_decay_at: the lr is lr0 * decay_rate at the last step.
    s = make_schedule(exp_decay, {"decay_rate": 0.1, "begin_decay_at": 20}, 1.0, 100)
    assert values(s, [20, 60, 100]) == pytest.approx([1.0, 0.1**0.5, 0.1], rel=1e-6)


def test_inv_poly_decay_matches_openseq2seq_and_ends_at_min_lr():
    from open_s2s.optimizers import inv_poly_decay

    lr0, min_lr, power, last = 0.5, 1e-3, 2.0, 200
    s = make_schedule(inv_poly_decay, {"min_lr": min_lr, "power": power}, lr0, last)
    scale = ((lr0 / min_lr) ** (1 / power) - 1) / last  # OpenSeq2Seq's formula
    steps = [0, 1, 50, 199, 200]
    expected = [lr0 / (1 + scale * t) ** power for t in steps]
    assert values(s, steps) == pytest.approx(expected, rel=1e-5)
    assert float(s(last)) == pytest.approx(min_lr, rel=1e-5)
    warm = make_schedule(inv_poly_decay, {"min_lr": min_lr, "power": power, "warmup_steps": 50}, lr0, last)
    scale = ((lr0 / min_lr) ** (1 / power) - 1) / (last - 50)
    expected = [0.0, lr0 / 2, lr0, lr0 / (1 + scale * 75) ** power, min_lr]
    assert values(warm, [0, 25, 50, 125, 200]) == pytest.approx(expected, rel=1e-5, abs=1e-8)


def test_inv_poly_decay_checks_power():
    from open_s2s.config.params import ConfigError
    from open_s2s.optimizers import inv_poly_decay

    with pytest.raises(ConfigError, match="power"):
        make_schedule(inv_poly_decay, {"min_lr": 1e-3, "power": 0.0}, 0.1, 100)


def test_piecewise_constant_boundaries_in_epochs_through_the_trainer(small_config, tmp_path):
    # With num_epochs, OpenSeq2Seq's Model filled steps_per_epoch: boundaries are epochs.
    from open_s2s.config.loader import resolve_config
    from open_s2s.modes import build_model, make_data_layer
    from open_s2s.modes.train import schedule_lengths
    from open_s2s.training.runtime import make_runtime
    from open_s2s.training.trainer import Trainer

    overrides = [
        "--max_steps=None",
        "--num_epochs=3",
        "--lr_policy=open_s2s.optimizers.piecewise_constant",
        "--lr_policy_params={'learning_rate':0.1,'boundaries':[1,2],'decay_rates':[0.5,0.1]}",
    ]
    model_cls, params = resolve_config(small_config, "train", overrides)
    runtime = make_runtime(params)
    dl = make_data_layer(params, "train")
    total, per_epoch = schedule_lengths(params, dl.num_samples, runtime.num_replicas)
    assert per_epoch == dl.num_samples / 4 and total == math.ceil(3 * per_epoch)
    model = build_model(model_cls, params, dl.spec)
    trainer = Trainer(model, params, runtime, str(tmp_path / "run"), total, steps_per_epoch=per_epoch)
    epoch = per_epoch
    steps = [0, math.floor(epoch), math.floor(epoch) + 1, math.floor(2 * epoch) + 1, total]
    assert values(trainer.schedule, steps) == pytest.approx([0.1, 0.1, 0.05, 0.01, 0.01], rel=1e-6)


def test_piecewise_constant_in_steps_without_num_epochs():
    s = make_schedule(piecewise_constant, {"boundaries": [10], "decay_rates": [0.5]}, 0.1, 100, steps_per_epoch=None)
    assert values(s, [10, 11]) == pytest.approx([0.1, 0.05])
