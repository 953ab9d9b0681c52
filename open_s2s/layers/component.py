"""Base class of configurable Keras layers (encoders and decoders)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras

from open_s2s.config.params import Param, collect_params, validate
from open_s2s.data.data_spec import DataSpec
from open_s2s.layers.initializers import INITIALIZER_PARAMS, initializer_config
from open_s2s.optimizers.gradients import l2_variables


class Component(keras.layers.Layer):
    """A Keras layer configured by a strict ``PARAMS`` spec and a ``DataSpec``.

    Constructor args equal ``get_config()``: ``params`` (the user's mapping, validated
    and completed here) and ``data_spec``. Subclasses read ``self.params["key"]`` only.
    Model code here never mentions precision or distribution: layers compute in
    ``self.compute_dtype`` as set by the runtime's Keras dtype policy.

    A component with an ``initializer`` param also takes ``initializer_params`` (the Keras
    initializer's arguments, OpenSeq2Seq's key) and passes ``self.kernel_initializer`` to
    its layers. The model fills both from the config's top-level keys when the component
    sets neither (``EncoderDecoderModel``).
    """

    PARAMS: Mapping[str, Param] = {}

    def __init__(self, params: Mapping[str, Any] | None, data_spec: DataSpec | Mapping[str, Any], **kwargs):
        kwargs.setdefault("name", _snake(type(self).__name__))
        super().__init__(**kwargs)
        if isinstance(data_spec, Mapping):
            data_spec = DataSpec.from_dict(data_spec)
        self.params = validate(type(self).__name__, params, self.all_params())
        self.data_spec = data_spec
        if "initializer" in self.params:
            _ = self.kernel_initializer  # a bad name or argument fails here, naming the component

    @classmethod
    def all_params(cls) -> dict[str, Param]:
        spec = collect_params(cls)
        if "initializer" in spec:
            spec.setdefault("initializer_params", INITIALIZER_PARAMS)
        return spec

    @property
    def kernel_initializer(self) -> str | dict[str, Any]:
        """``initializer`` with its ``initializer_params``, as Keras layers take it (plain data;
        computed on use, so that Keras does not track a dict attribute)."""
        return initializer_config(type(self).__name__, self.params["initializer"], self.params["initializer_params"])

    def l2_variables(self) -> list:
        """The variables a config's L2 ``regularizer`` applies to.

        Default: weight matrices and embeddings (paths ending in ``kernel`` or
        ``embeddings``), not biases or normalization parameters. Components override it
        where OpenSeq2Seq regularized another set for the same architecture.
        """
        return l2_variables(self.trainable_variables)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"params": _plain(self.params), "data_spec": self.data_spec.to_dict()})
        return config


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (not name[i - 1].isupper() or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)
