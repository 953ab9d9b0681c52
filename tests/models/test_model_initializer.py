"""The config's top-level initializer reaches every component (OpenSeq2Seq's model-wide default);
a component's own initializer / initializer_params win and are passed to Keras."""

from __future__ import annotations

import numpy as np
import pytest

from open_s2s.config.params import ConfigError
from open_s2s.data.data_spec import DataSpec, audio_features, token_ids
from open_s2s.decoders import FullyConnectedCTCDecoder
from open_s2s.encoders import TDNNEncoder
from open_s2s.losses import CTCLoss
from open_s2s.models import Speech2Text

SPEC = DataSpec(audio_features(6, 16000, 0.01), token_ids(tuple("abc")))
LAYERS = [
    {"type": "conv1d", "kernel_size": [3], "num_channels": 4},
    {"type": "sep_conv1d", "repeat": 2, "kernel_size": [3], "num_channels": 4, "residual": True},
]


def model(encoder_params=None, decoder_params=None, **top):
    params = {
        "encoder": TDNNEncoder,
        "encoder_params": {"convnet_layers": LAYERS, **(encoder_params or {})},
        "decoder": FullyConnectedCTCDecoder,
        "decoder_params": decoder_params or {},
        "loss": CTCLoss,
        "loss_params": {},
        "data_layer": object,
        "data_layer_params": {},
        "initializer": None,
        "initializer_params": {},
        **top,
    }
    m = Speech2Text(params, SPEC)
    m(m.dummy_batch(), training=False)
    return m


def kernels(layer):
    return [v.numpy() for v in layer.trainable_variables if "kernel" in v.path]


def test_top_level_initializer_reaches_components_that_set_none():
    m = model(
        decoder_params={"initializer": "zeros"},
        initializer="random_uniform",
        initializer_params={"minval": 0.5, "maxval": 0.5},
    )
    encoder, decoder = kernels(m.encoder), kernels(m.decoder)
    assert len(encoder) == 6  # a conv, 2 x (depthwise + pointwise) and the residual's 1x1 conv
    assert all(np.all(k == 0.5) for k in encoder)
    assert len(decoder) == 1 and np.all(decoder[0] == 0)  # its own initializer wins


def test_component_initializer_params_go_to_keras():
    m = model(
        encoder_params={"initializer": "random_uniform", "initializer_params": {"minval": -0.25, "maxval": -0.25}}
    )
    assert all(np.all(k == -0.25) for k in kernels(m.encoder))
    assert m.encoder.get_config()["params"]["initializer_params"] == {"minval": -0.25, "maxval": -0.25}
    decoder = kernels(m.decoder)[0]
    assert decoder.std() > 0  # untouched: the decoder's default glorot_uniform


def test_without_top_level_initializer_components_keep_their_defaults():
    m = model()
    limit = np.sqrt(6 / (4 + 4))  # glorot_uniform of the decoder's [4, vocab + 1 = 4] kernel
    decoder = kernels(m.decoder)[0]
    assert decoder.shape == (4, 4) and np.abs(decoder).max() <= limit and decoder.std() > 0


def test_bad_initializer_params_name_the_component():
    with pytest.raises(ConfigError, match=r"TDNNEncoder\.initializer_params: 'glorot_normal' does not take.*uniform"):
        model(encoder_params={"initializer": "glorot_normal", "initializer_params": {"uniform": False}})
    with pytest.raises(ConfigError, match=r"TDNNEncoder\.initializer: unknown Keras initializer 'xavier'"):
        model(encoder_params={"initializer": "xavier"})


def test_checking_initializers_does_not_shift_the_seeds_of_the_weights():
    """Keras seeds an unseeded initializer from Python's random: the components' checks of their
    initializer must not draw from it, or the same random_seed gives other weights than before."""
    import keras

    keras.utils.set_random_seed(7)
    expected = keras.initializers.get("glorot_uniform")((6, 4)).numpy()  # what the first kernel draws
    keras.utils.set_random_seed(7)
    from open_s2s.layers.initializers import check_initializer_name, initializer_config

    assert check_initializer_name("glorot_uniform") is None
    assert initializer_config("X", "random_uniform", {"minval": 0.0}) == {
        "class_name": "random_uniform",
        "config": {"minval": 0.0},
    }
    np.testing.assert_array_equal(keras.initializers.get("glorot_uniform")((6, 4)).numpy(), expected)
