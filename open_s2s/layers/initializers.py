"""Kernel initializers given by name and constructor arguments, as configs give them.

OpenSeq2Seq's configs pass an initializer and its ``initializer_params`` (its ``__init__``
arguments); here the initializer is a Keras name (``"glorot_normal"``,
``"variance_scaling"``, ...) and ``initializer_params`` are that Keras class's arguments
(``{"scale": 2.0, "mode": "fan_out"}``). Layers receive a Keras-serializable value: the
name itself, or ``{"class_name": name, "config": params}``, so ``get_config`` stays plain data.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator, Mapping
from typing import Any

import keras

from open_s2s.config.params import ConfigError, Param

INITIALIZER_PARAMS = Param(
    dict,
    {},
    doc="Arguments of the Keras initializer named by initializer, e.g. {'scale': 2.0, 'mode': 'fan_out'} "
    "for 'variance_scaling' (OpenSeq2Seq's key).",
)


@contextlib.contextmanager
def _python_random_untouched() -> Iterator[None]:
    """Keras draws an unseeded initializer's seed from Python's ``random``: building one only
    to check it must not shift the seeds of the model's real initializers."""
    state = random.getstate()
    try:
        yield
    finally:
        random.setstate(state)


def check_initializer_name(name: Any) -> str | None:
    """``Param.check``: None when Keras knows the initializer ``name``, else the problem."""
    if name is None:
        return None
    try:
        with _python_random_untouched():
            keras.initializers.get(name)
    except (ValueError, TypeError):
        return f"unknown Keras initializer {name!r} (e.g. 'glorot_uniform', 'glorot_normal', 'variance_scaling')"
    return None


def initializer_config(owner: str, name: str, params: Mapping[str, Any]) -> str | dict[str, Any]:
    """The Keras value for initializer ``name`` built with ``params``.

    Args:
      owner: component name for error messages.
      name: a Keras initializer name.
      params: its constructor arguments (may be empty).

    Returns:
      ``name`` when ``params`` is empty, else ``{"class_name": name, "config": dict(params)}``.

    Raises:
      ConfigError: unknown name, or arguments the initializer does not take (naming the key).
    """
    err = check_initializer_name(name)
    if err:
        raise ConfigError(f"{owner}.initializer: {err}")
    if not params:
        return name
    value = {"class_name": name, "config": dict(params)}
    try:
        with _python_random_untouched():
            keras.initializers.get(value)
    except (TypeError, ValueError) as e:
        reason = str(e).strip().splitlines()[-1]  # Keras' last line names the bad argument
        raise ConfigError(f"{owner}.initializer_params: {name!r} does not take {dict(params)}: {reason}") from e
    return value
