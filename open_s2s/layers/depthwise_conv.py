"""ShiftedDepthwiseConv1D: a depthwise 1-D convolution built from shifted slices."""

from __future__ import annotations

import keras
import tensorflow as tf


class ShiftedDepthwiseConv1D(keras.layers.Layer):
    """Depthwise (per-channel) 1-D convolution, 'valid' padding, as a sum of k shifted slices.

    ``y[:, t, c] = sum_i x[:, t * stride + i * dilation, c] * w[i, c]``.

    Why not ``keras.layers.DepthwiseConv1D``: with TensorFlow 2.16.2's oneDNN kernels on
    this project's reference CPU (AVX512), ``tf.nn.depthwise_conv2d`` crashes the process
    with SIGFPE for 64+ channels and kernels of 13 and more, or runs away with >14 GB
    (kernel 17); it works with ``TF_ENABLE_ONEDNN_OPTS=0``, which would cost the bf16
    speed-up everywhere else. The shifted sum has the same FLOPs, is differentiable
    with plain ops, and is cheap next to the pointwise convolution that follows it.

    Args:
      channels: input (= output) channels.
      kernel_size: taps ``k``.
      stride, dilation: as in a convolution.

    Input ``[batch, time, channels]``; output ``[batch, (time - dilation*(k-1) - 1)//stride + 1, channels]``.
    """

    def __init__(self, channels, kernel_size, stride=1, dilation=1, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.channels, self.kernel_size, self.stride, self.dilation = channels, kernel_size, stride, dilation
        self.kernel_initializer = kernel_initializer

    def build(self, input_shape):
        # Created in build, not __init__, so the weight's path nests under the parent layers
        # ("encoder/block0_conv0/depthwise/depthwise_kernel"): checkpoints key variables by path.
        self.kernel = self.add_weight(
            shape=(self.kernel_size, self.channels), initializer=self.kernel_initializer, name="depthwise_kernel"
        )

    def call(self, x):
        kernel = tf.cast(self.kernel, x.dtype)
        span = self.dilation * (self.kernel_size - 1)
        out_time = tf.shape(x)[1] - span
        y = None
        for i in range(self.kernel_size):
            tap = x[:, i * self.dilation : i * self.dilation + out_time, :] * kernel[i]
            y = tap if y is None else y + tap
        return y[:, :: self.stride, :] if self.stride > 1 else y

    def get_config(self):
        config = super().get_config()
        config.update(
            channels=self.channels,
            kernel_size=self.kernel_size,
            stride=self.stride,
            dilation=self.dilation,
            kernel_initializer=self.kernel_initializer,
        )
        return config
