import keras
import numpy as np
import pytest
import tensorflow as tf

from open_s2s.config.params import ConfigError
from open_s2s.data import keys
from open_s2s.data.data_spec import DataSpec, class_id
from open_s2s.losses import CrossEntropyLoss

SPEC = DataSpec(target=class_id(tuple("abcdefg")))


def case(seed=0, batch=5, classes=7):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((batch, classes)).astype(np.float32) * 3
    labels = rng.integers(0, classes, batch).astype(np.int32)
    return logits, labels


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_matches_keras_and_closed_form(smoothing):
    logits, labels = case()
    loss = CrossEntropyLoss({"label_smoothing": smoothing}, SPEC)
    value = float(loss({keys.LOGITS: tf.constant(logits)}, {keys.TARGET: tf.constant(labels)}))
    reference = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=smoothing)
    assert value == pytest.approx(float(reference(tf.one_hot(labels, 7), logits)), rel=1e-5)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    q = (1 - smoothing) * np.eye(7)[labels] + smoothing / 7
    assert value == pytest.approx(float(np.mean(-(q * log_p).sum(axis=1))), rel=1e-5)


def test_float32_for_half_logits_and_bad_smoothing():
    logits, labels = case(1)
    loss = CrossEntropyLoss({}, SPEC)
    value = loss({keys.LOGITS: tf.constant(logits, tf.bfloat16)}, {keys.TARGET: tf.constant(labels)})
    assert value.dtype == tf.float32
    with pytest.raises(ConfigError, match="label_smoothing"):
        CrossEntropyLoss({"label_smoothing": 1.0}, SPEC)
