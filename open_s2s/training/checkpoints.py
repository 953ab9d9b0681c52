"""Checkpoints keyed by variable path: resume, keep-best, and warm start by name and shape.

Variables are saved under their Keras ``variable.path`` (``s2s/encoder/block0_conv0/conv/
kernel``), not under the Python object graph, so a checkpoint can be read back by name
into a model of a different class or size (``load_model``) and inspected with
``tf.train.list_variables``. TensorFlow writes the data files first and then the
``checkpoint`` state file with an atomic rename, so a run killed in the middle of a save
still points at its previous complete checkpoint.
"""

from __future__ import annotations

import json
import logging
import os
import re
from typing import Any

import keras
import tensorflow as tf

from open_s2s.config.params import ConfigError
from open_s2s.io_utils import write_json

log = logging.getLogger("open_s2s")
BEST_DIR = "best_models"


def _optimizer_key(var) -> str:
    # Drop the optimizer's own name ("adam/...") so runs can switch optimizer class.
    return var.path.split("/", 1)[-1]


def model_vars(model: keras.Model) -> dict[str, Any]:
    out = {}
    for v in model.variables:
        if v.path in out:
            raise RuntimeError(f"two variables share the path {v.path}; give the layers unique names")
        out[v.path] = v
    return out


# Parts of a checkpoint that a resumed run must find; other parts (the loss scaler's
# state) may be missing, e.g. when a float32 run resumes as "mixed".
REQUIRED_PARTS = ("model", "optimizer")


def make_checkpoint(
    model: keras.Model,
    optimizer: keras.optimizers.Optimizer | None,
    extra: dict[str, dict[str, tf.Variable]] | None = None,
) -> tf.train.Checkpoint:
    """A tf.train.Checkpoint of the model (and optimizer, and ``extra``) variables, keyed by path.

    The keys do not depend on the dtype policy or on a loss-scale wrapper, so a run
    saved in one dtype restores in another.
    """
    items = {"model": model_vars(model)}
    if optimizer is not None:
        items["optimizer"] = {_optimizer_key(v): v for v in optimizer.variables}
    items.update(extra or {})
    return tf.train.Checkpoint(**items)


def _ckpt_key(part: str, name: str) -> str:
    # tf.train.Checkpoint escapes "." as ".." and "/" as ".S" in dict keys.
    return f"{part}/{name.replace('.', '..').replace('/', '.S')}/.ATTRIBUTES/VARIABLE_VALUE"


def latest(path: str) -> str | None:
    """The newest checkpoint prefix in a run dir, or the prefix itself if given one."""
    if tf.io.gfile.isdir(path):
        return tf.train.latest_checkpoint(path)
    return path if tf.io.gfile.exists(path + ".index") else None


def find_checkpoint(logdir: str, prefer_best: bool = False) -> str:
    """Checkpoint to evaluate/infer/export from; a clear error if there is none."""
    candidates = [os.path.join(logdir, BEST_DIR), logdir] if prefer_best else [logdir]
    for candidate in candidates:
        found = latest(candidate)
        if found:
            return found
    raise ConfigError(f"no checkpoint found in {logdir}: train first, or pass --logdir of a trained run")


def restore(checkpoint: tf.train.Checkpoint, path: str, model_only: bool = False) -> None:
    """Restores the variables of ``checkpoint`` from ``path``.

    Dropout RNG states (``seed_generator_N``, numbered per process) are restored when
    their names match and otherwise keep their fresh values.

    Raises:
      ConfigError: a model variable (or, unless ``model_only``, an optimizer variable) is
        not in the checkpoint; the message names the first few.
    """
    stored = {name for name, _ in tf.train.list_variables(path)}
    parts = ("model",) if model_only else REQUIRED_PARTS
    missing = [
        f"{part}/{name}"
        for part in parts
        for name in getattr(checkpoint, part, {})
        if _ckpt_key(part, name) not in stored and "seed_generator" not in name
    ]
    if missing:
        raise ConfigError(
            f"checkpoint {path} lacks {len(missing)} variables of this model/optimizer, e.g. {missing[:3]}; "
            "is it from another model? (load_model warm-starts by name and shape)"
        )
    checkpoint.read(path).expect_partial()


def warm_start(model: keras.Model, source: str, skip_regex: str | None = None) -> tuple[int, list[str]]:
    """Copies variables from another run's checkpoint by path and shape (``load_model``).

    Args:
      model: a built model.
      source: a run dir or checkpoint prefix.
      skip_regex: variables whose path matches keep their fresh initialization.

    Returns:
      (number of variables loaded, paths of those not loaded).
    """
    path = latest(source)
    if path is None:
        raise ConfigError(f"load_model: no checkpoint found at {source}")
    reader = tf.train.load_checkpoint(path)
    shapes = reader.get_variable_to_shape_map()
    loaded, skipped = 0, []
    for name, var in model_vars(model).items():
        key = _ckpt_key("model", name)
        if (skip_regex and re.search(skip_regex, name)) or key not in shapes or list(shapes[key]) != list(var.shape):
            skipped.append(name)
            continue
        var.assign(reader.get_tensor(key))
        loaded += 1
    log.info("load_model: %d variables from %s; %d kept fresh", loaded, path, len(skipped))
    return loaded, skipped


class BestKeeper:
    """Keeps the checkpoints with the best eval metric in ``<logdir>/best_models``."""

    def __init__(self, checkpoint: tf.train.Checkpoint, logdir: str, metric: str, lower_is_better: bool, keep: int):
        self.dir = os.path.join(logdir, BEST_DIR)
        self.metric, self.lower = metric, lower_is_better
        self.manager = tf.train.CheckpointManager(checkpoint, self.dir, max_to_keep=keep, checkpoint_name="best")
        self.record_path = os.path.join(self.dir, "best.json")
        self.best = None
        if os.path.exists(self.record_path):
            with open(self.record_path) as f:
                self.best = json.load(f).get("value")

    def update(self, metrics: dict[str, float], step: int) -> bool:
        value = metrics.get(self.metric)
        if value is None or value != value:  # missing or NaN
            return False
        better = self.best is None or (value < self.best if self.lower else value > self.best)
        if not better:
            return False
        path = self.manager.save(checkpoint_number=step)
        self.best = value
        write_json(self.record_path, {"metric": self.metric, "value": value, "step": step, "checkpoint": path})
        return True
