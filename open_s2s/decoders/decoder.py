"""Decoder base class."""

from __future__ import annotations

from typing import Any

from open_s2s.layers.component import Component


class Decoder(Component):
    """Maps encoder outputs to the model's outputs.

    ``call(inputs, training)`` takes the encoder's output dict, to which the model adds
    the batch's targets (``keys.TARGET``, ``keys.TARGET_LENGTH``) when it has them, so
    autoregressive decoders can teacher-force; it returns a dict with at least
    ``keys.LOGITS`` (or family-specific outputs) and ``keys.LENGTHS``.

    ``decode(outputs)`` turns the outputs into predictions without targets (greedy CTC,
    beam search, autoregressive generation) and must be traceable in a ``tf.function``
    so that it can be exported.
    """

    def call(self, inputs: dict[str, Any], training: bool = False) -> dict[str, Any]:
        raise NotImplementedError

    def decode(self, outputs: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def text_decoder(self) -> Any:
        """A decoder that runs on ``decode``'s numpy output instead of its ids (e.g. CTC beam
        search with a language model), or None when the in-graph decoding is final."""
        return None
