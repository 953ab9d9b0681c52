"""BestKeeper over successive evals: a better eval replaces the best checkpoint, a worse one
does not, for a lower-is-better metric (WER) and a higher-is-better one (accuracy)."""

import json
import os

import pytest
import tensorflow as tf

from open_s2s.models import Speech2Text, SpeechCommands
from open_s2s.training import checkpoints as ckpt_lib


def best_state(logdir):
    """(value of the tracked variable in the best checkpoint, best.json)."""
    v = tf.Variable(0.0)
    tf.train.Checkpoint(v=v).read(ckpt_lib.find_checkpoint(logdir, prefer_best=True)).expect_partial()
    with open(os.path.join(logdir, ckpt_lib.BEST_DIR, "best.json")) as f:
        return float(v.numpy()), json.load(f)


# The primary metric of each family, then three evals: first, better, worse than the second.
@pytest.mark.parametrize(
    "model_cls, evals",
    [(Speech2Text, [30.0, 20.0, 25.0]), (SpeechCommands, [70.0, 80.0, 75.0])],
    ids=["wer_lower_is_better", "accuracy_higher_is_better"],
)
def test_a_better_eval_replaces_the_best_checkpoint_and_a_worse_one_does_not(tmp_path, model_cls, evals):
    metric, lower = model_cls.PRIMARY_METRIC
    assert lower is {"WER": True, "accuracy": False}[metric]
    first, better, worse = evals
    weights = tf.Variable(0.0)
    checkpoint = tf.train.Checkpoint(v=weights)
    logdir = str(tmp_path)
    keeper = ckpt_lib.BestKeeper(checkpoint, logdir, metric, lower, keep=5)

    weights.assign(1.0)
    assert keeper.update({metric: first, "loss": 9.0}, step=100)
    value, record = best_state(logdir)
    assert value == 1.0 and record["metric"] == metric and record["value"] == first and record["step"] == 100

    weights.assign(2.0)
    assert keeper.update({metric: better}, step=200), f"{metric} {first} -> {better} is an improvement"
    value, record = best_state(logdir)
    assert value == 2.0 and record["value"] == better and record["step"] == 200

    weights.assign(3.0)
    assert not keeper.update({metric: worse}, step=300), f"{metric} {better} -> {worse} is not an improvement"
    assert not keeper.update({metric: float("nan")}, step=350)
    value, record = best_state(logdir)
    assert value == 2.0 and record["value"] == better and record["step"] == 200

    # A resumed run reads the best value back and still refuses the worse eval.
    resumed = ckpt_lib.BestKeeper(checkpoint, logdir, metric, lower, keep=5)
    assert resumed.best == better
    assert not resumed.update({metric: worse}, step=400)
    assert best_state(logdir)[0] == 2.0
