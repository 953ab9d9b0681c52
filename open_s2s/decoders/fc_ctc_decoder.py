"""FullyConnectedCTCDecoder: a per-frame projection to characters plus the CTC blank."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from open_s2s.config.params import ConfigError, Param, positive
from open_s2s.data import keys
from open_s2s.decoders.decoder import Decoder
from open_s2s.decoding.ctc import ctc_greedy_decode
from open_s2s.decoding.ctc_beam_search import CTCBeamSearchDecoder


class FullyConnectedCTCDecoder(Decoder):
    """Projects encoder frames to ``vocab_size + 1`` CTC logits (blank is the last id).

    The projection runs in float32 whatever the compute policy: logits feed a softmax
    and the CTC loss, where half-precision rounding costs accuracy.

    Input: ``outputs`` [batch, time, channels], ``lengths`` [batch].
    Output: ``logits`` [batch, time, vocab_size + 1] float32, ``lengths`` [batch].
    ``decode`` returns greedy ``ids`` [batch, max_len] (padded with -1) and ``lengths``
    in-graph, plus ``log_probs`` [batch, time, vocab_size + 1] and ``log_probs_length``
    for decoders outside the graph: with ``use_language_model``, ``text_decoder()`` is a
    CTC beam search with an n-gram LM (pyctcdecode + kenlm) that the model runs on them.
    """

    PARAMS = {
        "initializer": Param(str, "glorot_uniform", doc="Keras initializer name."),
        "use_language_model": Param(
            bool, False, doc="Decode eval/infer output by CTC beam search with the word n-gram LM lm_path."
        ),
        "lm_path": Param((str, type(None)), None, doc="ARPA or kenlm binary word LM (scripts/build_lm.py)."),
        "beam_width": Param(int, 64, doc="Beam width of the LM beam search.", check=positive),
        "alpha": Param(float, 0.5, doc="LM weight (scripts/tune_lm.py chooses it on a dev set)."),
        "beta": Param(float, 1.0, doc="Word insertion bonus (scripts/tune_lm.py chooses it on a dev set)."),
    }

    def __init__(self, params, data_spec, **kwargs):
        super().__init__(params, data_spec, **kwargs)
        self.blank_id = self.data_spec.target.vocab_size
        if self.params["use_language_model"] and not self.params["lm_path"]:
            raise ConfigError("FullyConnectedCTCDecoder: use_language_model needs decoder_params.lm_path")
        self._text_decoder = None
        self.projection = keras.layers.Dense(
            self.data_spec.target.vocab_size + 1,
            kernel_initializer=self.kernel_initializer,
            dtype="float32",
            name="logits",
        )

    def call(self, inputs: dict[str, Any], training: bool = False) -> dict[str, Any]:
        logits = self.projection(tf.cast(inputs[keys.OUTPUTS], tf.float32))
        return {keys.LOGITS: logits, keys.LENGTHS: inputs[keys.LENGTHS]}

    def decode(self, outputs: dict[str, Any]) -> dict[str, Any]:
        ids, lengths = ctc_greedy_decode(outputs[keys.LOGITS], outputs[keys.LENGTHS], self.blank_id)
        return {
            "ids": ids,
            keys.LENGTHS: lengths,
            "log_probs": tf.nn.log_softmax(outputs[keys.LOGITS]),
            "log_probs_length": outputs[keys.LENGTHS],
        }

    def text_decoder(self) -> CTCBeamSearchDecoder | None:
        """The LM beam search when ``use_language_model`` is set (built on first use), else None."""
        if not self.params["use_language_model"]:
            return None
        if self._text_decoder is None:
            p = self.params
            self._text_decoder = CTCBeamSearchDecoder(
                self.data_spec.target.vocab, p["lm_path"], p["alpha"], p["beta"], p["beam_width"]
            )
        return self._text_decoder
