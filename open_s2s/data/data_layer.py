"""DataLayer base class: builds a ``tf.data.Dataset`` of batch dicts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import tensorflow as tf

from open_s2s.config.params import ConfigError, Param, collect_params, validate
from open_s2s.data.data_spec import DataSpec

MODES = ("train", "eval", "infer")


class DataLayer:
    """Base class of all data layers.

    Subclasses declare ``PARAMS`` (merged with the base ones), compute their
    ``DataSpec`` in ``__init__`` (load-time checks of files happen there, so that bad
    input fails before training starts) and implement ``build_dataset``.

    Args:
      params: the config's ``data_layer_params`` (validated here).
      mode: one of ``"train"``, ``"eval"``, ``"infer"``; augmentation and shuffling
        only happen in ``"train"``.
      batch_size: per-replica batch size (the config's ``batch_size_per_gpu``).
    """

    PARAMS: Mapping[str, Param] = {
        "shuffle": Param(bool, None, doc="Shuffle the data (default: only in train mode)."),
        "shuffle_buffer_size": Param(int, 4096, doc="Elements in the shuffle buffer."),
        "repeat": Param(bool, None, doc="Repeat the dataset (default: only in train mode)."),
        "num_parallel_calls": Param(int, -1, doc="Parallel map calls; -1 = tf.data.AUTOTUNE."),
        "prefetch": Param(int, -1, doc="Batches to prefetch; -1 = tf.data.AUTOTUNE."),
        "max_samples": Param((int, type(None)), None, doc="Use only the first N samples (debugging)."),
    }

    def __init__(self, params: Mapping[str, Any], mode: str, batch_size: int, seed: int | None = None):
        if mode not in MODES:
            raise ValueError(f"{type(self).__name__}: mode must be one of {MODES}, got {mode!r}")
        self.params = validate(f"{type(self).__name__} (data_layer_params)", params, self.all_params())
        self.mode = mode
        self.batch_size = batch_size
        self.seed = seed

    @classmethod
    def all_params(cls) -> dict[str, Param]:
        """Base params overlaid by every subclass's PARAMS along the MRO."""
        return collect_params(cls)

    @property
    def shuffle(self) -> bool:
        return self.mode == "train" if self.params["shuffle"] is None else self.params["shuffle"]

    @property
    def repeat(self) -> bool:
        return self.mode == "train" if self.params["repeat"] is None else self.params["repeat"]

    @property
    def num_parallel_calls(self) -> int:
        n = self.params["num_parallel_calls"]
        return tf.data.AUTOTUNE if n == -1 else n

    @property
    def spec(self) -> DataSpec:
        raise NotImplementedError

    @property
    def num_samples(self) -> int:
        """Number of samples (before sharding) in this mode's dataset."""
        raise NotImplementedError

    def build_dataset(self, input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
        """Returns a dataset of batch dicts keyed by ``open_s2s.data.keys`` names.

        When ``input_context`` is given, the dataset holds only this pipeline's shard
        (``input_pipeline_id`` of ``num_input_pipelines``). Eval/infer datasets never
        drop samples and carry ``keys.INDEX`` so results can be put back in input order.
        """
        raise NotImplementedError

    @property
    def sample_names(self) -> list[str]:
        """Name of each sample in input order: the first column of infer output."""
        raise NotImplementedError

    # Params that say which data a layer reads, in the order describe() lists them.
    DATA_KEYS = ("dataset_files", "source_file", "target_file", "dataset_location", "split")

    def describe(self) -> dict[str, Any]:
        """What data this layer reads (its data params that are set, and the sample count):
        eval and infer print it and keep it in their metrics JSON."""
        where = {k: self.params[k] for k in self.DATA_KEYS if k in self.params and self.params[k] is not None}
        return {**where, "num_samples": self.num_samples}

    def reference(self, index: int) -> str | None:
        """The reference of sample ``index`` as text (transcript, label, translation), or None
        when the input has none; infer writes it beside the prediction."""
        return None

    @classmethod
    def infer_input_params(cls, paths: list[str]) -> dict[str, Any]:
        """``data_layer_params`` that make infer read ``paths`` (``run.py --infer_input``)."""
        raise ConfigError(f"--infer_input: {cls.__name__} has no infer input; set its data_layer_params instead")
