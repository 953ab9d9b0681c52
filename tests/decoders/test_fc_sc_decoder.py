import numpy as np
import pytest
import tensorflow as tf

from open_s2s.config.params import ConfigError
from open_s2s.data import keys
from open_s2s.data.data_spec import DataSpec, class_id
from open_s2s.decoders import FullyConnectedSCDecoder
from tests.harness import check_component

SPEC = DataSpec(target=class_id(tuple("abcde")))


def encoded(time, batch=3, channels=6, seed=0):
    rng = np.random.default_rng(seed)
    lengths = np.array([time, max(1, time - 9), max(1, time - 20)][:batch], np.int32)
    x = rng.standard_normal((batch, time, channels)).astype(np.float32)
    # SOURCE_LENGTH too: the harness checks the batch size of LENGTHS against it.
    return {keys.OUTPUTS: tf.constant(x), keys.LENGTHS: tf.constant(lengths), keys.SOURCE_LENGTH: tf.constant(lengths)}


@pytest.mark.parametrize("pooling", ["mean", "max", "mean_max"])
def test_component_harness(pooling):
    layer = check_component(
        FullyConnectedSCDecoder, {"pooling": pooling, "dropout_keep_prob": 0.8}, SPEC, encoded, keys.LOGITS
    )
    out = layer(encoded(20))
    assert out[keys.LOGITS].dtype == tf.float32 and out[keys.LOGITS].shape == (3, 5)


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_pooling_uses_valid_frames_only(pooling):
    """Logits equal the projection of numpy pooling over the first ``length`` frames."""
    layer = FullyConnectedSCDecoder({"pooling": pooling}, SPEC)
    inputs = encoded(25)
    logits = layer(inputs)[keys.LOGITS].numpy()
    kernel, bias = (w.numpy() for w in layer.projection.weights)
    x, lengths = inputs[keys.OUTPUTS].numpy(), inputs[keys.LENGTHS].numpy()
    pool = np.mean if pooling == "mean" else np.max
    expected = np.stack([pool(x[b, : lengths[b]], axis=0) for b in range(3)]) @ kernel + bias
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-5)
    padded = dict(inputs, **{keys.OUTPUTS: tf.concat([inputs[keys.OUTPUTS], 100 * tf.ones([3, 7, 6])], axis=1)})
    np.testing.assert_allclose(layer(padded)[keys.LOGITS].numpy(), logits, rtol=1e-5, atol=1e-5)


def test_decode_and_output_dim_check():
    layer = FullyConnectedSCDecoder({}, SPEC)
    logits = tf.constant([[0.0, 2.0, 1.0, -1.0, 0.5]])
    decoded = layer.decode({keys.LOGITS: logits})
    expected = np.exp(logits.numpy()) / np.exp(logits.numpy()).sum()
    np.testing.assert_allclose(decoded["probabilities"].numpy(), expected, rtol=1e-6)
    assert decoded["labels"].numpy().tolist() == [1]
    np.testing.assert_allclose(decoded["probability"].numpy(), expected.max(axis=-1), rtol=1e-6)
    with pytest.raises(ConfigError, match="output_dim: 12 but the data layer has 5"):
        FullyConnectedSCDecoder({"output_dim": 12}, SPEC)
