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

# Unit roundoff u = 2**-p of round-to-nearest with a p-bit significand (implicit bit
# included): |fl(x) - x| <= u |x|. float32 p = 24, float16 p = 11, bfloat16 p = 8.
UNIT_ROUNDOFF = {"float32": 2.0**-24, "float16": 2.0**-11, "bfloat16": 2.0**-8}


def rounding_depth(layer: keras.layers.Layer, weights_rounded: bool = False) -> int:
    """Rounding layers between a component's input and its output: 2 per weight layer.

    Every sublayer that owns a trainable variable (convolution, dense, normalization,
    recurrent cell) rounds its output once to the compute dtype, and between two such
    layers at most one more elementwise op rounds (bias add, residual add, a gate or
    activation); ReLU, max-pooling, masking by 0/1, zero padding and concatenation are
    exact. A recurrent cell counts as one layer: its gated update is a convex combination
    of the previous state and the candidate, so step errors are damped, not summed.

    Args:
      layer: a built layer or model.
      weights_rounded: also count the cast of each layer's float32 weights to the compute
        dtype (3 per weight layer). Two evaluations in the same dtype round the weights
        identically; an evaluation compared with a float32 one does not.
    """
    owners = {v.path.rsplit("/", 1)[0] for v in layer.trainable_weights}
    return (3 if weights_rounded else 2) * len(owners)


def rounding_tolerance(dtype: str, depth: int, scale: float, evaluations: int = 2) -> float:
    """Largest difference between evaluations of one computation that rounded differently.

    A rounding perturbs the value it rounds by at most ``u |v|`` (``UNIT_ROUNDOFF``). The
    components keep activations at about unit gain from layer to layer (Glorot/He
    initialization, batch norm with unit statistics), so to first order a perturbation of
    ``u |v|`` at any layer reaches the output as at most ``u`` times the output magnitude
    ``scale`` (max |output|; elementwise relative bounds would be meaningless where the
    output cancels to near zero). ``depth`` roundings add up to ``depth * u * scale`` per
    evaluation; two evaluations that round at different places can differ by the sum of
    both errors. Eager runs op by op; in a ``tf.function`` grappler's arithmetic optimizer
    regroups chains of adds (TDNN's dense residuals: with it switched off, eager and graph
    outputs are bit-identical in bfloat16) and its remapper may fuse bias and activation
    into the convolution.

    Matrix products and convolutions accumulate in float32 in every policy; eager and
    graph run the same kernel for each, so their accumulation order is the same and does
    not enter the difference.

    Args:
      dtype: the compute dtype ("float32", "float16" or "bfloat16").
      depth: number of roundings between input and output (``rounding_depth``).
      scale: max |output| of the computation.
      evaluations: 2 when comparing two evaluations in ``dtype``; 1 when comparing one
        against a float32 (or float64) reference whose own error is negligible.

    Returns:
      The absolute tolerance ``evaluations * depth * u * scale``.
    """
    return evaluations * depth * UNIT_ROUNDOFF[dtype] * scale


def feature_batch(batch=2, time=37, features=16, seed=0):
    rng = np.random.default_rng(seed)
    lengths = np.array([time] + [max(1, time - 7 * (i + 1)) for i in range(batch - 1)], np.int32)
    x = rng.standard_normal((batch, time, features)).astype(np.float32)
    x *= np.arange(time)[None, :, None] < lengths[:, None, None]
    return {keys.SOURCE: tf.constant(x), keys.SOURCE_LENGTH: tf.constant(lengths)}


def eager_graph_difference(layer, inputs, output_key=keys.OUTPUTS):
    """``(max |eager - graph|, tolerance)`` of ``layer`` on ``inputs`` (see ``rounding_tolerance``)."""
    eager = layer(inputs, training=False)
    graph = tf.function(lambda x, layer=layer: layer(x, training=False))(inputs)
    assert eager[keys.LENGTHS].shape[0] == inputs[keys.SOURCE_LENGTH].shape[0]
    e = np.asarray(tf.cast(eager[output_key], tf.float32))
    g = np.asarray(tf.cast(graph[output_key], tf.float32))
    tol = rounding_tolerance(layer.compute_dtype, rounding_depth(layer), np.abs(g).max())
    return float(np.abs(e - g).max()), tol


def check_component(cls, params, data_spec, make_inputs, output_key=keys.OUTPUTS, extra_keys=()):
    """Runs the standard checks on an Encoder/Decoder class; returns the float32 layer.

    Eager and ``tf.function`` outputs must agree within ``rounding_tolerance`` of the
    policy's compute dtype and the layer's ``rounding_depth``. ``extra_keys``: further outputs
    whose gradients must reach variables too.
    """
    with pytest.raises(ConfigError, match=cls.__name__):
        cls({**params, "not_a_key": 1}, data_spec)
    for policy in POLICIES:
        keras.mixed_precision.set_global_policy(policy)
        try:
            layer = cls(params, data_spec)
            for time in (29, 48):
                diff, tol = eager_graph_difference(layer, make_inputs(time), output_key)
                assert diff <= tol, f"{policy}, time {time}: max |eager - graph| = {diff:.3g} > {tol:.3g}"
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
