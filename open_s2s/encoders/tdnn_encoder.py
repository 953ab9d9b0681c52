"""TDNNEncoder: 1-D convolutional encoder of Jasper and Wav2Letter+ (OpenSeq2Seq layer plan)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf

from open_s2s.config.params import ConfigError, Param, in_unit_interval, validate
from open_s2s.data import keys
from open_s2s.encoders.encoder import Encoder
from open_s2s.layers.activations import get_activation
from open_s2s.layers.masked_conv import MaskedConv1D
from open_s2s.layers.normalization import BatchNormalization

LAYER_PARAMS: dict[str, Param] = {
    "type": Param(str, "conv1d", choices=("conv1d", "sep_conv1d"), doc="Plain or depthwise-separable conv."),
    "repeat": Param(int, 1, doc="Sub-blocks (conv, norm, activation, dropout) in this block."),
    "kernel_size": Param(list, doc="[k], the kernel width in frames."),
    "stride": Param(list, [1], doc="[s]; output length is ceil(length / s)."),
    "dilation": Param(list, [1], doc="[d]."),
    "num_channels": Param(int, doc="Output channels."),
    "padding": Param(str, "SAME", choices=("SAME", "same"), doc="Only SAME (centred, length-preserving)."),
    "dropout_keep_prob": Param(float, None, check=in_unit_interval, doc="Overrides the encoder-wide value."),
    "residual": Param(bool, False, doc="Jasper residual connection around the block."),
    "residual_dense": Param(bool, False, doc="Dense residual: sum of projections of all earlier blocks' inputs."),
}


class TDNNEncoder(Encoder):
    """Stack of 1-D convolution blocks (Jasper, Jasper DR, Wav2Letter+).

    Each entry of ``convnet_layers`` is a block of ``repeat`` sub-blocks
    ``conv -> batch norm -> activation -> dropout``. In a residual block the last
    sub-block's activation comes after adding a 1x1-conv + norm projection of the block
    input (Jasper, Li et al. 2019, arXiv:1904.03288); with ``residual_dense`` the
    projections of the inputs of every earlier residual block are added too (Jasper DR).

    Padding never leaks into real frames: convolutions pad explicitly and centred (so
    frame alignment does not depend on how long the padded batch is), inputs are zeroed
    past each sequence's length before every conv when ``use_conv_mask`` is set, and
    batch-norm statistics in training are computed over valid frames only.

    Input: ``source`` [batch, time, features], ``source_length`` [batch].
    Output: ``outputs`` [batch, ceil(time / total_stride), channels], ``lengths`` [batch].
    """

    PARAMS = {
        "convnet_layers": Param(list, doc="Block list (see LAYER_PARAMS)."),
        "activation_fn": Param((str, Callable), "relu", doc="relu, clipped_relu, gelu, swish, tanh or a function."),
        "dropout_keep_prob": Param(float, 1.0, check=in_unit_interval, doc="1 - dropout rate."),
        "normalization": Param((str, type(None)), "batch_norm", choices=("batch_norm", "layer_norm", None)),
        "bn_momentum": Param(float, 0.9, doc="Moving-average momentum of batch norm."),
        "bn_epsilon": Param(float, 1e-3),
        "use_conv_mask": Param(bool, True, doc="Zero padded frames before every convolution."),
        "data_format": Param(str, "channels_last", choices=("channels_last",), doc="Kept for config porting."),
        "initializer": Param(str, "glorot_uniform", doc="Keras initializer name for kernels."),
    }

    def __init__(self, params, data_spec, **kwargs):
        super().__init__(params, data_spec, **kwargs)
        self.layer_specs = [
            validate(f"TDNNEncoder.convnet_layers[{i}]", entry, LAYER_PARAMS)
            for i, entry in enumerate(self.params["convnet_layers"])
        ]
        self.activation = get_activation(self.params["activation_fn"])
        self.blocks = []
        self.residual_projections = []
        self.residual_norms = []
        for i, spec in enumerate(self.layer_specs):
            self._check_block(i, spec)
            block_in = self.layer_specs[i - 1]["num_channels"] if i else self.data_spec.source.num_features
            self.blocks.append(
                [
                    self._sub_block(i, j, spec, block_in if j == 0 else spec["num_channels"])
                    for j in range(spec["repeat"])
                ]
            )
            if spec["residual"]:
                n_inputs = self._num_dense_inputs(i) if spec["residual_dense"] else 1
                self.residual_projections.append(
                    [
                        self._conv(f"block{i}_res{k}_conv", 1, 1, 1, spec["num_channels"], "conv1d")
                        for k in range(n_inputs)
                    ]
                )
                self.residual_norms.append([self._norm(f"block{i}_res{k}_norm") for k in range(n_inputs)])
            else:
                self.residual_projections.append(None)
                self.residual_norms.append(None)

    # --------------------------------------------------------------- construction

    def _check_block(self, i: int, spec) -> None:
        if spec["residual"] and spec["stride"][0] != 1:
            raise ConfigError(f"TDNNEncoder.convnet_layers[{i}]: a residual block must have stride [1]")
        if spec["stride"][0] > 1 and spec["dilation"][0] > 1:
            raise ConfigError(f"TDNNEncoder.convnet_layers[{i}]: stride and dilation cannot both be > 1")

    def _num_dense_inputs(self, i: int) -> int:
        """Inputs of residual blocks 0..i that take part in the dense residual of block i."""
        return sum(1 for s in self.layer_specs[: i + 1] if s["residual"])

    def _conv(self, name, kernel, stride, dilation, channels, kind, in_channels=None):
        return MaskedConv1D(
            channels,
            kernel,
            stride=stride,
            dilation=dilation,
            separable=(kind == "sep_conv1d"),
            use_bias=self.params["normalization"] is None,
            kernel_initializer=self.kernel_initializer,
            in_channels=in_channels,
            name=name,
        )

    def _norm(self, name):
        kind = self.params["normalization"]
        if kind == "batch_norm":
            return BatchNormalization(momentum=self.params["bn_momentum"], epsilon=self.params["bn_epsilon"], name=name)
        if kind == "layer_norm":
            return keras.layers.LayerNormalization(epsilon=self.params["bn_epsilon"], name=name)
        return None

    def _sub_block(self, i: int, j: int, spec, in_channels: int) -> dict[str, Any]:
        keep = spec["dropout_keep_prob"] if spec["dropout_keep_prob"] is not None else self.params["dropout_keep_prob"]
        return {
            "conv": self._conv(
                f"block{i}_conv{j}",
                spec["kernel_size"][0],
                spec["stride"][0],
                spec["dilation"][0],
                spec["num_channels"],
                spec["type"],
                in_channels,
            ),
            "norm": self._norm(f"block{i}_norm{j}"),
            "dropout": keras.layers.Dropout(1.0 - keep, name=f"block{i}_dropout{j}") if keep < 1.0 else None,
        }

    # --------------------------------------------------------------- forward

    def call(self, inputs: dict[str, Any], training: bool = False) -> dict[str, Any]:
        x = keras.ops.cast(inputs[keys.SOURCE], self.compute_dtype)
        lengths = tf.cast(inputs[keys.SOURCE_LENGTH], tf.int32)
        mask_conv = self.params["use_conv_mask"]
        residual_inputs: list[tuple[Any, Any]] = []
        for i, spec in enumerate(self.layer_specs):
            if spec["residual"]:
                residual_inputs.append((x, lengths))
            block_in = x
            for j, sub in enumerate(self.blocks[i]):
                x, lengths = sub["conv"](x, lengths, mask_input=mask_conv)
                x = self._apply_norm(sub["norm"], x, lengths, training)
                last = j == spec["repeat"] - 1
                if last and spec["residual"]:
                    x = x + self._residual(i, block_in, residual_inputs, lengths, training, spec["residual_dense"])
                x = self.activation(x)
                if sub["dropout"] is not None:
                    x = sub["dropout"](x, training=training)
        x = x * tf.cast(tf.sequence_mask(lengths, tf.shape(x)[1])[:, :, None], x.dtype)
        return {keys.OUTPUTS: x, keys.LENGTHS: lengths}

    def l2_variables(self) -> list:
        """OpenSeq2Seq's set (``conv_bn_actv`` / ``conv_bn_res_bn_actv``): the kernels of
        every block convolution (depthwise and pointwise ones too) and the gammas of the
        batch norms, those after the residual projections included. Not the 1x1 residual
        projection kernels (OpenSeq2Seq built them without a regularizer), layer-norm
        parameters, biases or betas."""
        out = []
        for block in self.blocks:
            for sub in block:
                out += [w for w in sub["conv"].trainable_weights if w.path.endswith("kernel")]
                if isinstance(sub["norm"], keras.layers.BatchNormalization):
                    out.append(sub["norm"].gamma)
        for norms in self.residual_norms:
            out += [n.gamma for n in norms or () if isinstance(n, keras.layers.BatchNormalization)]
        return out

    def output_length(self, input_length):
        """``ceil(length / stride)`` for every strided conv (each sub-block of a block strides)."""
        length = input_length
        for spec in self.layer_specs:
            stride = spec["stride"][0]
            for _ in range(spec["repeat"]):
                length = (length + stride - 1) // stride  # MaskedConv1D's lengths
        return length

    def _apply_norm(self, norm, x, lengths, training):
        if norm is None:
            return x
        if isinstance(norm, keras.layers.BatchNormalization):
            return norm(x, training=training, mask=tf.sequence_mask(lengths, tf.shape(x)[1]))
        return norm(x)

    def _residual(self, i, block_in, residual_inputs, lengths, training, dense):
        sources = residual_inputs if dense else [(block_in, lengths)]
        total = None
        for conv, norm, (src, src_len) in zip(self.residual_projections[i], self.residual_norms[i], sources):
            r, r_len = conv(src, src_len, mask_input=self.params["use_conv_mask"])
            r = self._apply_norm(norm, r, r_len, training)
            total = r if total is None else total + r
        return total
