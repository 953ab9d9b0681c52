"""Building what every mode needs: the data layer, the model, the checkpoint to restore."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from typing import Any

from open_s2s.config.params import ConfigError
from open_s2s.training import checkpoints as ckpt_lib

log = logging.getLogger("open_s2s")
EXIT_DATA_ERROR, EXIT_DIVERGED, EXIT_INTERRUPTED = 3, 4, 130
EXIT_WORKER_LOST = 5  # another process of a multi-worker job died or became unreachable


def worker_lost_message(error, doing: str) -> str:
    """What a survivor of a multi-worker job says when a peer is gone (``error``: the collective's)."""
    return (
        f"another worker of the job stopped or became unreachable while {doing} ({_cause(error)}); "
        "this worker stops too"
    )


def _cause(error) -> str:
    """The line of a collective's error that says why (it names the lost task), not the graph
    node's traceback around it."""
    lines = [line.strip() for line in str(error.message).splitlines() if line.strip()]
    # a lost connection names the peer on another line ("... from remote target /job:worker/...")
    peer = re.search(r"remote target (/job:\S+)", str(error.message))
    for line in lines:
        if "aborted by:" in line:
            cause = line.split("aborted by:", 1)[1].split(" This indicates", 1)[0].strip()
            return f"{cause}, {peer.group(1)}" if peer and "/job:" not in cause else cause
    useful = [line for line in lines if not line.startswith(("Graph execution error", "Detected at node", "File "))]
    return (useful or lines or [type(error).__name__])[0]


def make_data_layer(params: Mapping[str, Any], mode: str):
    return params["data_layer"](
        params["data_layer_params"], mode, params["batch_size_per_gpu"], seed=params["random_seed"]
    )


def build_model(model_cls, params, data_spec):
    """The model for ``data_spec``, with its variables created (a call on the spec's dummy batch)."""
    model = model_cls(params, data_spec)
    model(model.dummy_batch(), training=False)
    return model


def checkpoint_for_inference(args, logdir: str) -> str:
    if args.checkpoint:
        path = ckpt_lib.latest(args.checkpoint)
        if path is None:
            raise ConfigError(f"--checkpoint={args.checkpoint}: no checkpoint there")
        return path
    return ckpt_lib.find_checkpoint(logdir)


def restore_for_inference(model, path: str) -> str:
    ckpt_lib.restore(ckpt_lib.make_checkpoint(model, None), path, model_only=True)
    log.info("restored %s", path)
    return path


def check_logdir(logdir: str, continue_learning: bool, benchmark: bool) -> None:
    """OpenSeq2Seq's rule: never train into a run dir that holds a run, unless resuming."""
    if benchmark or continue_learning or not os.path.isdir(logdir):
        return
    existing = [f for f in os.listdir(logdir) if f not in ("logs",)]
    if existing:
        raise ConfigError(
            f"logdir {logdir} is not empty ({', '.join(sorted(existing)[:4])}...): pass --continue_learning "
            f"to resume, or choose another --logdir"
        )
