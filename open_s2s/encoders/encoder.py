"""Encoder base class."""

from __future__ import annotations

from typing import Any

from open_s2s.layers.component import Component


class Encoder(Component):
    """Maps a source batch to a sequence of hidden states.

    ``call(inputs, training)`` takes a dict with ``keys.SOURCE`` ([batch, time, features]
    or [batch, time] ids) and ``keys.SOURCE_LENGTH`` ([batch]) and returns a dict with
    ``keys.OUTPUTS`` ([batch, time', channels]) and ``keys.LENGTHS`` ([batch]).
    """

    def call(self, inputs: dict[str, Any], training: bool = False) -> dict[str, Any]:
        raise NotImplementedError

    def output_length(self, input_length: Any) -> Any:
        """``keys.LENGTHS`` that ``call`` returns for sources of ``input_length`` frames.

        A pure function of the params, for checks run before any data reaches the model
        (e.g. whether CTC can align each transcript). Accepts and returns numpy int arrays
        (or Python ints); raises NotImplementedError when an encoder does not say.
        """
        raise NotImplementedError(f"{type(self).__name__} does not define output_length")
