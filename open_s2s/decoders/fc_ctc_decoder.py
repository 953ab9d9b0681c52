"""FullyConnectedCTCDecoder: a per-frame projection to characters plus the CTC blank."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from open_s2s.config.params import Param
from open_s2s.data import keys
from open_s2s.decoders.decoder import Decoder
from open_s2s.decoding.ctc import ctc_greedy_decode


class FullyConnectedCTCDecoder(Decoder):
    """Projects encoder frames to ``vocab_size + 1`` CTC logits (blank is the last id).

    The projection runs in float32 whatever the compute policy: logits feed a softmax
    and the CTC loss, where half-precision rounding costs accuracy.

    Input: ``outputs`` [batch, time, channels], ``lengths`` [batch].
    Output: ``logits`` [batch, time, vocab_size + 1] float32, ``lengths`` [batch].
    ``decode`` returns greedy ``ids`` [batch, max_len] (padded with -1) and ``lengths``.
    """

    PARAMS = {
        "initializer": Param(str, "glorot_uniform", doc="Keras initializer name."),
        "use_language_model": Param(bool, False, doc="Beam search with an n-gram LM (speech family issue)."),
    }

    def __init__(self, params, data_spec, **kwargs):
        super().__init__(params, data_spec, **kwargs)
        self.blank_id = self.data_spec.vocab_size
        self.projection = keras.layers.Dense(
            self.data_spec.vocab_size + 1, kernel_initializer=self.params["initializer"], dtype="float32", name="logits"
        )

    def call(self, inputs: dict[str, Any], training: bool = False) -> dict[str, Any]:
        logits = self.projection(tf.cast(inputs[keys.OUTPUTS], tf.float32))
        return {keys.LOGITS: logits, keys.LENGTHS: inputs[keys.LENGTHS]}

    def decode(self, outputs: dict[str, Any]) -> dict[str, Any]:
        ids, lengths = ctc_greedy_decode(outputs[keys.LOGITS], outputs[keys.LENGTHS], self.blank_id)
        return {"ids": ids, keys.LENGTHS: lengths}
