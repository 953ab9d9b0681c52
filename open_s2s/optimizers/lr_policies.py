"""Learning-rate policies in the OpenSeq2Seq style, plus a Keras schedule wrapper.

A policy is a plain function ``policy(global_step, learning_rate, ...) -> lr`` whose
keyword arguments come from the config's ``lr_policy_params``. ``make_schedule``
validates those params against a spec derived from the function signature, fills
``learning_rate`` (from ``optimizer_params``), ``decay_steps`` (``max_steps`` minus the
start of the decay) and ``steps_per_epoch`` (with ``num_epochs``) as OpenSeq2Seq's ``Model``
did, and returns a ``PolicySchedule``: a Keras ``LearningRateSchedule`` the optimizer
evaluates at ``optimizer.iterations``.

All policies use only TF ops on ``global_step`` so they trace inside ``tf.function``;
``global_step`` may be a Python int or an integer tensor / variable. Step 0 is the
first update (Keras' ``optimizer.iterations`` before the first ``apply``).

Example config::

    "lr_policy": poly_decay,
    "lr_policy_params": {"learning_rate": 0.02, "power": 2.0, "warmup_steps": 500},
"""

from __future__ import annotations

import importlib
import inspect
import math
import typing
from collections.abc import Callable, Mapping
from typing import Any

import keras
import tensorflow as tf

from open_s2s.config.params import REQUIRED, ConfigError, Param, validate

LrPolicy = Callable[..., Any]
Step = Any  # int or integer tf.Tensor / tf.Variable


def _step(global_step: Step) -> tf.Tensor:
    return tf.cast(global_step, tf.float32)


def _linear_warmup(step: tf.Tensor, learning_rate: float, warmup_steps: int) -> tf.Tensor:
    """``learning_rate * step / warmup_steps`` before ``warmup_steps``, else ``learning_rate``.

    Starts at 0 at step 0, exactly as OpenSeq2Seq's ``poly_decay``.
    """
    lr = tf.constant(learning_rate, tf.float32)
    if warmup_steps <= 0:
        return lr
    return tf.where(step < warmup_steps, lr * step / float(warmup_steps), lr)


def fixed_lr(global_step: Step, learning_rate: float) -> tf.Tensor:
    """Constant policy: ``lr(t) = learning_rate``.

    Args:
      global_step: current step (ignored).
      learning_rate: the constant learning rate.
    """
    del global_step
    return tf.constant(learning_rate, tf.float32)


def poly_decay(
    global_step: Step,
    learning_rate: float,
    decay_steps: int,
    power: float = 1.0,
    begin_decay_at: int = 0,
    min_lr: float = 0.0,
    warmup_steps: int = 0,
) -> tf.Tensor:
    """Polynomial decay with linear warmup (OpenSeq2Seq ``poly_decay``).

    With ``b = max(begin_decay_at, warmup_steps)`` and ``lr0 = learning_rate``::

        t < warmup_steps:  lr(t) = lr0 * t / warmup_steps
        t < b:             lr(t) = lr0
        otherwise:         s = min(t - b, decay_steps)
                           lr(t) = (lr0 - min_lr) * (1 - s / decay_steps)^power + min_lr

    The decay lasts ``decay_steps`` steps counted from ``b`` (OpenSeq2Seq semantics;
    ``tf.train.polynomial_decay`` with ``end_learning_rate=min_lr``); ``decay_steps``
    defaults to ``max_steps - b`` through ``make_schedule``, so ``min_lr`` is reached at
    the last step.

    Args:
      global_step: current step.
      learning_rate: peak learning rate ``lr0``.
      decay_steps: length of the decay phase.
      power: polynomial power (1.0 is linear).
      begin_decay_at: first step of the decay phase.
      min_lr: final learning rate, reached after the decay phase.
      warmup_steps: length of the linear warmup from 0.
    """
    t = _step(global_step)
    begin = float(max(begin_decay_at, warmup_steps))
    s = tf.minimum(tf.maximum(t - begin, 0.0), float(decay_steps))
    decayed = (learning_rate - min_lr) * (1.0 - s / decay_steps) ** power + min_lr
    return tf.where(t < begin, _linear_warmup(t, learning_rate, warmup_steps), decayed)


def cosine_decay(
    global_step: Step,
    learning_rate: float,
    decay_steps: int,
    begin_decay_at: int = 0,
    min_lr: float = 0.0,
    warmup_steps: int = 0,
) -> tf.Tensor:
    """Cosine decay with linear warmup (OpenSeq2Seq ``cosine_decay``).

    With ``b = max(begin_decay_at, warmup_steps)`` and ``lr0 = learning_rate``::

        t < warmup_steps:  lr(t) = lr0 * t / warmup_steps
        t < b:             lr(t) = lr0
        otherwise:         s = min(t - b, decay_steps)
                           lr(t) = lr0 * ((1 - min_lr) * 0.5 * (1 + cos(pi * s / decay_steps)) + min_lr)

    ``min_lr`` is a *fraction* of ``learning_rate``, not a learning rate: OpenSeq2Seq passed
    it as ``tf.train.cosine_decay``'s ``alpha``, so its configs mean ``lr0 * min_lr`` at the
    end (``min_lr: 0.0``, as in its QuartzNet recipe, decays to 0 either way).
    ``decay_steps`` defaults to ``max_steps - b`` through ``make_schedule``, so the schedule
    ends at ``lr0 * min_lr`` on the last step. (OpenSeq2Seq's signature also had a
    ``power`` argument that it never used; it is not accepted here.)

    Args:
      global_step: current step.
      learning_rate: peak learning rate ``lr0``.
      decay_steps: length of the decay phase.
      begin_decay_at: first step of the decay phase.
      min_lr: final learning rate as a fraction of ``learning_rate`` (``alpha``).
      warmup_steps: length of the linear warmup from 0.
    """
    t = _step(global_step)
    begin = float(max(begin_decay_at, warmup_steps))
    p = tf.minimum(tf.maximum(t - begin, 0.0), float(decay_steps)) / float(decay_steps)
    decayed = learning_rate * ((1.0 - min_lr) * 0.5 * (1.0 + tf.cos(tf.constant(math.pi) * p)) + min_lr)
    return tf.where(t < begin, _linear_warmup(t, learning_rate, warmup_steps), decayed)


def exp_decay(
    global_step: Step,
    learning_rate: float,
    decay_steps: int,
    decay_rate: float,
    begin_decay_at: int = 0,
    min_lr: float = 0.0,
    staircase: bool = False,
    warmup_steps: int = 0,
) -> tf.Tensor:
    """Exponential decay with a floor (OpenSeq2Seq ``exp_decay``) and linear warmup.

    With ``b = max(begin_decay_at, warmup_steps)``::

        t < warmup_steps:  lr(t) = lr0 * t / warmup_steps
        t < b:             lr(t) = lr0
        otherwise:         e = (t - b) / decay_steps     (floor(e) if staircase)
                           lr(t) = max(min_lr, lr0 * decay_rate^e)

    OpenSeq2Seq's ``use_staircase_decay`` key is accepted as an alias of
    ``staircase`` by ``make_schedule``.

    Args:
      global_step: current step.
      learning_rate: initial learning rate ``lr0``.
      decay_steps: steps per factor of ``decay_rate``.
      decay_rate: multiplicative decay per ``decay_steps``.
      begin_decay_at: first step of the decay phase.
      min_lr: floor of the decayed learning rate.
      staircase: decay in discrete jumps every ``decay_steps``.
      warmup_steps: length of the linear warmup from 0.
    """
    t = _step(global_step)
    begin = float(max(begin_decay_at, warmup_steps))
    e = tf.maximum(t - begin, 0.0) / float(decay_steps)
    if staircase:
        e = tf.floor(e)
    decayed = tf.maximum(min_lr, learning_rate * tf.pow(float(decay_rate), e))
    return tf.where(t < begin, _linear_warmup(t, learning_rate, warmup_steps), decayed)


def piecewise_constant(
    global_step: Step,
    learning_rate: float,
    boundaries: list,
    decay_rates: list,
    steps_per_epoch: float | None = None,
) -> tf.Tensor:
    """Piecewise-constant multiples of ``learning_rate`` (OpenSeq2Seq ``piecewise_constant``).

    With boundaries ``b_1 < ... < b_n`` and rates ``r_1..r_n``, ``r_0 = 1``::

        lr(t) = lr0 * r_k,   k = #{i : t > b_i}

    i.e. ``t <= b_1`` gives ``lr0`` and ``b_k < t <= b_{k+1}`` gives ``lr0 * r_k``
    (the ``tf.train.piecewise_constant`` convention).

    Args:
      global_step: current step.
      learning_rate: base learning rate ``lr0``.
      boundaries: increasing steps (or epochs if ``steps_per_epoch`` is given).
      decay_rates: multipliers of ``lr0``, one per boundary.
      steps_per_epoch: if given, boundaries are epochs and are multiplied by it. The
        trainer fills it when the config gives ``num_epochs`` (not ``max_steps``), as
        OpenSeq2Seq's ``Model`` did: ``num_samples / (batch_size_per_gpu * replicas *
        iter_size)``, unrounded (OpenSeq2Seq floored it), so epoch ``e`` ends where the
        repeated training stream has yielded ``e * num_samples`` utterances.
    """
    if len(boundaries) != len(decay_rates):
        raise ConfigError(f"piecewise_constant: {len(boundaries)} boundaries but {len(decay_rates)} decay_rates")
    if steps_per_epoch is not None:
        boundaries = [b * steps_per_epoch for b in boundaries]
    values = tf.constant([learning_rate * r for r in [1.0, *decay_rates]], tf.float32)
    passed = tf.cast(_step(global_step)[None] > tf.constant(boundaries, tf.float32), tf.int32)
    return tf.gather(values, tf.reduce_sum(passed))


def transformer_policy(
    global_step: Step,
    learning_rate: float,
    d_model: int,
    warmup_steps: int,
    max_lr: float | None = None,
    coefficient: float = 1.0,
) -> tf.Tensor:
    """The "noam" schedule of Vaswani et al. 2017, optionally capped at ``max_lr``::

        lr(t) = coefficient * learning_rate * d_model^-0.5
                * min((t + 1)^-0.5, (t + 1) * warmup_steps^-1.5)
        lr(t) = min(max_lr, lr(t))            if max_lr is given

    Args:
      global_step: current step.
      learning_rate: multiplier of the schedule.
      d_model: model width.
      warmup_steps: step at which the schedule peaks.
      max_lr: optional cap.
      coefficient: extra multiplier (OpenSeq2Seq compatibility).
    """
    t1 = _step(global_step) + 1.0
    lr = coefficient * learning_rate * float(d_model) ** -0.5
    lr = lr * tf.minimum(t1**-0.5, t1 * float(warmup_steps) ** -1.5)
    return lr if max_lr is None else tf.minimum(float(max_lr), lr)


def inv_poly_decay(
    global_step: Step,
    learning_rate: float,
    decay_steps: int,
    min_lr: float,
    power: float = 1.0,
    begin_decay_at: int = 0,
    warmup_steps: int = 0,
) -> tf.Tensor:
    """Inverse polynomial decay to ``min_lr`` (OpenSeq2Seq ``inv_poly_decay``).

    With ``b = max(begin_decay_at, warmup_steps)``, ``lr0 = learning_rate`` and
    ``m = min(max(min_lr, 1e-8), lr0)`` (OpenSeq2Seq's clamps)::

        scale = ((lr0 / m)^(1 / power) - 1) / decay_steps
        t < warmup_steps:  lr(t) = lr0 * t / warmup_steps
        t < b:             lr(t) = lr0
        otherwise:         lr(t) = lr0 / (1 + scale * (t - b))^power

    so ``lr(b + decay_steps) = m``; ``decay_steps`` defaults to ``max_steps - b``, the last
    step. Past ``decay_steps`` the rate keeps decreasing (no floor), as in OpenSeq2Seq.
    OpenSeq2Seq accepted ``begin_decay_at`` and ``warmup_steps`` but ignored them in the
    formula (its decay always ran from step 0); with both 0 the two are identical.

    Args:
      global_step: current step.
      learning_rate: initial learning rate ``lr0``.
      decay_steps: steps from ``b`` to ``min_lr``.
      min_lr: learning rate reached after ``decay_steps``.
      power: power of the denominator; must be > 0.
      begin_decay_at: first step of the decay phase.
      warmup_steps: length of the linear warmup from 0.
    """
    if power <= 0.0:
        raise ConfigError(f"inv_poly_decay: power must be > 0, got {power}")
    final = min(max(min_lr, 1e-8), learning_rate)
    scale = (math.pow(learning_rate / final, 1.0 / power) - 1.0) / decay_steps
    t = _step(global_step)
    begin = float(max(begin_decay_at, warmup_steps))
    decayed = learning_rate / tf.pow(1.0 + scale * tf.maximum(t - begin, 0.0), power)
    return tf.where(t < begin, _linear_warmup(t, learning_rate, warmup_steps), decayed)


POLICIES: dict[str, LrPolicy] = {
    f.__name__: f
    for f in (
        fixed_lr,
        poly_decay,
        cosine_decay,
        exp_decay,
        piecewise_constant,
        transformer_policy,
        inv_poly_decay,
    )
}
# OpenSeq2Seq key names accepted for compatibility: old name -> new name.
_ALIASES = {"use_staircase_decay": "staircase"}


def resolve_policy(policy: LrPolicy | str | None) -> LrPolicy:
    """Returns the policy function for a callable, a short name, a dotted path or None."""
    if policy is None:
        return fixed_lr
    if callable(policy):
        return policy
    if policy in POLICIES:
        return POLICIES[policy]
    module, _, name = str(policy).rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as err:
        raise ConfigError(f"lr_policy: cannot resolve {policy!r} ({err})") from err


def _policy_name(policy: LrPolicy) -> str:
    return getattr(policy, "__name__", type(policy).__name__)


def _param_types(annotation: Any) -> Any:
    """Maps an annotation to ``Param.types``; unknown annotations accept anything."""
    args = typing.get_args(annotation)
    if args:  # e.g. ``float | None``
        return tuple(a for a in args if isinstance(a, type)) or None
    return annotation if isinstance(annotation, type) else None


def policy_spec(policy: LrPolicy) -> dict[str, Param]:
    """Derives a ``Param`` spec from a policy's signature (all args but ``global_step``)."""
    try:
        hints = typing.get_type_hints(policy)
    except (NameError, TypeError):  # user policies with unresolvable annotations
        hints = {}
    spec = {}
    for name, p in inspect.signature(policy).parameters.items():
        if name == "global_step" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = REQUIRED if p.default is p.empty else p.default
        spec[name] = Param(types=_param_types(hints.get(name)), default=default)
    return spec


@keras.saving.register_keras_serializable(package="open_s2s")
class PolicySchedule(keras.optimizers.schedules.LearningRateSchedule):
    """A Keras ``LearningRateSchedule`` evaluating ``policy(global_step=step, **params)``.

    Args:
      policy: a policy function, its short name or its dotted import path.
      params: the policy's keyword arguments; validated against ``policy_spec``.

    Raises:
      ConfigError: for unknown, missing or mistyped params, naming the policy and key.
    """

    def __init__(self, policy: LrPolicy | str, params: Mapping[str, Any] | None = None):
        self.policy = resolve_policy(policy)
        owner = f"lr_policy_params ({_policy_name(self.policy)})"
        self.params = dict(validate(owner, params, policy_spec(self.policy)))

    def __call__(self, step: Step) -> tf.Tensor:
        return tf.cast(self.policy(global_step=step, **self.params), tf.float32)

    def get_config(self) -> dict[str, Any]:
        path = f"{self.policy.__module__}.{self.policy.__qualname__}"
        return {"policy": path, "params": dict(self.params)}


def make_schedule(
    lr_policy: LrPolicy | str | None,
    lr_policy_params: Mapping[str, Any] | None = None,
    learning_rate: float | None = None,
    max_steps: int | None = None,
    steps_per_epoch: float | None = None,
) -> PolicySchedule:
    """Builds the schedule for a config's ``lr_policy`` / ``lr_policy_params``.

    Fills, when the policy takes them and the config does not give them, as
    OpenSeq2Seq's ``Model`` did:

    * ``learning_rate`` (typically from ``optimizer_params``);
    * ``decay_steps = max_steps - max(begin_decay_at, warmup_steps)`` (each counted only
      if the policy takes it; at least 1), so that a decay starting after the warmup or
      at ``begin_decay_at`` ends on the last step;
    * ``steps_per_epoch`` when given (the trainer passes it when the config sets
      ``num_epochs``): ``piecewise_constant`` boundaries are then epochs.

    OpenSeq2Seq key aliases (``use_staircase_decay``) are renamed. The schedule is
    evaluated once at step 0 so that value errors surface here, not inside the first
    training step.

    Args:
      lr_policy: policy function, name or dotted path; ``None`` means ``fixed_lr``.
      lr_policy_params: the config's params for the policy.
      learning_rate: learning rate to inject if the params do not set one.
      max_steps: the last step, from which the default ``decay_steps`` is computed.
      steps_per_epoch: training steps per epoch, or None (boundaries stay steps).

    Returns:
      A ``PolicySchedule``, callable as ``schedule(step) -> float32 scalar``.

    Raises:
      ConfigError: naming the policy and the offending key.
    """
    policy = resolve_policy(lr_policy)
    name = _policy_name(policy)
    params = {_ALIASES.get(k, k): v for k, v in dict(lr_policy_params or {}).items()}
    spec = policy_spec(policy)
    if learning_rate is not None and "learning_rate" in spec:
        if "learning_rate" in params and params["learning_rate"] != learning_rate:
            raise ConfigError(
                f"lr_policy_params ({name}): 'learning_rate' given both in lr_policy_params "
                f"({params['learning_rate']}) and optimizer_params ({learning_rate})"
            )
        params["learning_rate"] = learning_rate
    if "decay_steps" in spec and "decay_steps" not in params and max_steps is not None:
        starts = [k for k in ("begin_decay_at", "warmup_steps") if k in spec]
        given = [params.get(k, spec[k].default) for k in starts]
        begin = max([v for v in given if isinstance(v, (int, float))], default=0)  # types: validated below
        # A run shorter than its warmup (a smoke test, a benchmark) never reaches the decay.
        params["decay_steps"] = max(max_steps - begin, 1)
    if "steps_per_epoch" in spec and "steps_per_epoch" not in params and steps_per_epoch is not None:
        params["steps_per_epoch"] = steps_per_epoch
    schedule = PolicySchedule(policy, params)
    if schedule.params.get("decay_steps", 1) <= 0:
        raise ConfigError(f"lr_policy_params ({name}).decay_steps: must be > 0")
    schedule(0)
    return schedule
