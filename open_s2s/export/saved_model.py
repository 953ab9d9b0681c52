"""Writes a SavedModel whose ``serving_default`` takes raw inputs."""

from __future__ import annotations

import os
import shutil

import tensorflow as tf


def export_saved_model(model, feature_params, export_dir: str) -> str:
    """Exports ``model.serving_module(feature_params)`` to ``export_dir`` (replaced atomically).

    A serving module with ``write_extras(dir)`` adds its own files (e.g. ``model.tflite``).
    """
    module = model.serving_module(feature_params)
    tmp = export_dir.rstrip("/") + ".tmp"
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    tf.saved_model.save(module, tmp, signatures={"serving_default": module.serve})
    if hasattr(module, "write_extras"):  # e.g. a TFLite model next to the SavedModel
        module.write_extras(tmp)
    if os.path.exists(export_dir):
        shutil.rmtree(export_dir)
    os.replace(tmp, export_dir)
    return export_dir
