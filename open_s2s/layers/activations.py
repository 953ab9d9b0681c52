"""Activation functions selectable by name in configs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

from open_s2s.config.params import ConfigError


def clipped_relu(x: Any, max_value: float = 20.0) -> Any:
    """min(max(x, 0), 20): the activation of Wav2Letter+ and Jasper in OpenSeq2Seq."""
    return keras.ops.minimum(keras.ops.relu(x), max_value)


_ACTIVATIONS: dict[str, Callable] = {
    "relu": keras.ops.relu,
    "clipped_relu": clipped_relu,
    "relu6": keras.ops.relu6,
    "gelu": keras.ops.gelu,
    "swish": keras.ops.silu,
    "silu": keras.ops.silu,
    "tanh": keras.ops.tanh,
    "sigmoid": keras.ops.sigmoid,
    "identity": lambda x: x,
}


def get_activation(spec: str | Callable) -> Callable:
    """Returns the activation named ``spec`` (or ``spec`` itself when it is callable)."""
    if callable(spec):
        return spec
    if spec not in _ACTIVATIONS:
        raise ConfigError(f"unknown activation '{spec}'; known: {sorted(_ACTIVATIONS)}")
    return _ACTIVATIONS[spec]
