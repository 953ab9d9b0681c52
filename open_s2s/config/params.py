"""Declarative parameter specs and strict validation.

Every configurable component declares ``PARAMS = {"key": Param(...)}``. ``validate``
checks a user-given mapping against that spec and returns a complete read-only mapping,
so component code indexes ``self.params["key"]`` and defaults live only in the spec.

This module deliberately imports no TensorFlow: configs are validated before anything
heavy is built, and the docs generator can read specs cheaply.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

REQUIRED = object()  # sentinel default: the key must be given


class ConfigError(ValueError):
    """A configuration problem, with a message that names the component and the key."""


@dataclass(frozen=True)
class Param:
    """One configuration key.

    Args:
      types: accepted Python types (a type or tuple of types). ``None`` accepts anything.
        ``float`` also accepts ``int``; ``list`` also accepts ``tuple``.
      default: default value, or ``REQUIRED``.
      choices: if given, the value must be one of these.
      doc: one line for the generated docs table.
      check: optional callable ``value -> error string or None`` for extra checks.
      spec: optional nested spec for a dict-valued key (validated recursively).
      aliases: other names accepted for this key (OpenSeq2Seq's, where ours differs), so
        its configs port unchanged; giving both names is an error.
    """

    types: Any = None
    default: Any = REQUIRED
    choices: Iterable[Any] | None = None
    doc: str = ""
    check: Callable[[Any], str | None] | None = None
    spec: Mapping[str, Param] | None = field(default=None)
    aliases: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


def _type_names(types: Any) -> str:
    if types is None:
        return "any"
    if not isinstance(types, tuple):
        types = (types,)
    names = {"NoneType": "None", "object": "tf.DType"}
    return " or ".join(names.get(getattr(t, "__name__", str(t)), getattr(t, "__name__", str(t))) for t in types)


def _type_ok(value: Any, types: Any) -> bool:
    if types is None:
        return True
    if not isinstance(types, tuple):
        types = (types,)
    if value is None and type(None) in types:
        return True
    for t in types:
        if t is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if t is int and isinstance(value, bool):
            continue
        if t is list and isinstance(value, tuple):
            return True
        if t is type and inspect.isclass(value):
            return True
        if t is Callable and callable(value):
            return True
        if isinstance(t, type) and isinstance(value, t):
            return True
    return False


def collect_params(cls: type) -> dict[str, Param]:
    """The ``PARAMS`` of ``cls`` and its bases, subclasses overriding bases (MRO order)."""
    spec: dict[str, Param] = {}
    for klass in reversed(cls.__mro__):
        spec.update(getattr(klass, "PARAMS", {}))
    return spec


def suggest(key: str, known: Iterable[str]) -> str:
    """Returns ' (did you mean "x"?)' for the nearest known key, or ''."""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def validate(owner: str, given: Mapping[str, Any] | None, spec: Mapping[str, Param]) -> Mapping[str, Any]:
    """Validates ``given`` against ``spec`` and fills defaults.

    Args:
      owner: name used in error messages, e.g. ``"TDNNEncoder"`` or ``"encoder_params"``.
      given: the user's values (may be None).
      spec: the component's ``PARAMS``.

    Returns:
      A read-only mapping with every key of ``spec``.

    Raises:
      ConfigError: naming ``owner`` and the offending key.
    """
    given = _resolve_aliases(owner, dict(given or {}), spec)
    for key in given:
        if key not in spec:
            raise ConfigError(f"{owner}: unknown key '{key}'{suggest(key, spec)}")
    out: dict[str, Any] = {}
    for key, p in spec.items():
        if key not in given:
            if p.required:
                raise ConfigError(f"{owner}: missing required key '{key}' ({p.doc or _type_names(p.types)})")
            out[key] = p.default
            continue
        out[key] = check_value(f"{owner}.{key}", given[key], p)
    return MappingProxyType(out)


def _resolve_aliases(owner: str, given: dict[str, Any], spec: Mapping[str, Param]) -> dict[str, Any]:
    """Renames alias keys to the key they stand for."""
    for key, p in spec.items():
        for alias in p.aliases:
            if alias in given:
                if key in given:
                    raise ConfigError(f"{owner}: '{alias}' and '{key}' are the same key; give one")
                given[key] = given.pop(alias)
    return given


def check_value(where: str, value: Any, p: Param) -> Any:
    """Checks one value against its Param; returns it (nested dicts validated)."""
    if not _type_ok(value, p.types):
        raise ConfigError(f"{where}: expected {_type_names(p.types)}, got {type(value).__name__} {value!r}")
    if p.choices is not None and value not in tuple(p.choices):
        raise ConfigError(f"{where}: {value!r} is not one of {list(p.choices)}")
    if p.check is not None:
        err = p.check(value)
        if err:
            raise ConfigError(f"{where}: {err}")
    if p.spec is not None and isinstance(value, Mapping):
        return validate(where, value, p.spec)
    return value


def positive(value: Any) -> str | None:
    return None if value is None or value > 0 else "must be > 0"


def in_unit_interval(value: Any) -> str | None:
    return None if value is None or 0.0 < value <= 1.0 else "must be in (0, 1]"


def params_table(spec: Mapping[str, Param]) -> str:
    """Markdown table of a spec, for docs."""
    rows = ["| key | type | default | doc |", "|---|---|---|---|"]
    for key, p in spec.items():
        default = "**required**" if p.required else repr(p.default)
        choices = f" One of {list(p.choices)}." if p.choices is not None else ""
        rows.append(f"| `{key}` | {_type_names(p.types)} | {default} | {p.doc}{choices} |")
    return "\n".join(rows)
