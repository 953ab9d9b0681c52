import numpy as np
import pytest
import tensorflow as tf

from open_s2s.layers.depthwise_conv import ShiftedDepthwiseConv1D


def reference(x, w, stride, dilation):
    """Direct definition: y[b, t, c] = sum_i x[b, t*stride + i*dilation, c] * w[i, c]."""
    k = w.shape[0]
    out = (x.shape[1] - dilation * (k - 1) - 1) // stride + 1
    y = np.zeros((x.shape[0], out, x.shape[2]), np.float64)
    for t in range(out):
        for i in range(k):
            y[:, t] += x[:, t * stride + i * dilation] * w[i]
    return y


@pytest.mark.parametrize("kernel,stride,dilation", [(1, 1, 1), (13, 1, 1), (17, 2, 1), (5, 1, 3), (25, 1, 1)])
def test_matches_the_definition(kernel, stride, dilation):
    rng = np.random.default_rng(kernel)
    x = rng.standard_normal((2, 60, 96)).astype(np.float32)
    layer = ShiftedDepthwiseConv1D(96, kernel, stride, dilation)
    y = layer(tf.constant(x)).numpy()
    np.testing.assert_allclose(y, reference(x, layer.kernel.numpy(), stride, dilation), rtol=1e-4, atol=1e-4)


def test_gradient_reaches_kernel_and_config_round_trip():
    layer = ShiftedDepthwiseConv1D(8, 3, dilation=2)
    x = tf.random.normal([2, 20, 8])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) ** 2)
    assert np.abs(tape.gradient(loss, layer.kernel).numpy()).sum() > 0
    clone = ShiftedDepthwiseConv1D.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_separable_blocks_have_distinct_variable_paths():
    """Checkpoints key variables by path: two separable blocks must not share one."""
    from open_s2s.data import keys
    from open_s2s.data.data_spec import DataSpec, audio_features, token_ids
    from open_s2s.encoders import TDNNEncoder

    layers = [
        {"type": "sep_conv1d", "kernel_size": [5], "num_channels": 8, "repeat": 2},
        {"type": "sep_conv1d", "kernel_size": [3], "num_channels": 8},
    ]
    encoder = TDNNEncoder(
        {"convnet_layers": layers},
        DataSpec(audio_features(16, 16000, 0.01), token_ids(tuple("abcdefghijklmnopqrstuvwxyz' "))),
        name="encoder",
    )
    encoder({keys.SOURCE: tf.zeros([1, 10, 16]), keys.SOURCE_LENGTH: tf.constant([10])})
    paths = [v.path for v in encoder.variables]
    depthwise = [p for p in paths if p.endswith("depthwise_kernel")]
    assert len(depthwise) == 3 and all(p.startswith("encoder/block") for p in depthwise)
    assert len(paths) == len(set(paths))
