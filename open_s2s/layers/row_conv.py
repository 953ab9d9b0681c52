"""RowConv: DeepSpeech2's look-ahead ("row") convolution over time."""

from __future__ import annotations

import keras
import tensorflow as tf


class RowConv(keras.layers.Layer):
    """Per-channel convolution over the current and the next ``width - 1`` frames.

    ``y[:, t, c] = sum_{i < width} x[:, t + i, c] * w[i, c]`` (Amodei et al. 2016,
    arXiv:1512.02595, section 3.5): a small amount of future context after a
    unidirectional RNN, so the model can still stream with ``width - 1`` frames of delay.
    Frames past each sequence's length are zeroed first, so the last real frames see
    zeros, never padding, and a sequence's output does not depend on the batch it is in.
    (OpenSeq2Seq used a centred ``depthwise_conv2d`` with 'SAME' padding, which looks
    ``(width - 1) // 2`` frames into the past as well.)

    The per-channel sum is written as ``width`` shifted slices (like
    ``ShiftedDepthwiseConv1D``), not with Keras' ``DepthwiseConv``, whose oneDNN kernel
    crashes on this project's reference CPU (see ``open_s2s/layers/depthwise_conv.py``).

    Args:
      channels: channels of the input (= output).
      width: frames seen per output frame (the current one and ``width - 1`` ahead).
      kernel_initializer: Keras initializer name.

    Call args: ``x`` [batch, time, channels], ``lengths`` [batch] int32.
    Returns: [batch, time, channels].
    """

    def __init__(self, channels: int, width: int, kernel_initializer: str = "glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if width < 1:
            raise ValueError(f"RowConv: width must be >= 1, got {width}")
        self.channels, self.width, self.kernel_initializer = channels, width, kernel_initializer

    def build(self, x_shape, lengths_shape):
        self.kernel = self.add_weight(
            shape=(self.width, self.channels), initializer=self.kernel_initializer, name="kernel"
        )

    def call(self, x, lengths):
        time = tf.shape(x)[1]
        x = x * tf.cast(tf.sequence_mask(lengths, time)[:, :, None], x.dtype)
        x = tf.pad(x, [[0, 0], [0, self.width - 1], [0, 0]])
        kernel = tf.cast(self.kernel, x.dtype)
        y = x[:, :time, :] * kernel[0]
        for i in range(1, self.width):
            y = y + x[:, i : i + time, :] * kernel[i]
        return y

    def get_config(self):
        config = super().get_config()
        config.update(channels=self.channels, width=self.width, kernel_initializer=self.kernel_initializer)
        return config
