"""Decoder base class."""

from __future__ import annotations

from typing import Any

from open_s2s.layers.component import Component


class Decoder(Component):
    """Maps encoder outputs to the model's outputs, teacher-forced or free-running.

    ``call(inputs, training)`` is the pass the loss sees. ``inputs`` is the encoder's
    output dict (``outputs``, ``lengths``, ``source_length``), to which the model adds
    the batch's targets (``keys.TARGET``, ``keys.TARGET_LENGTH``) when it has them, so
    that an autoregressive decoder can be teacher-forced. It returns a dict with at
    least ``keys.LOGITS`` (or family-specific outputs) and ``keys.LENGTHS``.

    ``generate(inputs)`` is the free-running pass: the encoder's outputs only, no
    targets; it returns the predictions (ids, labels, spectrograms, ...). It must be
    traceable in one ``tf.function`` (decoding state as tensors in a ``tf.while_loop``)
    so that eval, infer and exports share it.

    Decoders whose predictions come from one pass that reads no target (CTC, classifiers)
    leave ``AUTOREGRESSIVE`` False and implement ``decode(outputs)``: ``generate`` is then
    ``decode(call(inputs))``, and eval reuses the loss pass's outputs for it.
    """

    # True when generation is a pass of its own (the teacher-forced outputs cannot be decoded).
    AUTOREGRESSIVE = False

    def call(self, inputs: dict[str, Any], training: bool = False) -> dict[str, Any]:
        raise NotImplementedError

    def generate(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if self.AUTOREGRESSIVE:
            raise NotImplementedError(f"{type(self).__name__} must implement generate()")
        return self.decode(self(inputs, training=False))

    def decode(self, outputs: dict[str, Any]) -> dict[str, Any]:
        """Predictions from the outputs of ``call`` (non-autoregressive decoders)."""
        raise NotImplementedError(f"{type(self).__name__} generates autoregressively: use generate()")

    def text_decoder(self) -> Any:
        """A decoder that runs on ``generate``'s numpy output instead of its ids (e.g. CTC beam
        search with a language model), or None when the in-graph decoding is final."""
        return None
