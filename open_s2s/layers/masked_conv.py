"""MaskedConv1D: a centred 'same' 1-D convolution that tracks sequence lengths."""

from __future__ import annotations

import keras
import tensorflow as tf

from open_s2s.layers.conv1d import Conv1D
from open_s2s.layers.depthwise_conv import ShiftedDepthwiseConv1D


class MaskedConv1D(keras.layers.Layer):
    """1-D convolution with explicit centred padding and length bookkeeping.

    Keras/TF ``padding="same"`` with stride > 1 splits the padding according to the
    padded batch length, so a sequence's frames would shift with the batch it is in.
    Here the left padding is always ``dilation * (kernel - 1) // 2``, making outputs of
    a sequence independent of batch padding (infer results do not change with the
    batch size). Output length is ``ceil(length / stride)``.

    Args:
      filters: output channels.
      kernel_size: kernel width in frames.
      stride: stride in frames.
      dilation: dilation rate.
      separable: depthwise conv followed by a 1x1 pointwise conv (QuartzNet style); the
        depthwise part is ``ShiftedDepthwiseConv1D`` (see there why not Keras').
      in_channels: input channels, required when ``separable``.

    Call args: ``x`` [batch, time, channels], ``lengths`` [batch] int32, and
    ``mask_input`` to zero frames past each length before convolving.
    Returns: ``(y [batch, ceil(time / stride), filters], new_lengths [batch])``.
    """

    def __init__(
        self,
        filters,
        kernel_size,
        stride=1,
        dilation=1,
        separable=False,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        in_channels=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.stride, self.dilation = filters, kernel_size, stride, dilation
        self.separable, self.use_bias, self.kernel_initializer = separable, use_bias, kernel_initializer
        self.in_channels = in_channels
        common = dict(strides=stride, dilation_rate=dilation, padding="valid", use_bias=use_bias)
        if separable:
            if in_channels is None:
                raise ValueError("MaskedConv1D: separable=True needs in_channels")
            self.depthwise = ShiftedDepthwiseConv1D(
                in_channels, kernel_size, stride, dilation, kernel_initializer, name="depthwise"
            )
            self.conv = Conv1D(filters, 1, use_bias=use_bias, kernel_initializer=kernel_initializer, name="pointwise")
        else:
            self.conv = Conv1D(filters, kernel_size, kernel_initializer=kernel_initializer, name="conv", **common)

    def call(self, x, lengths, mask_input=True):
        if mask_input:
            x = x * tf.cast(tf.sequence_mask(lengths, tf.shape(x)[1])[:, :, None], x.dtype)
        total = self.dilation * (self.kernel_size - 1)
        left = total // 2
        # Extra right padding so that the output has exactly ceil(time / stride) frames.
        time = tf.shape(x)[1]
        out_time = (time + self.stride - 1) // self.stride
        right = tf.maximum((out_time - 1) * self.stride + total + 1 - time - left, 0)
        x = _pad_time(x, left, right)
        y = self.conv(self.depthwise(x) if self.separable else x)
        new_lengths = (lengths + self.stride - 1) // self.stride
        return y, new_lengths

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            stride=self.stride,
            dilation=self.dilation,
            separable=self.separable,
            in_channels=self.in_channels,
            use_bias=self.use_bias,
            kernel_initializer=self.kernel_initializer,
        )
        return config


def _pad_time(x, left, right):
    """Zero-pads axis 1 of ``x`` by ``left`` and ``right`` frames, keeping the static channel count.

    ``tf.pad`` with a computed ``right`` would leave the channel count unknown in the
    graph, which TFLite's convolution kernels need at conversion time.
    """
    shape = tf.shape(x)
    channels = x.shape[-1] if x.shape[-1] is not None else shape[2]
    zeros = [tf.zeros(tf.stack([shape[0], n, channels]), x.dtype) for n in (left, right)]
    return tf.concat([zeros[0], x, zeros[1]], axis=1)
