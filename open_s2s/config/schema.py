"""Top-level config keys read by the runner and the trainer (OpenSeq2Seq's names).

Model-specific keys (``encoder``, ``decoder``, ``loss`` and their ``*_params``) are declared
by the model classes; data keys by the data layers. This module imports no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from open_s2s.config.params import Param, positive

NoneType = type(None)
DTYPES = ("float32", "mixed", "mixed_bf16")
# learning_rate and global_gradient_norm are always written; "variables" adds weight
# histograms and "variable_norm" per-variable norms. OpenSeq2Seq's per-gradient summaries
# ("gradients", "gradient_norm", "larc_summaries") are accepted so configs port, and
# ignored with a warning.
SUMMARIES = ("learning_rate", "global_gradient_norm", "variables", "variable_norm")
IGNORED_SUMMARIES = ("gradients", "gradient_norm", "larc_summaries")


def _dtype_ok(value: Any) -> str | None:
    name = getattr(value, "name", value)
    if name in DTYPES or name == "float16":
        return None
    return f"{value!r} is not one of {list(DTYPES)} (or tf.float32 / tf.float16)"


def _summaries_ok(value: Any) -> str | None:
    bad = [s for s in value if s not in SUMMARIES + IGNORED_SUMMARIES]
    return f"unknown summaries {bad}; known: {list(SUMMARIES)}" if bad else None


def _regularizer_ok(value: Any) -> str | None:
    name = value if isinstance(value, str) else getattr(value, "__name__", type(value).__name__)
    return None if value is None or "l2" in name.lower() else f"only L2 regularization is supported, got {name}"


BASE_PARAMS: dict[str, Param] = {
    # --- runtime
    "num_gpus": Param(int, 1, doc="Synchronous replicas in one process (towers).", check=positive),
    "use_horovod": Param(bool, False, doc="One replica per Horovod rank (launch with horovodrun)."),
    "use_multi_worker": Param(
        bool,
        False,
        doc="tf.distribute.MultiWorkerMirroredStrategy across the processes of the TF_CONFIG cluster, "
        "num_gpus GPUs (or one CPU replica) per worker.",
    ),
    "sync_batch_norm": Param(
        bool,
        False,
        doc="Batch-norm statistics over all replicas' batches (towers/Horovod): N replicas then make the "
        "update of one replica on the combined batch. False: each replica its own (OpenSeq2Seq).",
    ),
    "dtype": Param(
        (str, object), "float32", doc="float32, mixed (fp16 + loss scaling) or mixed_bf16.", check=_dtype_ok
    ),
    "loss_scaling": Param(
        (str, int, float, NoneType), "Backoff", doc="Static scale, 'Backoff' or 'LogMax' (dtype=mixed)."
    ),
    "loss_scaling_params": Param(dict, {}, doc="Parameters of the loss scaler."),
    "random_seed": Param(int, 0, doc="Seed of weights init and data shuffling."),
    "use_xla_jit": Param(bool, False, doc="Compile the train step with XLA."),
    # --- batches and length of training
    "batch_size_per_gpu": Param(int, doc="Batch size of each replica.", check=positive),
    "max_steps": Param((int, NoneType), None, doc="Training steps (give this or num_epochs).", check=positive),
    "num_epochs": Param((int, float, NoneType), None, doc="Training epochs (give this or max_steps).", check=positive),
    "iter_size": Param(int, 1, doc="Accumulate gradients over this many batches per update.", check=positive),
    # --- optimization
    "optimizer": Param(
        (str, type), doc="Optimizer class (NovoGrad, SGD, Adam, AdamW) or OpenSeq2Seq name (e.g. 'Momentum')."
    ),
    "optimizer_params": Param(
        dict, {}, doc="Constructor args of the optimizer (OpenSeq2Seq names like beta1 are accepted)."
    ),
    "lr_policy": Param((Callable, NoneType), None, doc="Learning-rate policy function, e.g. poly_decay."),
    "lr_policy_params": Param(dict, {}, doc="Arguments of lr_policy, including learning_rate (as in OpenSeq2Seq)."),
    "max_grad_norm": Param((float, NoneType), None, doc="Clip gradients to this global norm."),
    "larc_params": Param((dict, NoneType), None, doc="LARC: larc_eta, larc_mode ('clip' or 'scale'), min_update."),
    "regularizer": Param(
        (str, Callable, NoneType),
        None,
        doc="'l2' (or an L2 function such as keras.regularizers.l2) on kernels.",
        check=_regularizer_ok,
    ),
    "regularizer_params": Param(
        dict,
        {"scale": 0.0},
        doc="{'scale': s}: adds s * sum(w^2) over kernels.",
        spec={"scale": Param(float, doc="L2 scale.")},
    ),
    "freeze_variables_regex": Param((str, NoneType), None, doc="Variables whose path matches are not trained."),
    # --- logging, checkpoints, evaluation
    "logdir": Param((str, NoneType), None, doc="Run directory (default logs/<config name>)."),
    "load_model": Param((str, NoneType), None, doc="Warm-start from this run dir/checkpoint by name and shape."),
    "save_summaries_steps": Param((int, NoneType), 50, doc="TensorBoard scalars every N steps."),
    "print_loss_steps": Param((int, NoneType), 50, doc="Print loss every N steps (progress bar shows it always)."),
    "print_samples_steps": Param((int, NoneType), 500, doc="Log sample predictions every N steps."),
    "save_checkpoint_steps": Param((int, NoneType), 1000, doc="Checkpoint every N steps."),
    "num_checkpoints": Param(int, 5, doc="Checkpoints kept.", check=positive),
    "eval_steps": Param((int, NoneType), 1000, doc="Evaluate every N steps in train_eval mode."),
    "summaries": Param(
        list, ["learning_rate", "global_gradient_norm"], doc="Extra TensorBoard summaries.", check=_summaries_ok
    ),
}
