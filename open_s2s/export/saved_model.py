"""Writes a SavedModel whose ``serving_default`` takes raw inputs, safely and self-contained.

Safety: an export never deletes what open_s2s did not write. ``export_dir`` must be new,
empty, or hold a previous open_s2s export (its ``open_s2s_export.json`` manifest lists every
file the export wrote, and the directory holds nothing else); otherwise it is refused
unless ``overwrite``, which replaces the entries the export writes (``saved_model.pb``,
``variables/``, ``assets/``, ...), removes those a previous export there listed and this one
does not write (e.g. a stale ``model.tflite``), and keeps every other file. The export is built in a
new hidden sibling directory and moved into place when complete, so a failed or
interrupted export leaves the previous one intact.

Self-contained: ``assets/`` holds what using the export needs besides the graph (see
``open_s2s.export.assets``): the resolved config, the data spec (vocabulary or labels,
sample rate) and the feature settings, so ``open_s2s.load(export_dir)`` and the TFLite
runner need only the directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import tensorflow as tf

from open_s2s.config.params import ConfigError

MANIFEST = "open_s2s_export.json"
FORMAT_VERSION = 1
NEW, PREVIOUS, OVERWRITE = "new", "previous", "overwrite"


def read_manifest(export_dir: str) -> dict[str, Any] | None:
    """The manifest of an open_s2s export in ``export_dir``, or None."""
    path = os.path.join(export_dir, MANIFEST)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("open_s2s_export") else None


def foreign_entries(export_dir: str) -> list[str]:
    """Entries of ``export_dir`` that no open_s2s export there wrote (all of them without a manifest)."""
    entries = sorted(os.listdir(export_dir))
    manifest = read_manifest(export_dir)
    ours = set(manifest.get("files", [])) | {MANIFEST} if manifest else set()
    return [e for e in entries if e not in ours]


def check_export_dir(export_dir: str, overwrite: bool = False) -> str:
    """How an export may go into ``export_dir``: ``new`` (absent or empty), ``previous`` (an
    open_s2s export and nothing else) or ``overwrite``.

    Raises:
      ConfigError: ``export_dir`` is a file, or holds other files and ``overwrite`` is False.
    """
    if not os.path.lexists(export_dir):
        return NEW
    if not os.path.isdir(export_dir):
        raise ConfigError(f"--export_dir {export_dir} is a file, not a directory")
    if not os.listdir(export_dir):
        return NEW
    foreign = foreign_entries(export_dir)
    if not foreign:
        return PREVIOUS
    if overwrite:
        return OVERWRITE
    shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
    raise ConfigError(
        f"--export_dir {export_dir} is not empty and is not a previous open_s2s export (it holds {shown}): "
        "nothing was written; choose a new or empty directory, or pass --overwrite to write the export's files "
        "there (other files are kept)"
    )


@contextlib.contextmanager
def staging_dir(export_dir: str) -> Iterator[str]:
    """A new hidden sibling of ``export_dir`` to build the export in; removed if the block fails."""
    parent = os.path.dirname(os.path.abspath(export_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.abspath(export_dir))}.", suffix=".tmp", dir=parent)
    try:
        yield tmp
    finally:
        if os.path.isdir(tmp):  # still here: the export failed before it was moved into place
            shutil.rmtree(tmp)


def install(tmp: str, export_dir: str, state: str) -> None:
    """Moves the finished export ``tmp`` to ``export_dir`` (see ``check_export_dir`` for ``state``)."""
    if state == NEW:
        if os.path.isdir(export_dir):
            os.rmdir(export_dir)  # empty (checked); rmdir fails rather than delete anything
        os.replace(tmp, export_dir)
        return
    if state == PREVIOUS:
        name, parent = os.path.basename(os.path.abspath(export_dir)), os.path.dirname(os.path.abspath(export_dir))
        old = tempfile.mkdtemp(prefix=f".{name}.", suffix=".old", dir=parent)
        os.rmdir(old)
        os.replace(export_dir, old)
        os.replace(tmp, export_dir)
        if foreign_entries(old):  # something appeared since the check: keep it, and say where
            raise ConfigError(f"files appeared in {export_dir} during the export; the previous export is kept in {old}")
        shutil.rmtree(old)
        return
    # OVERWRITE: replace the export's entries and drop what a previous export listed that this one
    # does not write (open_s2s wrote it, and a stale model.tflite would be taken for this export's);
    # keep the rest.
    previous = read_manifest(export_dir)
    new_entries = sorted(os.listdir(tmp))
    listed = set(previous.get("files", [])) & set(os.listdir(export_dir)) if previous else set()  # names only
    stale = listed - set(new_entries) - {MANIFEST}
    for entry in sorted(stale):
        _remove(os.path.join(export_dir, entry))
    for entry in new_entries:
        target = os.path.join(export_dir, entry)
        _remove(target)
        os.replace(os.path.join(tmp, entry), target)
    os.rmdir(tmp)


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


def write_assets(directory: str, assets: Mapping[str, str | bytes]) -> None:
    """Writes ``{relative name: text or bytes}`` under ``directory/assets``."""
    for name, content in assets.items():
        path = os.path.join(directory, "assets", name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(content.encode("utf-8") if isinstance(content, str) else content)


def export_saved_model(
    model,
    feature_params,
    export_dir: str,
    *,
    overwrite: bool = False,
    assets: Mapping[str, str | bytes] | None = None,
    manifest: Mapping[str, Any] | None = None,
    write_files: Callable[[str], None] | None = None,
) -> str:
    """Exports ``model.serving_module(feature_params)`` to ``export_dir`` (see the module docstring).

    Args:
      model: a built, restored model.
      feature_params: what the serving module needs from the data layer (``spec_from_params``).
      export_dir: the directory to write.
      overwrite: write into a directory holding other files (replacing the export's entries).
      assets: extra files for ``assets/`` (``open_s2s.export.assets.export_assets``).
      manifest: fields of the manifest (family, signatures, ...).
      write_files: called with the staging directory to add files (e.g. a TFLite model).

    A serving module with ``write_extras(dir)`` adds its own files (e.g. ``model.tflite``).

    Raises:
      ConfigError: ``export_dir`` may not be written (checked before anything is built).
    """
    state = check_export_dir(export_dir, overwrite)
    module = model.serving_module(feature_params)
    with staging_dir(export_dir) as tmp:
        signatures = {"serving_default": module.serve}
        signatures.update(getattr(module, "extra_signatures", dict)())
        tf.saved_model.save(module, tmp, signatures=signatures)
        if hasattr(module, "write_extras"):  # e.g. a TFLite model next to the SavedModel
            module.write_extras(tmp)
        if write_files is not None:
            write_files(tmp)
        write_assets(tmp, assets or {})
        files = sorted(set(os.listdir(tmp)) | {MANIFEST})
        record = {"open_s2s_export": FORMAT_VERSION, **(manifest or {}), "signatures": sorted(signatures)}
        record["files"] = files
        if "model.tflite" in files:
            record.setdefault("tflite", "model.tflite")
        with open(os.path.join(tmp, MANIFEST), "w", encoding="utf-8") as f:
            json.dump(record, f, indent=2, sort_keys=True)
        install(tmp, export_dir, state)
    return export_dir
