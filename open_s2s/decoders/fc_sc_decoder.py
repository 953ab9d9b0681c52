"""FullyConnectedSCDecoder: pools encoder frames over time and projects to class logits."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from open_s2s.config.params import ConfigError, Param, in_unit_interval
from open_s2s.data import keys
from open_s2s.decoders.decoder import Decoder


class FullyConnectedSCDecoder(Decoder):
    """Sequence classification: masked pooling over time, dropout, a float32 projection.

    The decoder of OpenSeq2Seq's speech-commands recipes. Pooling uses only the valid
    frames (``lengths``), so a clip's logits do not depend on how it was padded. The
    projection runs in float32 whatever the compute policy (logits feed a softmax and
    the cross-entropy loss).

    Input: ``outputs`` [batch, time, channels], ``lengths`` [batch].
    Output: ``logits`` [batch, num_classes] float32.
    ``decode`` returns ``probabilities`` [batch, num_classes] float32, ``labels``
    [batch] int32 (the arg max) and ``probability`` [batch] (its probability).
    """

    PARAMS = {
        "output_dim": Param((int, type(None)), None, doc="Classes; None = the data layer's (must match if given)."),
        "pooling": Param(str, "mean", choices=("mean", "max", "mean_max"), doc="Pooling over valid frames."),
        "dropout_keep_prob": Param(float, 1.0, check=in_unit_interval, doc="1 - dropout rate before the projection."),
        "initializer": Param(str, "glorot_uniform", doc="Keras initializer name."),
    }

    def __init__(self, params, data_spec, **kwargs):
        super().__init__(params, data_spec, **kwargs)
        n = self.data_spec.target.vocab_size
        if self.params["output_dim"] is not None and self.params["output_dim"] != n:
            raise ConfigError(
                f"FullyConnectedSCDecoder.output_dim: {self.params['output_dim']} but the data layer has {n} classes"
            )
        keep = self.params["dropout_keep_prob"]
        self.dropout = keras.layers.Dropout(1.0 - keep) if keep < 1.0 else None
        self.projection = keras.layers.Dense(
            n, kernel_initializer=self.kernel_initializer, dtype="float32", name="logits"
        )

    def call(self, inputs: dict[str, Any], training: bool = False) -> dict[str, Any]:
        x = tf.cast(inputs[keys.OUTPUTS], tf.float32)
        mask = tf.sequence_mask(inputs[keys.LENGTHS], tf.shape(x)[1], tf.float32)[:, :, None]
        pooled = []
        if self.params["pooling"] in ("mean", "mean_max"):
            pooled.append(tf.reduce_sum(x * mask, axis=1) / tf.maximum(tf.reduce_sum(mask, axis=1), 1.0))
        if self.params["pooling"] in ("max", "mean_max"):
            pooled.append(tf.reduce_max(tf.where(mask > 0, x, tf.fill(tf.shape(x), -1e9)), axis=1))
        x = tf.concat(pooled, axis=-1) if len(pooled) > 1 else pooled[0]
        if self.dropout is not None:
            x = self.dropout(x, training=training)
        return {keys.LOGITS: self.projection(x), keys.LENGTHS: inputs[keys.LENGTHS]}

    def decode(self, outputs: dict[str, Any]) -> dict[str, Any]:
        probabilities = tf.nn.softmax(tf.cast(outputs[keys.LOGITS], tf.float32))
        return {
            "probabilities": probabilities,
            "labels": tf.argmax(probabilities, axis=-1, output_type=tf.int32),
            "probability": tf.reduce_max(probabilities, axis=-1),
        }
