"""Loading config files: mode overlays, command-line overrides, validation, JSON dump.

A config file is a Python module that defines ``base_model`` and ``base_params`` and
optionally ``train_params`` / ``eval_params`` / ``infer_params`` (OpenSeq2Seq's shape).
The precedence, lowest to highest, is::

    base_params  <  <mode>_params  <  command line

(OpenSeq2Seq let ``train_params`` override the command line; here the command line wins,
because it is what the user typed last.)
"""

from __future__ import annotations

import ast
import copy
import importlib
import importlib.util
import inspect
import os
import subprocess
import sys
import traceback
from collections.abc import Mapping
from typing import Any

from open_s2s.config.params import ConfigError, Param, suggest
from open_s2s.io_utils import write_json

MODE_SECTIONS = {"train": "train_params", "eval": "eval_params", "infer": "infer_params", "export": "infer_params"}
# Keys whose value names a class or function; their "<key>_params" sibling is that
# component's params and is validated against the component's PARAMS spec.
SELECTORS = ("encoder", "decoder", "loss", "data_layer")


ENVIRONMENT_HINT = (
    "run the project's environment: `source .venv/bin/activate` in the repository (created by `make setup`), "
    "or call .venv/bin/python"
)


class EnvironmentProblem(ConfigError):
    """The Python running open_s2s lacks a dependency (not a mistake in the config)."""


def missing_dependency(error: ImportError) -> str | None:
    """The top-level package an ImportError says is not installed, or None.

    ``from open_s2s.encoders import NoSuchEncoder`` in a config is the config's mistake; a
    ``No module named 'tensorflow'`` raised anywhere below it is the environment's.
    """
    name = getattr(error, "name", None)
    if not isinstance(error, ModuleNotFoundError) or not name:
        return None
    top = name.split(".")[0]
    if top == "open_s2s" or top.startswith("open_s2s_config_"):
        return None
    try:
        installed = importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        installed = False
    return None if installed else top


def load_module(config_file: str):
    """Imports a config file as a module, with errors that name the file."""
    if not os.path.isfile(config_file):
        raise ConfigError(f"config file not found: {config_file}")
    name = "open_s2s_config_" + os.path.splitext(os.path.basename(config_file))[0]
    spec = importlib.util.spec_from_file_location(name, config_file)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as e:
        raise ConfigError(f"{config_file}:{e.lineno}: syntax error: {e.msg}") from e
    except ImportError as e:
        missing = missing_dependency(e)
        if missing:
            raise EnvironmentProblem(
                f"{config_file} needs the module '{missing}', which this Python ({sys.executable}) does not "
                f"have: {ENVIRONMENT_HINT}"
            ) from e
        raise ConfigError(f"{config_file}: {e} (check the imports at the top of the config)") from e
    except Exception as e:  # NameError, KeyError, ... raised while executing the config
        lines = [f.lineno for f in traceback.extract_tb(e.__traceback__) if f.filename == config_file]
        where = f"{config_file}:{lines[-1]}" if lines else config_file
        raise ConfigError(f"{where}: {type(e).__name__}: {e}") from e
    for required in ("base_model", "base_params"):
        if not hasattr(module, required):
            raise ConfigError(f"{config_file}: must define '{required}'")
    return module


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Recursively overlays ``overlay`` onto a copy of ``base`` (dicts merge, others replace)."""
    out = dict(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def mode_params(module, mode: str) -> dict[str, Any]:
    """base_params overlaid by the section of ``mode`` (a copy; the module is untouched)."""
    params = copy.deepcopy(dict(module.base_params))
    section = getattr(module, MODE_SECTIONS[mode], None) or {}
    return deep_merge(params, copy.deepcopy(dict(section)))


# ----------------------------------------------------------------------------- overrides


def parse_overrides(argv: list[str]) -> list[tuple[list[str], str]]:
    """Parses ``--a/b=value`` arguments into ``(["a", "b"], "value")`` pairs."""
    out = []
    for arg in argv:
        if not arg.startswith("--") or "=" not in arg:
            raise ConfigError(f"cannot parse argument '{arg}': expected --key=value or --a/b=value")
        key, value = arg[2:].split("=", 1)
        path = [k for k in key.split("/") if k]
        if not path:
            raise ConfigError(f"cannot parse argument '{arg}': empty key")
        out.append((path, value))
    return out


def import_object(dotted: str) -> Any:
    """Imports ``package.module.Name``."""
    module_name, _, attr = dotted.rpartition(".")
    if not module_name:
        raise ConfigError(f"'{dotted}' is not a dotted path like package.module.Name")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"cannot import '{dotted}': {e}") from e


def _parse_scalar(raw: str) -> Any:
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        pass
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    return raw


def parse_value(raw: str, param: Param | None) -> Any:
    """Turns a command-line string into a value, guided by the key's Param when known.

    ``[a.csv,b.csv]`` becomes a list of strings even without quotes; a key typed ``str``
    keeps the raw string; a key that takes a class accepts a dotted import path.
    """
    types = param.types if param is not None else None
    types = types if isinstance(types, tuple) else (types,)
    if raw.startswith("[") and raw.endswith("]"):
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            inner = raw[1:-1].strip()
            value = [_parse_scalar(x.strip()) for x in inner.split(",")] if inner else []
        return value
    takes_object = any(t is type or getattr(t, "__name__", "") == "Callable" for t in types)
    if raw in ("None", "null") and (type(None) in types or None in types):
        return None
    if takes_object and "." in raw and not raw.startswith(("/", ".")) and "/" not in raw:
        return import_object(raw)
    if str in types and not ({int, float, bool} & set(types)):
        return raw
    value = _parse_scalar(raw)
    return value


def apply_overrides(params: dict[str, Any], overrides: list[tuple[list[str], str]], model_cls) -> dict[str, Any]:
    """Sets each override in ``params`` (creating intermediate dicts), parsed by its schema."""
    params = copy.deepcopy(params)
    for path, raw in overrides:
        param = lookup_param(params, path, model_cls)
        node = params
        for key in path[:-1]:
            if node.get(key) is None:
                node[key] = {}
            if not isinstance(node[key], dict):
                raise ConfigError(f"--{'/'.join(path)}: '{key}' is not a dict in the config")
            node = node[key]
        node[path[-1]] = parse_value(raw, param)
    return params


def lookup_param(params: Mapping[str, Any], path: list[str], model_cls) -> Param | None:
    """Finds the Param for a key path (top-level spec, or a selected component's spec)."""
    spec = top_level_spec(model_cls)
    if len(path) == 1:
        if path[0] not in spec:
            raise ConfigError(f"--{path[0]}: unknown key '{path[0]}'{suggest(path[0], spec)}")
        return spec[path[0]]
    head = path[0]
    if head.endswith("_params") and head[: -len("_params")] in params:
        comp = params[head[: -len("_params")]]
        comp_spec = component_spec(comp)
        if comp_spec is not None:
            node_spec: Mapping[str, Param] | None = comp_spec
            for key in path[1:]:
                if node_spec is None:
                    return None
                if key not in node_spec:
                    name = getattr(comp, "__name__", str(comp))
                    raise ConfigError(f"--{'/'.join(path)}: {name} has no key '{key}'{suggest(key, node_spec)}")
                param = node_spec[key]
                node_spec = param.spec
            return param
    if head not in spec:
        raise ConfigError(f"--{'/'.join(path)}: unknown key '{head}'{suggest(head, spec)}")
    return None


def component_spec(component: Any) -> Mapping[str, Param] | None:
    """The params spec of a component class/function, or None if it declares none."""
    if hasattr(component, "all_params"):
        return component.all_params()
    return getattr(component, "PARAMS", None)


def top_level_spec(model_cls) -> Mapping[str, Param]:
    from open_s2s.config.schema import BASE_PARAMS  # noqa: PLC0415  (keeps this module TF-free)

    spec = dict(BASE_PARAMS)
    spec.update(getattr(model_cls, "PARAMS", {}))
    return spec


# ----------------------------------------------------------------------------- dump


def to_jsonable(value: Any) -> Any:
    """Classes and functions become dotted paths; containers recurse; others become str."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if inspect.isclass(value) or inspect.isfunction(value) or inspect.isbuiltin(value):
        return f"{value.__module__}.{value.__qualname__}"
    if hasattr(value, "name") and hasattr(value, "is_floating"):  # tf.DType
        return value.name
    return repr(value)


def git_revision(path: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", path, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False
        )
        rev = out.stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", path, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
        return (rev + ("-dirty" if dirty else "")) if rev else None
    except (OSError, subprocess.SubprocessError):
        return None


def dump_config(path: str, config_file: str, mode: str, model_cls, params: Mapping[str, Any]) -> None:
    """Writes the resolved config, the command line and the git revision as JSON (atomically)."""
    here = os.path.dirname(os.path.abspath(__file__))
    record = {
        "config_file": os.path.abspath(config_file),
        "cwd": os.getcwd(),  # relative data paths in params are relative to it
        "mode": mode,
        "command_line": [sys.executable] + sys.argv,
        "git_revision": git_revision(here),
        "base_model": to_jsonable(model_cls),
        "params": to_jsonable(params),
    }
    write_json(path, record, sort_keys=True)


# ----------------------------------------------------------------------------- resolve


def resolve_config(config_file: str, mode: str, argv: list[str] | None = None):
    """Loads, overlays, overrides and validates a config for one mode.

    Args:
      config_file: path of the config module.
      mode: ``train``, ``eval``, ``infer`` or ``export``.
      argv: ``--key=value`` overrides (the command line wins over the mode section).

    Returns:
      ``(model_cls, params)`` with ``params`` a complete, validated plain dict.

    Raises:
      ConfigError: with one message naming the component and the key.
    """
    from open_s2s.config.params import validate  # noqa: PLC0415

    module = load_module(config_file)
    model_cls = module.base_model
    if not isinstance(model_cls, type):
        raise ConfigError(f"{config_file}: base_model must be a model class, got {model_cls!r}")
    params = mode_params(module, mode)
    params = apply_overrides(params, parse_overrides(argv or []), model_cls)
    owner = f"{os.path.basename(config_file)} ({model_cls.__name__})"
    resolved = dict(validate(owner, params, top_level_spec(model_cls)))
    for selector in SELECTORS:
        if selector not in resolved:
            continue
        spec = component_spec(resolved[selector])
        key = f"{selector}_params"
        if spec is not None and key in resolved:
            name = getattr(resolved[selector], "__name__", str(resolved[selector]))
            validate(f"{name} ({key})", resolved[key], spec)
    if mode == "train" and resolved["max_steps"] is None and resolved["num_epochs"] is None:
        raise ConfigError(f"{owner}: give 'max_steps' or 'num_epochs'")
    if resolved["max_steps"] is not None and resolved["num_epochs"] is not None:
        raise ConfigError(f"{owner}: give only one of 'max_steps' and 'num_epochs'")
    return model_cls, resolved
