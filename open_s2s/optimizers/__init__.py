"""Optimizers, learning-rate policies, LARC and gradient helpers.

Configs select an optimizer by class or by OpenSeq2Seq name::

    "optimizer": NovoGrad,            # or "NovoGrad", "Momentum", "Adam", ...
    "optimizer_params": {"beta1": 0.95, "beta2": 0.98, "weight_decay": 0.001},
    "lr_policy": poly_decay,
    "lr_policy_params": {"learning_rate": 0.01, "power": 2.0},

and the trainer builds them with::

    schedule = make_schedule(lr_policy, lr_policy_params,
                             optimizer_params.get("learning_rate"), max_steps)
    optimizer = make_optimizer(optimizer, optimizer_params, schedule)
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import keras

from open_s2s.config.params import ConfigError, suggest
from open_s2s.optimizers.gradients import clip_by_global_norm, l2_loss, l2_variables
from open_s2s.optimizers.larc import LARC_PARAMS, apply_larc, larc_multiplier
from open_s2s.optimizers.loss_scaling import BackoffScaler, LogMaxScaler, LossScaler, make_loss_scaler
from open_s2s.optimizers.lr_policies import (
    PolicySchedule,
    cosine_decay,
    exp_decay,
    fixed_lr,
    inv_poly_decay,
    make_schedule,
    piecewise_constant,
    poly_decay,
    transformer_policy,
)
from open_s2s.optimizers.novograd import NovoGrad

SGD = keras.optimizers.SGD
Adam = keras.optimizers.Adam
AdamW = keras.optimizers.AdamW

# OpenSeq2Seq / tf.train names (lower-cased) -> Keras optimizer classes.
OPTIMIZERS: dict[str, type] = {
    "sgd": SGD,
    "momentum": SGD,
    "adam": Adam,
    "adamw": AdamW,
    "novograd": NovoGrad,
}
# OpenSeq2Seq / tf.train parameter names -> Keras names.
PARAM_RENAMES = {"beta1": "beta_1", "beta2": "beta_2", "use_nesterov": "nesterov"}


def _resolve_optimizer(optimizer: type | str) -> tuple[type, str]:
    if inspect.isclass(optimizer) and issubclass(optimizer, keras.optimizers.Optimizer):
        return optimizer, optimizer.__name__
    key = str(optimizer).lower()
    if key not in OPTIMIZERS:
        raise ConfigError(f"optimizer: unknown optimizer {optimizer!r}{suggest(key, OPTIMIZERS)}")
    return OPTIMIZERS[key], str(optimizer)


def accepted_params(cls: type) -> set[str]:
    """Named ``__init__`` args of ``cls`` and of the bases its ``**kwargs`` reach."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        params = inspect.signature(klass.__init__).parameters.values()
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names - {"self"}


def make_optimizer(
    optimizer: type | str,
    optimizer_params: Mapping[str, Any] | None = None,
    learning_rate_schedule: keras.optimizers.schedules.LearningRateSchedule | float | None = None,
) -> keras.optimizers.Optimizer:
    """Builds the configured optimizer.

    Args:
      optimizer: a ``keras.optimizers.Optimizer`` subclass or an OpenSeq2Seq name
        (case-insensitive): ``SGD``, ``Momentum`` (SGD with required ``momentum``),
        ``Adam``, ``AdamW``, ``NovoGrad``.
      optimizer_params: constructor args; OpenSeq2Seq names ``beta1``, ``beta2``,
        ``use_nesterov`` are renamed. ``learning_rate`` is ignored when a schedule
        is given (``make_schedule`` already consumed it).
      learning_rate_schedule: usually the ``PolicySchedule`` from ``make_schedule``,
        evaluated by the optimizer at ``optimizer.iterations``.

    Returns:
      The optimizer instance.

    Raises:
      ConfigError: unknown optimizer name, or an optimizer param its constructor
        does not accept (naming the key).
    """
    cls, name = _resolve_optimizer(optimizer)
    params = {PARAM_RENAMES.get(k, k): v for k, v in dict(optimizer_params or {}).items()}
    accepted = accepted_params(cls)
    for key in params:
        if key not in accepted:
            raise ConfigError(f"optimizer_params ({name}): unknown key '{key}'{suggest(key, accepted)}")
    if str(optimizer).lower() == "momentum" and "momentum" not in params:
        raise ConfigError("optimizer_params (Momentum): missing required key 'momentum'")
    if learning_rate_schedule is not None:
        params["learning_rate"] = learning_rate_schedule
    return cls(**params)


__all__ = [
    "LARC_PARAMS",
    "BackoffScaler",
    "LogMaxScaler",
    "LossScaler",
    "make_loss_scaler",
    "SGD",
    "Adam",
    "AdamW",
    "NovoGrad",
    "PolicySchedule",
    "apply_larc",
    "clip_by_global_norm",
    "cosine_decay",
    "exp_decay",
    "fixed_lr",
    "inv_poly_decay",
    "l2_loss",
    "l2_variables",
    "larc_multiplier",
    "make_optimizer",
    "make_schedule",
    "piecewise_constant",
    "poly_decay",
    "transformer_policy",
]
