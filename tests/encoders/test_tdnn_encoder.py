import numpy as np
import pytest
import tensorflow as tf

from open_s2s.config.params import ConfigError
from open_s2s.data import keys
from open_s2s.data.data_spec import DataSpec, audio_features, token_ids
from open_s2s.encoders import TDNNEncoder
from tests.harness import check_component, feature_batch

SPEC = DataSpec(audio_features(16, 16000, 0.01), token_ids(tuple("abcdefghijklmnopqrstuvwxyz' ")))


def layer(kernel, channels, stride=1, dilation=1, repeat=1, residual=False, dense=False, kind="conv1d"):
    return {
        "type": kind,
        "repeat": repeat,
        "kernel_size": [kernel],
        "stride": [stride],
        "dilation": [dilation],
        "num_channels": channels,
        "padding": "SAME",
        "residual": residual,
        "residual_dense": dense,
    }


PARAMS = {
    "convnet_layers": [
        layer(5, 8, stride=2),
        layer(3, 8, repeat=2, residual=True, dense=True),
        layer(3, 8, repeat=2, residual=True, dense=True, kind="sep_conv1d"),
        layer(3, 12, dilation=2),
    ],
    "dropout_keep_prob": 0.8,
}


def test_component_harness():
    check_component(TDNNEncoder, PARAMS, SPEC, lambda t: feature_batch(time=t))


def test_output_length_equals_the_lengths_call_returns():
    # a stride-2 block of 2 sub-blocks strides twice (each sub-block's conv has the stride)
    params = {**PARAMS, "convnet_layers": [layer(5, 8, stride=2, repeat=2), *PARAMS["convnet_layers"]]}
    enc = TDNNEncoder(params, SPEC)
    batch = feature_batch(batch=3, time=37)
    out = enc(batch, training=False)
    lengths = batch[keys.SOURCE_LENGTH].numpy()
    np.testing.assert_array_equal(enc.output_length(lengths), out[keys.LENGTHS].numpy())
    np.testing.assert_array_equal(enc.output_length(lengths), -(-lengths // 8))  # three stride-2 convs


def test_output_length_is_ceil_of_stride():
    enc = TDNNEncoder(PARAMS, SPEC)
    out = enc(feature_batch(batch=3, time=37), training=False)
    np.testing.assert_array_equal(out[keys.LENGTHS].numpy(), [19, 15, 12])  # ceil([37, 30, 23] / 2)
    assert out[keys.OUTPUTS].shape == (3, 19, 12)
    assert np.all(out[keys.OUTPUTS].numpy()[2, 12:] == 0), "frames past the length must be zero"


@pytest.mark.parametrize("pad", [1, 8, 21])
def test_padding_never_leaks_into_real_frames(pad):
    enc = TDNNEncoder(PARAMS, SPEC)
    alone = feature_batch(batch=1, time=30)
    x = alone[keys.SOURCE].numpy()
    padded = {
        keys.SOURCE: tf.constant(np.concatenate([x, np.full((1, pad, 16), 7.0, np.float32)], axis=1)),
        keys.SOURCE_LENGTH: alone[keys.SOURCE_LENGTH],
    }
    a = enc(alone, training=False)[keys.OUTPUTS].numpy()
    b = enc(padded, training=False)[keys.OUTPUTS].numpy()
    np.testing.assert_allclose(a[0], b[0, : a.shape[1]], rtol=1e-5, atol=1e-5)


def test_batchnorm_statistics_ignore_padding():
    params = {"convnet_layers": [layer(3, 4)], "dropout_keep_prob": 1.0, "bn_momentum": 0.0}
    enc = TDNNEncoder(params, SPEC)
    base = feature_batch(batch=2, time=20)
    enc(base, training=True)
    mean_a = enc.blocks[0][0]["norm"].moving_mean.numpy().copy()
    x = base[keys.SOURCE].numpy()
    more_pad = {
        keys.SOURCE: tf.constant(np.concatenate([x, np.zeros((2, 30, 16), np.float32)], 1)),
        keys.SOURCE_LENGTH: base[keys.SOURCE_LENGTH],
    }
    enc(more_pad, training=True)
    np.testing.assert_allclose(enc.blocks[0][0]["norm"].moving_mean.numpy(), mean_a, rtol=1e-4, atol=1e-5)


def test_bad_layer_entry_names_the_index_and_key():
    bad = {"convnet_layers": [layer(3, 4), {**layer(3, 4), "kernal_size": [3]}]}
    with pytest.raises(ConfigError, match=r"convnet_layers\[1\].*kernal_size.*kernel_size"):
        TDNNEncoder(bad, SPEC)


def test_residual_block_with_stride_is_refused():
    with pytest.raises(ConfigError, match="stride"):
        TDNNEncoder({"convnet_layers": [layer(3, 4, stride=2, residual=True)]}, SPEC)


def test_clipped_relu_and_callable_activation():
    enc = TDNNEncoder({**PARAMS, "activation_fn": "clipped_relu"}, SPEC)
    out = enc(feature_batch(time=25) | {keys.SOURCE: feature_batch(time=25)[keys.SOURCE] * 1e4}, training=False)
    assert float(tf.reduce_max(out[keys.OUTPUTS])) <= 20.0 + 1e-4
    assert TDNNEncoder({**PARAMS, "activation_fn": tf.nn.relu6}, SPEC).activation is tf.nn.relu6
