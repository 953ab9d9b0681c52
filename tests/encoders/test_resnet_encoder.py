import numpy as np
import pytest

from open_s2s.config.params import ConfigError
from open_s2s.data import keys
from open_s2s.data.data_spec import DataSpec, audio_features, class_id
from open_s2s.encoders import ResNetEncoder
from tests.harness import check_component, feature_batch

SPEC = DataSpec(audio_features(16, 16000, 0.01), class_id(tuple("abcdefghijkl")))
SMALL = {"num_filters": 4, "conv_kernel_size": 3, "block_sizes": [1, 1], "block_strides": [1, 2]}


@pytest.mark.parametrize(
    "params",
    [
        {**SMALL, "resnet_size": 18, "version": 1},
        {**SMALL, "resnet_size": 50, "version": 2},
        {**SMALL, "resnet_size": 34, "version": 2, "first_pool_size": None, "conv_stride": 1},
    ],
    ids=["v1_basic", "v2_bottleneck", "v2_basic_no_pool"],
)
def test_component_harness(params):
    check_component(ResNetEncoder, params, SPEC, lambda t: feature_batch(time=t))


def test_output_shape_and_lengths():
    enc = ResNetEncoder({**SMALL, "resnet_size": 50}, SPEC)
    out = enc(feature_batch(batch=2, time=37), training=False)
    # stride 2 stem, stride 2 pool, stride 2 second stage: 37 -> 19 -> 10 -> 5
    assert out[keys.OUTPUTS].shape == (2, 5, 4 * 8)  # bottleneck: 4 x (4 filters x 2)
    np.testing.assert_array_equal(out[keys.LENGTHS].numpy(), np.ceil(np.array([37, 30]) / 8).astype(int))


@pytest.mark.parametrize(
    "size,version,torchvision_params",
    [(18, 1, 11_689_512), (50, 1, 25_557_032), (50, 2, None)],
)
def test_standard_depths_match_torchvision_parameter_counts(size, version, torchvision_params):
    """torchvision's ResNet-18/50 (v1.5, no conv biases) have 11,689,512 / 25,557,032
    parameters for 3-channel input and a 1000-class head; without the head and with one
    input channel that is what this encoder must have (v2 adds a final norm, drops none)."""
    enc = ResNetEncoder({"resnet_size": size, "version": version}, SPEC)
    enc(feature_batch(batch=1, time=32), training=False)
    trainable = sum(int(np.prod(v.shape)) for v in enc.trainable_variables)
    channels = 512 if size < 50 else 2048
    if torchvision_params is not None:
        assert trainable == torchvision_params - (channels * 1000 + 1000) - 7 * 7 * 64 * 2
    convs = [v for v in enc.trainable_variables if len(v.shape) == 4]
    assert len(convs) == (53 if size == 50 else 20)


def test_bad_block_config():
    with pytest.raises(ConfigError, match="block_sizes"):
        ResNetEncoder({"block_sizes": [1, 1], "block_strides": [1, 2, 2]}, SPEC)
    with pytest.raises(ConfigError, match="resnet_size"):
        ResNetEncoder({"resnet_size": 20}, SPEC)
