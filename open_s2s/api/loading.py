"""Finding what a path holds (a run's logdir or an export) and making its serving function.

Both kinds give the same thing: ``serve(**inputs) -> dict of tensors``, the export's
``serving_default`` signature (raw audio or text in), with the ``DataSpec`` and the
serving settings of ``open_s2s.export.assets``. From a logdir the model is rebuilt from
``config.json`` in the run's dtype and restored from a checkpoint, and ``serve`` is the
serving module's function that an export would save; from an export it is the loaded
signature, so a model gives the same outputs whichever way it is loaded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from open_s2s.config.params import ConfigError

# Selector keys of a config whose values are classes (dotted paths in config.json).
_CLASS_KEYS = ("encoder", "decoder", "loss", "data_layer")


@dataclass
class Loaded:
    """What ``load`` found.

    Attributes:
      family: ``speech2text``, ``speech_commands``, ``text2text`` or ``text2speech``.
      serve: ``serve(**inputs) -> {name: tensor}`` (the export's ``serving_default``).
      data_spec: the model's DataSpec.
      settings: ``serving.json`` of the export (features, decoding defaults, ...).
      source: ``"export"`` or ``"checkpoint"``.
      path: the export directory, or the checkpoint restored.
    """

    family: str
    serve: Callable[..., Mapping[str, Any]]
    data_spec: Any
    settings: dict[str, Any]
    source: str
    path: str


def load_source(path: str, checkpoint: str | None = None) -> Loaded:
    """Loads an export directory or a run's logdir (see ``open_s2s.load``)."""
    from open_s2s.export.saved_model import read_manifest  # noqa: PLC0415

    if not os.path.isdir(path):
        raise ConfigError(f"open_s2s.load: {path} is not a directory (give a run's logdir or an export directory)")
    manifest = read_manifest(path)
    if manifest is not None:
        if checkpoint is not None:
            raise ConfigError(f"open_s2s.load: {path} is an export; checkpoint= is for a run's logdir")
        return _load_export(path, manifest)
    if os.path.isfile(os.path.join(path, "config.json")):
        return _load_logdir(path, checkpoint)
    raise ConfigError(
        f"open_s2s.load: {path} is neither an open_s2s export (no open_s2s_export.json) nor a run's logdir "
        "(no config.json)"
    )


# ---------------------------------------------------------------------------- exports


def _load_export(export_dir: str, manifest: Mapping[str, Any]) -> Loaded:
    from open_s2s import quiet  # noqa: PLC0415
    from open_s2s.data.data_spec import DataSpec  # noqa: PLC0415
    from open_s2s.export.assets import read_asset_json  # noqa: PLC0415

    tf = quiet.import_tensorflow()
    family = manifest["family"]
    settings = read_asset_json(export_dir, "serving.json")
    if family == "text2text" and any(settings[side].get("sentencepiece_model") for side in ("source", "target")):
        import tensorflow_text  # noqa: F401, PLC0415  (registers the SentencePiece ops the graph uses)
    loaded = tf.saved_model.load(export_dir)
    signature = loaded.signatures["serving_default"]

    def serve(**inputs):
        return signature(**inputs)

    serve.module = loaded  # keeps the loaded object (and its variables) alive
    spec = DataSpec.from_dict(read_asset_json(export_dir, "data_spec.json"))
    return Loaded(family, serve, spec, settings, "export", export_dir)


# ---------------------------------------------------------------------------- logdirs


def _load_logdir(logdir: str, checkpoint: str | None) -> Loaded:
    from open_s2s import quiet  # noqa: PLC0415

    quiet.import_tensorflow()
    import keras  # noqa: PLC0415

    from open_s2s.export.assets import family_of, serving_settings  # noqa: PLC0415
    from open_s2s.modes.building import build_model  # noqa: PLC0415
    from open_s2s.training import checkpoints as ckpt_lib  # noqa: PLC0415
    from open_s2s.training.runtime import POLICIES, dtype_name  # noqa: PLC0415

    model_cls, params = read_run_config(logdir)
    path = _checkpoint_path(logdir, checkpoint)
    data_spec, serving_params = params["data_layer"].spec_from_params(params["data_layer_params"])
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(POLICIES[dtype_name(params.get("dtype", "float32"))])
    try:  # layers keep the run's policy; the caller's global policy comes back
        model = build_model(model_cls, params, data_spec)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    ckpt_lib.restore(ckpt_lib.make_checkpoint(model, None), path, model_only=True)
    module = model.serving_module(serving_params)
    family = family_of(model_cls)
    settings, _ = serving_settings(family, params, serving_params)

    def serve(**inputs):
        return module.serve(**inputs)

    serve.module = module
    return Loaded(family, serve, model.data_spec, settings, "checkpoint", path)


def _checkpoint_path(logdir: str, checkpoint: str | None) -> str:
    from open_s2s.training import checkpoints as ckpt_lib  # noqa: PLC0415

    if checkpoint in (None, "latest"):
        return ckpt_lib.find_checkpoint(logdir)
    if checkpoint == "best":
        best = ckpt_lib.latest(os.path.join(logdir, ckpt_lib.BEST_DIR))
        if best is None:
            raise ConfigError(f"open_s2s.load: {logdir} has no best checkpoint (eval writes {ckpt_lib.BEST_DIR}/)")
        return best
    found = ckpt_lib.latest(checkpoint)
    if found is None:
        raise ConfigError(f"open_s2s.load: no checkpoint at {checkpoint}")
    return found


def read_run_config(logdir: str) -> tuple[type, dict[str, Any]]:
    """``(model class, params)`` from a run's ``config.json``: classes imported, and relative data
    paths that do not exist from here taken relative to the directory the run started in."""
    from open_s2s.config.loader import import_object  # noqa: PLC0415

    with open(os.path.join(logdir, "config.json"), encoding="utf-8") as f:
        record = json.load(f)
    params = dict(record["params"])
    for key in _CLASS_KEYS:
        if isinstance(params.get(key), str):
            params[key] = import_object(params[key])
    roots = [os.getcwd(), record.get("cwd"), _repo_of(record.get("config_file"))]
    for key in ("data_layer_params", "decoder_params"):
        if isinstance(params.get(key), dict):
            params[key] = {k: _relocate(v, roots) for k, v in params[key].items()}
    if "judge" in params:
        params["judge"] = None  # eval-only (speech synthesis), reads its own text files
    return import_object(record["base_model"]), params


def _repo_of(config_file: str | None) -> str | None:
    """The directory above ``example_configs/`` of a config file, where runs usually start."""
    if not config_file:
        return None
    parts = os.path.abspath(config_file).split(os.sep)
    return os.sep.join(parts[: parts.index("example_configs")]) if "example_configs" in parts else None


def _relocate(value: Any, roots: list[str | None]) -> Any:
    if not isinstance(value, str) or os.path.isabs(value) or os.path.exists(value) or os.sep not in value:
        return value
    for root in roots:
        if root and os.path.exists(os.path.join(root, value)):
            return os.path.join(root, value)
    return value
