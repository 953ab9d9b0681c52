"""ResNetEncoder: ResNet-18/34/50/101/152, v1 or v2, on the spectrogram as an image."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from open_s2s.config.params import ConfigError, Param, positive
from open_s2s.data import keys
from open_s2s.encoders.encoder import Encoder
from open_s2s.layers.normalization import BatchNormalization

# Residual blocks per stage of the standard depths (He et al., 2016).
BLOCK_SIZES = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3]}


class ResidualBlock(keras.layers.Layer):
    """One basic (two 3x3 convs) or bottleneck (1x1, 3x3, 1x1 with 4x expansion) block.

    ``version=1`` is the original post-activation block (He et al., 2016a,
    arXiv:1512.03385); ``version=2`` the pre-activation block (He et al., 2016b,
    arXiv:1603.05027), with the projection shortcut taken from the pre-activated input.
    The stride sits on the first 3x3 (basic) or on the 3x3 (bottleneck, "ResNet v1.5").
    """

    def __init__(self, filters, stride, bottleneck, version, project, bn, initializer, **kwargs):
        super().__init__(**kwargs)
        self.version, self.bottleneck = version, bottleneck
        out_filters = 4 * filters if bottleneck else filters
        shapes = (
            [(1, 1, filters), (3, stride, filters), (1, 1, out_filters)]
            if bottleneck
            else [(3, stride, filters), (3, 1, filters)]
        )
        self.convs = [
            keras.layers.Conv2D(
                c, k, strides=s, padding="same", use_bias=False, kernel_initializer=initializer, name=f"conv{i}"
            )
            for i, (k, s, c) in enumerate(shapes)
        ]
        # v1: a norm after every conv; v2: a norm before every conv (the first on the block input).
        self.norms = [BatchNormalization(**bn, name=f"norm{i}") for i in range(len(shapes))]
        self.shortcut = (
            keras.layers.Conv2D(
                out_filters, 1, strides=stride, use_bias=False, kernel_initializer=initializer, name="shortcut"
            )
            if project
            else None
        )
        self.shortcut_norm = BatchNormalization(**bn, name="shortcut_norm") if project and version == 1 else None

    def call(self, x, training=False):
        if self.version == 1:
            shortcut = x if self.shortcut is None else self.shortcut_norm(self.shortcut(x), training=training)
            for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
                x = norm(conv(x), training=training)
                if i < len(self.convs) - 1:
                    x = tf.nn.relu(x)
            return tf.nn.relu(x + shortcut)
        pre = tf.nn.relu(self.norms[0](x, training=training))
        shortcut = x if self.shortcut is None else self.shortcut(pre)
        x = pre
        for i, conv in enumerate(self.convs):
            if i > 0:
                x = tf.nn.relu(self.norms[i](x, training=training))
            x = conv(x)
        return x + shortcut


class ResNetEncoder(Encoder):
    """ResNet on the ``[time, features]`` spectrogram treated as a one-channel image.

    Stem: a ``conv_kernel_size`` conv with stride ``conv_stride`` and an optional max pool;
    then one stage per entry of ``block_sizes`` with ``num_filters * 2**stage`` filters
    and stride ``block_strides[stage]`` in its first block (a 1x1 projection shortcut
    there). ResNet-50 and deeper use bottleneck blocks. The frequency axis is averaged
    away at the end, so the output is a sequence like every other encoder's and the
    classification decoder pools over time. Inputs of a keyword batch all have the same
    length; ``lengths`` is ``ceil(length / total time stride)``.

    Input: ``source`` [batch, time, features], ``source_length`` [batch].
    Output: ``outputs`` [batch, time', channels] (channels = ``num_filters * 2**(stages-1)``,
    times 4 with bottlenecks), ``lengths`` [batch].
    """

    PARAMS = {
        "resnet_size": Param(int, 50, choices=tuple(BLOCK_SIZES), doc="Depth: 18, 34, 50, 101 or 152."),
        "version": Param(int, 2, choices=(1, 2), doc="1: post-activation blocks; 2: pre-activation."),
        "bottleneck": Param((bool, type(None)), None, doc="Bottleneck blocks; None = resnet_size >= 50."),
        "block_sizes": Param((list, type(None)), None, doc="Blocks per stage; None = the standard ones."),
        "block_strides": Param(list, [1, 2, 2, 2], doc="Stride of each stage's first block."),
        "num_filters": Param(int, 64, doc="Filters of the stem and the first stage.", check=positive),
        "conv_kernel_size": Param(int, 7, doc="Stem kernel.", check=positive),
        "conv_stride": Param(int, 2, doc="Stem stride.", check=positive),
        "first_pool_size": Param((int, type(None)), 3, doc="Stem max-pool size; None = no pool."),
        "first_pool_stride": Param(int, 2, doc="Stem max-pool stride.", check=positive),
        "bn_momentum": Param(float, 0.997, doc="Moving-average momentum of batch norm."),
        "bn_epsilon": Param(float, 1e-5),
        "regularize_bn": Param(
            bool, False, choices=(False,), doc="Kept for porting: norm parameters are never L2-regularized."
        ),
        "data_format": Param(str, "channels_last", choices=("channels_last",), doc="Kept for config porting."),
        "initializer": Param(str, "he_normal", doc="Keras initializer name for kernels."),
    }

    def __init__(self, params, data_spec, **kwargs):
        super().__init__(params, data_spec, **kwargs)
        p = self.params
        sizes = p["block_sizes"] or BLOCK_SIZES[p["resnet_size"]]
        if len(sizes) != len(p["block_strides"]):
            raise ConfigError(
                f"ResNetEncoder: block_sizes {sizes} and block_strides {p['block_strides']} differ in length"
            )
        bottleneck = p["resnet_size"] >= 50 if p["bottleneck"] is None else p["bottleneck"]
        bn = {"momentum": p["bn_momentum"], "epsilon": p["bn_epsilon"]}
        init = self.kernel_initializer
        self.stem = keras.layers.Conv2D(
            p["num_filters"],
            p["conv_kernel_size"],
            strides=p["conv_stride"],
            padding="same",
            use_bias=False,
            kernel_initializer=init,
            name="stem",
        )
        self.stem_norm = BatchNormalization(**bn, name="stem_norm") if p["version"] == 1 else None
        pool = p["first_pool_size"]
        self.pool = keras.layers.MaxPooling2D(pool, p["first_pool_stride"], padding="same") if pool else None
        self.blocks = []
        in_channels = p["num_filters"]
        for stage, (n, stride) in enumerate(zip(sizes, p["block_strides"])):
            filters = p["num_filters"] * 2**stage
            out = 4 * filters if bottleneck else filters
            for b in range(n):
                s = stride if b == 0 else 1
                self.blocks.append(
                    ResidualBlock(
                        filters,
                        s,
                        bottleneck,
                        p["version"],
                        s != 1 or in_channels != out,
                        bn,
                        init,
                        name=f"stage{stage}_block{b}",
                    )
                )
                in_channels = out
        self.final_norm = BatchNormalization(**bn, name="final_norm") if p["version"] == 2 else None
        self.time_stride = p["conv_stride"] * (p["first_pool_stride"] if pool else 1)
        for s in p["block_strides"]:
            self.time_stride *= s

    def call(self, inputs: dict[str, Any], training: bool = False) -> dict[str, Any]:
        x = keras.ops.cast(inputs[keys.SOURCE], self.compute_dtype)[..., None]  # [batch, time, freq, 1]
        x = self.stem(x)
        if self.stem_norm is not None:
            x = tf.nn.relu(self.stem_norm(x, training=training))
        if self.pool is not None:
            x = self.pool(x)
        for block in self.blocks:
            x = block(x, training=training)
        if self.final_norm is not None:
            x = tf.nn.relu(self.final_norm(x, training=training))
        lengths = -(-tf.cast(inputs[keys.SOURCE_LENGTH], tf.int32) // self.time_stride)
        return {keys.OUTPUTS: tf.reduce_mean(x, axis=2), keys.LENGTHS: tf.minimum(lengths, tf.shape(x)[1])}
