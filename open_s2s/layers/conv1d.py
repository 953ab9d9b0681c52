"""Conv1D whose float16 convolutions accumulate in float32 when no GPU is present."""

from __future__ import annotations

import functools

import keras
import tensorflow as tf


@functools.cache
def _has_gpu() -> bool:
    return bool(tf.config.list_physical_devices("GPU"))


class Conv1D(keras.layers.Conv1D):
    """``keras.layers.Conv1D`` with a CPU path for float16 inputs.

    TensorFlow's CPU kernels for float16 convolutions run through Eigen unless the CPU has
    AVX512-FP16: on this project's reference CPU the backward pass of a float16 conv took
    5.3 s where float32 took 26 ms. On a CPU, a float16 conv here therefore casts its
    float16 inputs and kernel to float32, convolves, and rounds the result to float16. That
    is what a GPU's tensor cores compute (float16 operands, float32 accumulation), and every
    tensor around the layer stays float16, so activations and their gradients still see
    float16 range and rounding. On a GPU the layer is exactly ``keras.layers.Conv1D``.
    """

    def call(self, inputs):
        if inputs.dtype != tf.float16 or self.padding == "causal" or self.data_format != "channels_last" or _has_gpu():
            return super().call(inputs)
        outputs = self.convolution_op(tf.cast(inputs, tf.float32), tf.cast(self.kernel, tf.float32))
        outputs = tf.cast(outputs, tf.float16)
        if self.use_bias:
            outputs = outputs + self.bias
        return outputs if self.activation is None else self.activation(outputs)
