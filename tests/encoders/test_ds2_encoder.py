import keras
import numpy as np
import pytest
import tensorflow as tf

from open_s2s.config.params import ConfigError
from open_s2s.data import keys
from open_s2s.data.data_spec import DataSpec, audio_features, token_ids
from open_s2s.encoders import DeepSpeech2Encoder
from tests.harness import check_component, feature_batch

SPEC = DataSpec(audio_features(16, 16000, 0.01), token_ids(tuple("abcdefghijklmnopqrstuvwxyz' ")))


def conv(kernel, stride, channels, padding="SAME"):
    return {"kernel_size": kernel, "stride": stride, "num_channels": channels, "padding": padding}


BIDI = {
    "conv_layers": [conv([5, 7], [2, 2], 4), conv([3, 5], [1, 2], 4)],
    "num_rnn_layers": 2,
    "rnn_cell_dim": 8,
    "rnn_type": "cudnn_gru",
    "row_conv": True,
    "row_conv_width": 3,
    "n_hidden": 12,
    "dropout_keep_prob": 0.8,
}
UNI = {
    "conv_layers": [conv([3, 5], [2, 1], 3, "VALID"), conv([3, 3], [1, 2], 4, "VALID")],
    "num_rnn_layers": 1,
    "rnn_cell_dim": 6,
    "rnn_type": "lstm",
    "rnn_unidirectional": True,
    "row_conv": True,
    "row_conv_width": 4,
    "n_hidden": 10,
    "activation_fn": "relu",
}


@pytest.mark.parametrize("params", [BIDI, UNI], ids=["bidirectional_gru", "unidirectional_lstm_valid"])
def test_component_harness(params):
    check_component(DeepSpeech2Encoder, params, SPEC, lambda t: feature_batch(time=t))


def test_output_lengths_and_shapes_match_tf_conv2d():
    """Lengths follow SAME = ceil(t / s) and VALID = (t - k) // s + 1, i.e. what tf.nn.conv2d gives
    for an unpadded sequence of that length; frames past the length are zero."""
    for params in (BIDI, UNI):
        enc = DeepSpeech2Encoder(params, SPEC)
        batch = feature_batch(batch=3, time=37)
        out = enc(batch, training=False)
        expected = []
        for length in batch[keys.SOURCE_LENGTH].numpy():
            y = tf.zeros((1, int(length), 16, 1))
            for layer in params["conv_layers"]:
                kernel = tf.zeros([*layer["kernel_size"], y.shape[-1], layer["num_channels"]])
                y = tf.nn.conv2d(y, kernel, [1, *layer["stride"], 1], layer["padding"])
            expected.append(y.shape[1])
            assert enc.conv_output_dim() == y.shape[2] * y.shape[3]
        np.testing.assert_array_equal(out[keys.LENGTHS].numpy(), expected)
        np.testing.assert_array_equal(enc.output_length(batch[keys.SOURCE_LENGTH].numpy()), expected)
        assert out[keys.OUTPUTS].shape == (3, max(expected), params["n_hidden"])
        assert np.all(out[keys.OUTPUTS].numpy()[2, expected[2] :] == 0)


@pytest.mark.parametrize("params", [BIDI, UNI], ids=["bidirectional_gru", "unidirectional_lstm_valid"])
@pytest.mark.parametrize("pad", [1, 8, 21])
def test_padding_never_leaks_into_real_frames(params, pad):
    enc = DeepSpeech2Encoder(params, SPEC)
    alone = feature_batch(batch=1, time=30)
    x = alone[keys.SOURCE].numpy()
    padded = {
        keys.SOURCE: tf.constant(np.concatenate([x, np.full((1, pad, 16), 7.0, np.float32)], axis=1)),
        keys.SOURCE_LENGTH: alone[keys.SOURCE_LENGTH],
    }
    a = enc(alone, training=False)
    b = enc(padded, training=False)
    assert int(a[keys.LENGTHS][0]) == int(b[keys.LENGTHS][0])
    a, b = a[keys.OUTPUTS].numpy(), b[keys.OUTPUTS].numpy()
    np.testing.assert_allclose(a[0], b[0, : a.shape[1]], rtol=1e-5, atol=1e-5)


def test_batched_outputs_equal_each_sequence_alone():
    enc = DeepSpeech2Encoder(BIDI, SPEC)
    batch = feature_batch(batch=3, time=41)
    out = enc(batch, training=False)
    for i, length in enumerate(batch[keys.SOURCE_LENGTH].numpy()):
        alone = {keys.SOURCE: batch[keys.SOURCE][i : i + 1, :length], keys.SOURCE_LENGTH: [length]}
        ref = enc(alone, training=False)
        n = int(ref[keys.LENGTHS][0])
        assert n == int(out[keys.LENGTHS][i])
        np.testing.assert_allclose(out[keys.OUTPUTS].numpy()[i, :n], ref[keys.OUTPUTS].numpy()[0], atol=1e-5)


@pytest.mark.parametrize("rnn_type", ["gru", "lstm"])
def test_bidirectional_rnn_matches_keras_bidirectional_with_mask(rnn_type):
    """Without convolutions and with an identity activation, the encoder is
    fc(concat(fw, bw)); Keras' own Bidirectional layer given the padding mask is the reference."""
    params = {
        "conv_layers": [],
        "num_rnn_layers": 1,
        "rnn_cell_dim": 5,
        "rnn_type": rnn_type,
        "n_hidden": 7,
        "activation_fn": "identity",
    }
    enc = DeepSpeech2Encoder(params, SPEC)
    batch = feature_batch(batch=3, time=23)
    out = enc(batch, training=False)[keys.OUTPUTS].numpy()
    cls = keras.layers.GRU if rnn_type == "gru" else keras.layers.LSTM
    ref_rnn = keras.layers.Bidirectional(cls(5, return_sequences=True))
    mask = tf.sequence_mask(batch[keys.SOURCE_LENGTH], 23)
    ref_rnn(batch[keys.SOURCE], mask=mask)
    ref_rnn.forward_layer.set_weights(enc.rnns_fw[0].get_weights())
    ref_rnn.backward_layer.set_weights(enc.rnns_bw[0].get_weights())
    ref = enc.fc(ref_rnn(batch[keys.SOURCE], mask=mask)).numpy()
    for i, length in enumerate(batch[keys.SOURCE_LENGTH].numpy()):
        np.testing.assert_allclose(out[i, :length], ref[i, :length], rtol=1e-4, atol=1e-5)


def test_row_conv_is_a_look_ahead_per_channel_sum():
    from open_s2s.layers.row_conv import RowConv

    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 9, 4)).astype(np.float32)
    lengths = np.array([9, 6], np.int32)
    layer = RowConv(4, 3)
    y = layer(tf.constant(x), tf.constant(lengths)).numpy()
    w = layer.kernel.numpy()
    for b, length in enumerate(lengths):
        for t in range(length):
            expected = sum(x[b, t + i] * w[i] for i in range(3) if t + i < length)
            np.testing.assert_allclose(y[b, t], expected, rtol=1e-5, atol=1e-6)


def test_batchnorm_statistics_ignore_padding():
    params = {"conv_layers": [conv([3, 3], [1, 1], 2)], "num_rnn_layers": 0, "n_hidden": 4, "bn_momentum": 0.0}
    enc = DeepSpeech2Encoder(params, SPEC)
    base = feature_batch(batch=2, time=20)
    enc(base, training=True)
    mean_a = enc.conv_norms[0].moving_mean.numpy().copy()
    x = base[keys.SOURCE].numpy()
    more_pad = {
        keys.SOURCE: tf.constant(np.concatenate([x, np.full((2, 30, 16), 3.0, np.float32)], 1)),
        keys.SOURCE_LENGTH: base[keys.SOURCE_LENGTH],
    }
    enc(more_pad, training=True)
    np.testing.assert_allclose(enc.conv_norms[0].moving_mean.numpy(), mean_a, rtol=1e-4, atol=1e-5)


def test_bad_conv_entry_names_the_index_and_key():
    bad = {**BIDI, "conv_layers": [conv([3, 3], [1, 1], 2), {**conv([3, 3], [1, 1], 2), "strides": [1, 1]}]}
    with pytest.raises(ConfigError, match=r"conv_layers\[1\].*strides.*stride"):
        DeepSpeech2Encoder(bad, SPEC)
    with pytest.raises(ConfigError, match=r"conv_layers\[0\].*kernel_size"):
        DeepSpeech2Encoder({**BIDI, "conv_layers": [conv([3], [1, 1], 2)]}, SPEC)
    with pytest.raises(ConfigError, match="rnn_type"):
        DeepSpeech2Encoder({**BIDI, "rnn_type": "layernorm_lstm"}, SPEC)
    with pytest.raises(ConfigError, match="rnn_cell_dim"):
        DeepSpeech2Encoder({**BIDI, "rnn_cell_dim": 0}, SPEC)


def _one_rnn(**overrides):
    # no conv (so no batch norm, whose training statistics would differ from eval), relu FC
    params = {
        "conv_layers": [],
        "num_rnn_layers": 1,
        "rnn_cell_dim": 8,
        "n_hidden": 32,
        "dropout_keep_prob": 0.5,
        "activation_fn": "relu",
    }
    return {**params, **overrides}


def _is_dropout_of(train, ref, keep):
    """Whether ``train`` is ``ref`` with some units zeroed and the others scaled by 1 / keep."""
    kept = train != 0
    return bool(np.allclose(train[kept], ref[kept] / keep, rtol=1e-5, atol=1e-6)) and kept.sum() < (ref != 0).sum()


def test_cudnn_rnn_dropout_is_between_layers_only():
    # OpenSeq2Seq: CudnnGRU(num_layers, dropout=1 - keep) drops the outputs of every layer but
    # the last; then dropout after the FC layer. With one RNN layer the FC layer's output is the
    # only one dropped: training output = eval output, masked and scaled.
    enc = DeepSpeech2Encoder(_one_rnn(use_cudnn_rnn=True), SPEC)
    batch = feature_batch(batch=2, time=11)
    ref = enc(batch, training=False)[keys.OUTPUTS].numpy()
    train = enc(batch, training=True)[keys.OUTPUTS].numpy()
    assert _is_dropout_of(train, ref, 0.5)
    two = DeepSpeech2Encoder(_one_rnn(use_cudnn_rnn=True, num_rnn_layers=2), SPEC)
    ref2 = two(batch, training=False)[keys.OUTPUTS].numpy()
    assert not _is_dropout_of(two(batch, training=True)[keys.OUTPUTS].numpy(), ref2, 0.5)  # between the 2 layers


def test_cell_rnn_dropout_is_after_every_layer():
    # OpenSeq2Seq with use_cudnn_rnn False: DropoutWrapper(output_keep_prob) on each cell,
    # the last layer's included.
    enc = DeepSpeech2Encoder(_one_rnn(use_cudnn_rnn=False), SPEC)
    batch = feature_batch(batch=2, time=11)
    ref = enc(batch, training=False)[keys.OUTPUTS].numpy()
    assert not _is_dropout_of(enc(batch, training=True)[keys.OUTPUTS].numpy(), ref, 0.5)
