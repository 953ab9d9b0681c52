"""PaddedCrossEntropyLossWithSmoothing against a numpy re-derivation of OpenSeq2Seq's formula."""

import numpy as np
import pytest
import tensorflow as tf

from open_s2s.config.params import ConfigError
from open_s2s.data import keys
from open_s2s.data.data_spec import DataSpec, token_ids
from open_s2s.losses import PaddedCrossEntropyLossWithSmoothing

V = 6
SPEC = DataSpec(token_ids(tuple("abcdef")), token_ids(tuple("abcdef"), 0, 2, 1, 3))


def numpy_loss(logits, labels, lengths, smoothing):
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    on, off = 1.0 - smoothing, smoothing / (V - 1)
    total, count = 0.0, 0
    for b in range(len(lengths)):
        for t in range(lengths[b]):
            q = np.full(V, off)
            q[labels[b, t]] = on
            entropy = -sum(p * np.log(p) for p in q if p > 0)
            total += -(q * logp[b, t]).sum() - entropy
            count += 1
    return total / count


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_matches_numpy_and_ignores_padding(smoothing):
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, (3, 5, V)).astype(np.float32)
    labels = rng.integers(0, V, (3, 5)).astype(np.int32)
    lengths = np.array([5, 3, 1], np.int32)
    loss = PaddedCrossEntropyLossWithSmoothing({"label_smoothing": smoothing}, SPEC)
    batch = {keys.TARGET: tf.constant(labels), keys.TARGET_LENGTH: tf.constant(lengths)}
    got = float(loss({keys.LOGITS: tf.constant(logits)}, batch))
    assert got == pytest.approx(numpy_loss(logits, labels, lengths, smoothing), rel=1e-5)
    logits[1, 3:] = 100.0  # padding positions must not matter
    labels[2, 1:] = 0
    batch = {keys.TARGET: tf.constant(labels), keys.TARGET_LENGTH: tf.constant(lengths)}
    assert float(loss({keys.LOGITS: tf.constant(logits)}, batch)) == pytest.approx(got, rel=1e-6)


def test_perfect_prediction_scores_zero_and_half_precision_logits_are_upcast():
    labels = np.array([[1, 4, 2]], np.int32)
    q = np.full((1, 3, V), 0.1 / (V - 1))
    q[0, np.arange(3), labels[0]] = 0.9
    logits = np.log(q)  # the smoothed target itself is the optimum
    loss = PaddedCrossEntropyLossWithSmoothing({"label_smoothing": 0.1}, SPEC)
    batch = {keys.TARGET: tf.constant(labels), keys.TARGET_LENGTH: tf.constant([3])}
    assert abs(float(loss({keys.LOGITS: tf.constant(logits, tf.float32)}, batch))) < 1e-5
    half = loss({keys.LOGITS: tf.constant(logits, tf.float16)}, batch)
    assert half.dtype == tf.float32 and abs(float(half)) < 1e-3


def test_vocab_size_must_match_the_data():
    with pytest.raises(ConfigError, match="tgt_vocab_size"):
        PaddedCrossEntropyLossWithSmoothing({"tgt_vocab_size": 7}, SPEC)
