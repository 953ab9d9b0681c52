"""Shared component harness: strict params, two lengths eager + tf.function, get_config
round trip, every precision policy, and gradients reaching every trainable variable."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from open_s2s.config.params import ConfigError
from open_s2s.data import keys

POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")


def feature_batch(batch=2, time=37, features=16, seed=0):
    rng = np.random.default_rng(seed)
    lengths = np.array([time] + [max(1, time - 7 * (i + 1)) for i in range(batch - 1)], np.int32)
    x = rng.standard_normal((batch, time, features)).astype(np.float32)
    x *= np.arange(time)[None, :, None] < lengths[:, None, None]
    return {keys.SOURCE: tf.constant(x), keys.SOURCE_LENGTH: tf.constant(lengths)}


def check_component(cls, params, data_spec, make_inputs, output_key=keys.OUTPUTS, extra_keys=()):
    """Runs the standard checks on an Encoder/Decoder class; returns the float32 layer.

    ``extra_keys``: further outputs whose gradients must reach variables too.
    """
    with pytest.raises(ConfigError, match=cls.__name__):
        cls({**params, "not_a_key": 1}, data_spec)
    for policy in POLICIES:
        keras.mixed_precision.set_global_policy(policy)
        try:
            layer = cls(params, data_spec)
            for time in (29, 48):
                inputs = make_inputs(time)
                eager = layer(inputs, training=False)
                graph = tf.function(lambda x, layer=layer: layer(x, training=False))(inputs)
                np.testing.assert_allclose(
                    np.asarray(tf.cast(eager[output_key], tf.float32)),
                    np.asarray(tf.cast(graph[output_key], tf.float32)),
                    rtol=1e-2,
                    atol=1e-2,
                )
                assert eager[keys.LENGTHS].shape[0] == inputs[keys.SOURCE_LENGTH].shape[0]
            check_gradients(layer, make_inputs(40), output_key, extra_keys)
            clone = cls.from_config(layer.get_config())
            assert clone.params == layer.params
            assert clone.data_spec == layer.data_spec
        finally:
            keras.mixed_precision.set_global_policy("float32")
    return cls(params, data_spec)


def check_gradients(layer, inputs, output_key, extra_keys=()):
    with tf.GradientTape() as tape:
        out = layer(inputs, training=True)
        loss = sum(tf.reduce_sum(tf.square(tf.cast(out[k], tf.float32))) for k in (output_key, *extra_keys))
    grads = tape.gradient(loss, layer.trainable_variables)
    missing = [v.path for v, g in zip(layer.trainable_variables, grads) if g is None]
    assert not missing, f"no gradient reaches {missing}"
    assert all(np.all(np.isfinite(np.asarray(tf.cast(tf.convert_to_tensor(g), tf.float32)))) for g in grads)
