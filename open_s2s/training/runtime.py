"""Runtime: the precision policy and the distribution strategy. The only place that sets them."""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from open_s2s.config.params import ConfigError

log = logging.getLogger("open_s2s")

POLICIES = {"float32": "float32", "mixed": "mixed_float16", "mixed_bf16": "mixed_bfloat16", "float16": "mixed_float16"}


def dtype_name(value: Any) -> str:
    """Config ``dtype`` (string or tf.DType from ported configs) -> one of float32/mixed/mixed_bf16."""
    name = getattr(value, "name", value)
    return {"float16": "mixed"}.get(name, name)


@dataclass
class Runtime:
    """Where and in which precision the model runs.

    Attributes:
      strategy: the tf.distribute strategy (default strategy on one device).
      dtype: ``float32``, ``mixed`` or ``mixed_bf16``.
      num_replicas: replicas taking part in each step.
      is_chief: whether this process writes checkpoints, summaries and outputs.
    """

    strategy: tf.distribute.Strategy
    dtype: str
    num_replicas: int = 1
    is_chief: bool = True

    def input_context(self) -> tf.distribute.InputContext | None:
        return None

    def run_on_replicas(self, fn, *args):
        """Runs ``fn(*args)`` on every replica; returns the first replica's (all-reduced) results."""
        return fn(*args)

    def reduce_gradients(self, grads: list[tf.Tensor]) -> list[tf.Tensor]:
        """Averages gradients over replicas (identity on one replica). Called on each replica."""
        return grads

    def reduce_scalars(self, loss: tf.Tensor, objects: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Mean loss and total objects over replicas. Called on each replica."""
        return loss, objects


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    tf.random.set_seed(seed)
    keras.utils.set_random_seed(seed)


def make_runtime(params: Mapping[str, Any]) -> Runtime:
    """Sets the global Keras dtype policy and picks the strategy for ``params``."""
    dtype = dtype_name(params["dtype"])
    if params["num_gpus"] > 1 or params["use_horovod"]:
        raise ConfigError("num_gpus > 1 and use_horovod are not available yet: run with num_gpus=1")
    keras.mixed_precision.set_global_policy(POLICIES[dtype])
    set_seed(params["random_seed"])
    threads = os.environ.get("OPEN_S2S_THREADS")
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
    return Runtime(strategy=tf.distribute.get_strategy(), dtype=dtype)
