"""What each ``--mode`` does: train, eval, train_eval, infer, export (and --benchmark).

``dispatch`` is the entry point from the runner; each mode lives in its own module:
``building`` (data layer, model, checkpoints), ``train`` (the training loop with its eval
hook), ``reporting`` (eval/sample logs, TensorBoard reports), ``benchmark``, ``inference``
(eval and infer on a dataset) and ``export``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import tensorflow as tf

from open_s2s.config.params import ConfigError
from open_s2s.modes.building import (
    EXIT_DATA_ERROR,
    EXIT_DIVERGED,
    EXIT_INTERRUPTED,
    EXIT_WORKER_LOST,
    build_model,
    checkpoint_for_inference,
    make_data_layer,
    restore_for_inference,
    worker_lost_message,
)
from open_s2s.training.runtime import make_runtime

log = logging.getLogger("open_s2s")

__all__ = [
    "EXIT_DATA_ERROR",
    "EXIT_DIVERGED",
    "EXIT_INTERRUPTED",
    "EXIT_WORKER_LOST",
    "build_model",
    "dispatch",
    "make_data_layer",
    "restore_for_inference",
]


def dispatch(args, logdir: str, model_cls, resolved: Mapping[str, tuple[Any, dict]]) -> int:
    from open_s2s.modes import export, inference, train  # noqa: PLC0415

    check_mode_flags(args)
    if args.mode in ("train", "train_eval"):
        return train.train(args, logdir, model_cls, resolved)
    params = resolved[args.mode][1]
    if args.mode == "export" and params.get("use_multi_worker"):
        raise ConfigError("--mode=export runs in one process: drop --use_multi_worker")
    runtime = make_runtime(params)
    if args.mode == "export":
        return export.export(args, logdir, model_cls, params)
    checkpoint = checkpoint_for_inference(args, logdir)  # fail fast, before reading the data
    if args.mode == "infer" and args.infer_input:
        params = with_infer_input(params, args.infer_input)
    data_layer = make_data_layer(params, "eval" if args.mode == "eval" else "infer")
    model = build_model(model_cls, params, data_layer.spec)
    restore_for_inference(model, checkpoint)
    if args.mode == "eval":
        model.check_data(data_layer)
    try:
        if args.mode == "eval":
            return inference.run_eval(model, data_layer, logdir, runtime, checkpoint)
        return inference.run_infer(model, data_layer, args, logdir, runtime, checkpoint)
    except tf.errors.OpError as e:
        if not runtime.peer_failure(e):
            raise
        log.error("%s", worker_lost_message(e, f"--mode={args.mode}"))
        return EXIT_WORKER_LOST


# Flags that only one mode reads: given with another mode they would be silently ignored.
MODE_FLAGS = {
    "infer_input": "infer",
    "infer_output_file": "infer",
    "save_logits": "infer",
    "export_dir": "export",
    "export_tflite": "export",
    "overwrite": "export",
}


def check_mode_flags(args) -> None:
    for flag, mode in MODE_FLAGS.items():
        if getattr(args, flag, None) and args.mode != mode:
            raise ConfigError(f"--{flag} is for --mode={mode}, not --mode={args.mode}")


def with_infer_input(params: dict, infer_input: str) -> dict:
    """``params`` whose data layer reads ``--infer_input`` (comma-separated) instead of infer_params' data."""
    paths = [p for p in infer_input.split(",") if p]
    overrides = params["data_layer"].infer_input_params(paths)
    return {**params, "data_layer_params": {**params["data_layer_params"], **overrides}}
