"""What an export carries besides the graph, so that the directory alone is enough to use it.

``assets/`` of every export holds:

* ``config.json``: the resolved config (classes as dotted paths), as a run's ``config.json``;
* ``data_spec.json``: the ``DataSpec`` (per side: vocabulary or class names with their
  special ids, sample rate, feature stride, clip length; ``DataSpec.from_dict`` reads it);
* ``serving.json``: how raw input becomes model input (the data layer's feature or
  spectrogram settings; for text, each side's tokenization), and the family's decoding
  settings (e.g. the LM weights of speech recognition);
* for SentencePiece sides, the ``.model`` files.

The manifest (``open_s2s_export.json`` at the top, see ``saved_model``) names the family,
the model class, the sample rate of audio families and the files.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from typing import Any

from open_s2s.config.loader import git_revision, to_jsonable

FAMILIES = ("speech2text", "speech_commands", "text2text", "text2speech")


def family_of(model_cls: type) -> str:
    """The family name of a model class (``speech2text``, ``speech_commands``, ``text2text``, ``text2speech``)."""
    from open_s2s.models import Speech2Text, SpeechCommands, Text2SpeechTacotron, Text2Text  # noqa: PLC0415

    for cls, name in (
        (Speech2Text, "speech2text"),
        (SpeechCommands, "speech_commands"),
        (Text2Text, "text2text"),
        (Text2SpeechTacotron, "text2speech"),
    ):
        if issubclass(model_cls, cls):
            return name
    raise ValueError(f"{model_cls.__name__} is not a model of one of the families {FAMILIES}")


def _plain(value: Any) -> Any:
    """Dataclasses and tuples as JSON values (bytes are not JSON: callers move them to files)."""
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def serving_settings(family: str, params: Mapping[str, Any], serving_params: Any) -> tuple[dict, dict[str, bytes]]:
    """``(serving.json content, extra asset files)`` for ``family``."""
    files: dict[str, bytes] = {}
    if family == "text2text":
        settings = {}
        for side in ("source", "target"):
            side_params = getattr(serving_params, side)
            value = _plain(dataclasses.replace(side_params, sentencepiece_model=None))
            if side_params.sentencepiece_model is not None:
                files[f"{side}.model"] = side_params.sentencepiece_model
                value["sentencepiece_model"] = f"{side}.model"
            settings[side] = value
        return settings, files
    settings = {"features": _plain(serving_params)}
    if family == "speech2text":  # the LM beam search's settings, defaults filled in from the decoder's PARAMS
        spec = getattr(params.get("decoder"), "PARAMS", {})
        decoder = {k: p.default for k, p in spec.items() if not p.required} | dict(params.get("decoder_params", {}))
        decoding_keys = ("use_language_model", "lm_path", "alpha", "beta", "beam_width")
        settings["decoding"] = {k: decoder[k] for k in decoding_keys if k in decoder}
    if family == "text2speech":
        settings["griffin_lim"] = _plain(params.get("griffin_lim", {}))
    return settings, files


def export_assets(
    model, model_cls: type, params: Mapping[str, Any], serving_params: Any, checkpoint: str | None = None
) -> tuple[dict[str, str | bytes], dict[str, Any]]:
    """``(assets files, manifest fields)`` of an export of ``model`` (see the module docstring)."""
    family = family_of(model_cls)
    spec = model.data_spec
    settings, files = serving_settings(family, params, serving_params)
    config = {"base_model": to_jsonable(model_cls), "params": to_jsonable(params)}
    assets: dict[str, str | bytes] = {
        "config.json": json.dumps(config, indent=2, sort_keys=True),
        "data_spec.json": json.dumps(_plain(spec.to_dict()), indent=2),
        "serving.json": json.dumps(settings, indent=2, sort_keys=True),
        **files,
    }
    rate = spec.source.sample_rate if family in ("speech2text", "speech_commands") else spec.target.sample_rate
    revision = git_revision(os.path.dirname(os.path.abspath(__file__)))
    manifest = {
        "family": family,
        "model": to_jsonable(model_cls),
        "sample_rate": rate or None,
        "checkpoint": checkpoint,
        "git_revision": revision,
    }
    return assets, manifest


def read_asset_json(export_dir: str, name: str) -> Any:
    """``assets/<name>`` of an export, parsed."""
    with open(os.path.join(export_dir, "assets", name), encoding="utf-8") as f:
        return json.load(f)
