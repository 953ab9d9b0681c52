"""What each ``--mode`` does: train, eval, train_eval, infer, export (and --benchmark).

``dispatch`` is the entry point from the runner; each mode lives in its own module:
``building`` (data layer, model, checkpoints), ``train`` (the training loop with its eval
hook), ``reporting`` (eval/sample logs, TensorBoard reports), ``benchmark``, ``inference``
(eval and infer on a dataset) and ``export``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from open_s2s.modes.building import (
    EXIT_DATA_ERROR,
    EXIT_DIVERGED,
    EXIT_INTERRUPTED,
    build_model,
    checkpoint_for_inference,
    make_data_layer,
    restore_for_inference,
)
from open_s2s.training.runtime import make_runtime

__all__ = [
    "EXIT_DATA_ERROR",
    "EXIT_DIVERGED",
    "EXIT_INTERRUPTED",
    "build_model",
    "dispatch",
    "make_data_layer",
    "restore_for_inference",
]


def dispatch(args, logdir: str, model_cls, resolved: Mapping[str, tuple[Any, dict]]) -> int:
    from open_s2s.modes import export, inference, train  # noqa: PLC0415

    if args.mode in ("train", "train_eval"):
        return train.train(args, logdir, model_cls, resolved)
    params = resolved[args.mode][1]
    runtime = make_runtime(params)
    if args.mode == "export":
        return export.export(args, logdir, model_cls, params)
    checkpoint = checkpoint_for_inference(args, logdir)  # fail fast, before reading the data
    data_layer = make_data_layer(params, "eval" if args.mode == "eval" else "infer")
    model = build_model(model_cls, params, data_layer.spec)
    restore_for_inference(model, checkpoint)
    if args.mode == "eval":
        model.check_data(data_layer)
        return inference.run_eval(model, data_layer, logdir, runtime)
    return inference.run_infer(model, data_layer, args, logdir, runtime)
