"""Loss base class."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from open_s2s.config.params import Param, validate
from open_s2s.data.data_spec import DataSpec


class Loss:
    """A callable ``(decoder_outputs, batch) -> scalar`` mean over the local batch.

    Losses compute in float32 whatever the layers' compute dtype, and know nothing of
    replicas or loss scaling (the trainer handles both).
    """

    PARAMS: Mapping[str, Param] = {}

    def __init__(self, params: Mapping[str, Any] | None, data_spec: DataSpec):
        self.params = validate(type(self).__name__, params, self.PARAMS)
        self.data_spec = data_spec

    def __call__(self, outputs: dict[str, Any], batch: dict[str, Any]):
        raise NotImplementedError
