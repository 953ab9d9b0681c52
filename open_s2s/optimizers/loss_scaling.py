"""Loss scaling for float16 training: static, Backoff and LogMax (OpenSeq2Seq's scalers).

float16 has 10 mantissa bits and a smallest normal value of 6.1e-5: small activation
gradients underflow to zero in the backward pass. Multiplying the loss by a scale ``S``
shifts every backward tensor up by ``S``; the trainer divides the float32 gradients by
``S`` before accumulation, all-reduce, clipping, LARC and the update. A scale that is too
large overflows (Inf/NaN gradients): that step is skipped and the scaler lowers ``S``.

The scalers, selected by the config key ``loss_scaling``:

* a number: a fixed scale ``S``. Overflowing steps are skipped; ``S`` never changes.
* ``"Backoff"`` (dynamic): start at ``initial_scale`` (default ``scale_max``, as OpenSeq2Seq
  did); on overflow ``S <- max(S / step_factor, scale_min)``; after ``step_window``
  consecutive clean steps ``S <- min(S * step_factor, scale_max)``. With ``initial_scale
  = 2**15``, ``step_factor = 2``, ``step_window = 2000`` this is exactly Keras's
  ``LossScaleOptimizer`` dynamic scale (the tests check it against Keras).
* ``"LogMax"`` (statistical): with ``x_t = log2(max |g_t|)`` of the *unscaled* gradients
  (``x_t = log_max`` when the step overflowed), it keeps bias-corrected moving averages
  ``mu = EMA_beta1(x) / (1 - beta1^t)``, ``m = EMA_beta2(x) / (1 - beta2^t)``,
  ``q = EMA_beta2(x^2) / (1 - beta2^t)``, ``sigma = sqrt(max(q - m^2, 0))``, and sets
  ``S = clip(2 ** (log_max - (mu + overflow_std_dev * sigma)), scale_min, scale_max)``:
  the largest gradient lands ``overflow_std_dev`` standard deviations below ``2**log_max``
  (float16's largest finite value is ~2**16), so with the default 3.09 (the 0.999
  quantile of a normal) about one step in a thousand overflows. OpenSeq2Seq used
  ``x_t = 2**log_max`` on overflow, which pushes ``mu`` to ~650 for hundreds of steps
  and pins ``S`` at ``scale_min``; ``x_t = log_max`` ("the maximum was at the float16
  limit") lowers ``S`` by a few powers of two instead.

Why not Keras's ``LossScaleOptimizer``: it divides the gradients by the scale inside
``apply``, after the point where this trainer must accumulate, all-reduce, clip and apply
LARC to *unscaled* gradients; it has no static mode, no ``scale_min``/``scale_max`` and no
LogMax; and it wraps the optimizer, which would rename every optimizer variable in the
checkpoints (so a ``mixed`` run could not resume in ``float32``). The scale state here is
a handful of variables checkpointed next to the optimizer's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import tensorflow as tf

from open_s2s.config.params import ConfigError, Param, positive, validate

BACKOFF_PARAMS: dict[str, Param] = {
    "scale_min": Param((int, float), 1.0, check=positive, doc="Lowest scale."),
    "scale_max": Param((int, float), 2.0**24, check=positive, doc="Highest scale."),
    "initial_scale": Param((int, float, type(None)), None, doc="Starting scale (default: scale_max)."),
    "step_factor": Param((int, float), 2.0, doc="Scale is divided by this on overflow, multiplied after a window."),
    "step_window": Param(int, 2000, check=positive, doc="Clean steps before the scale grows."),
}
LOGMAX_PARAMS: dict[str, Param] = {
    "scale_min": Param((int, float), 1.0, check=positive, doc="Lowest scale."),
    "scale_max": Param((int, float), 2.0**24, check=positive, doc="Highest scale."),
    "log_max": Param((int, float), 16.0, doc="log2 of the largest value the scaled gradients may reach."),
    "beta1": Param(float, 0.99, doc="Decay of the fast mean of log2 max|g|."),
    "beta2": Param(float, 0.999, doc="Decay of the slow mean and mean square of log2 max|g|."),
    "overflow_std_dev": Param(float, 3.09, doc="Standard deviations of headroom below 2**log_max."),
}


def _state(name: str, value: Any, dtype: tf.DType = tf.float32) -> tf.Variable:
    # ONLY_FIRST_REPLICA: assignable from a replica context under MirroredStrategy; every
    # replica computes the same value (the gradients are all-reduced first).
    return tf.Variable(
        value, dtype=dtype, trainable=False, name=name, aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA
    )


class LossScaler:
    """A fixed loss scale. Base class of the dynamic scalers.

    Attributes:
      scale: float32 variable holding the current scale.
      skipped_steps: int64 variable counting steps skipped for non-finite gradients.
    """

    def __init__(self, scale: float = 1.0):
        self.scale = _state("loss_scale", float(scale))
        self.skipped_steps = _state("skipped_steps", 0, tf.int64)

    def update(self, finite: tf.Tensor, amax: tf.Tensor) -> None:
        """Records one step: ``finite`` whether all gradients were finite, ``amax`` max |g| (unscaled)."""
        self.skipped_steps.assign_add(tf.cast(tf.logical_not(finite), tf.int64))
        self._update_scale(finite, amax)

    def _update_scale(self, finite: tf.Tensor, amax: tf.Tensor) -> None:
        pass

    def variables(self) -> dict[str, tf.Variable]:
        """The scaler state, keyed by name, for checkpoints."""
        return {v.name.split(":")[0]: v for v in self._all_variables()}

    def _all_variables(self) -> list[tf.Variable]:
        return [self.scale, self.skipped_steps]


class BackoffScaler(LossScaler):
    """Dynamic scale: halve on overflow, double after ``step_window`` clean steps."""

    def __init__(self, params: Mapping[str, Any] | None = None):
        self.params = validate("loss_scaling_params (Backoff)", params or {}, BACKOFF_PARAMS)
        p = self.params
        if p["scale_min"] > p["scale_max"]:
            raise ConfigError("loss_scaling_params (Backoff): scale_min is larger than scale_max")
        initial = p["scale_max"] if p["initial_scale"] is None else p["initial_scale"]
        super().__init__(min(max(initial, p["scale_min"]), p["scale_max"]))
        self.clean_steps = _state("clean_steps", 0, tf.int64)

    def _update_scale(self, finite, amax):
        p = self.params
        clean = tf.where(finite, self.clean_steps + 1, tf.zeros_like(self.clean_steps))
        grow = clean >= p["step_window"]
        factor = tf.where(finite, tf.where(grow, p["step_factor"], 1.0), 1.0 / p["step_factor"])
        self.scale.assign(tf.clip_by_value(self.scale * factor, p["scale_min"], p["scale_max"]))
        self.clean_steps.assign(tf.where(grow, tf.zeros_like(clean), clean))

    def _all_variables(self):
        return super()._all_variables() + [self.clean_steps]


class LogMaxScaler(LossScaler):
    """Scale set from running statistics of log2 of the largest gradient (see module doc)."""

    def __init__(self, params: Mapping[str, Any] | None = None):
        self.params = validate("loss_scaling_params (LogMax)", params or {}, LOGMAX_PARAMS)
        super().__init__(1.0)
        self.x_hat = _state("x_hat", 0.0)
        self.slow_x_hat = _state("slow_x_hat", 0.0)
        self.xsquared_hat = _state("xsquared_hat", 0.0)
        self.b1_correction = _state("b1_correction", 1.0)
        self.b2_correction = _state("b2_correction", 1.0)

    def _update_scale(self, finite, amax):
        p = self.params
        b1, b2 = p["beta1"], p["beta2"]
        safe_amax = tf.maximum(tf.where(finite, amax, 1.0), 1e-30)
        x = tf.where(finite, tf.math.log(safe_amax) / tf.math.log(2.0), float(p["log_max"]))
        self.x_hat.assign(b1 * self.x_hat + (1 - b1) * x)
        self.b1_correction.assign(self.b1_correction * b1)
        self.slow_x_hat.assign(b2 * self.slow_x_hat + (1 - b2) * x)
        self.xsquared_hat.assign(b2 * self.xsquared_hat + (1 - b2) * x * x)
        self.b2_correction.assign(self.b2_correction * b2)
        mu = self.x_hat / (1 - self.b1_correction)
        slow_mu = self.slow_x_hat / (1 - self.b2_correction)
        sigma = tf.sqrt(tf.maximum(self.xsquared_hat / (1 - self.b2_correction) - slow_mu * slow_mu, 0.0))
        proposed = tf.pow(2.0, p["log_max"] - (mu + p["overflow_std_dev"] * sigma))
        self.scale.assign(tf.clip_by_value(proposed, p["scale_min"], p["scale_max"]))

    def _all_variables(self):
        extra = [self.x_hat, self.slow_x_hat, self.xsquared_hat, self.b1_correction, self.b2_correction]
        return super()._all_variables() + extra


SCALERS = {"backoff": BackoffScaler, "logmax": LogMaxScaler}


def make_loss_scaler(dtype: str, loss_scaling: Any, params: Mapping[str, Any] | None) -> LossScaler | None:
    """The scaler for a config, or None when the dtype needs none (float32, mixed_bf16).

    Args:
      dtype: ``float32``, ``mixed`` or ``mixed_bf16``.
      loss_scaling: a positive number, ``"Backoff"``, ``"LogMax"`` or None (no scaling).
      params: ``loss_scaling_params``.
    """
    if dtype != "mixed":
        return None
    if loss_scaling is None:
        return LossScaler(1.0)
    if isinstance(loss_scaling, bool) or not isinstance(loss_scaling, (int, float, str)):
        raise ConfigError(f"loss_scaling: expected a number, 'Backoff' or 'LogMax', got {loss_scaling!r}")
    if isinstance(loss_scaling, str):
        key = loss_scaling.strip().lower()
        if key not in SCALERS:
            raise ConfigError(f"loss_scaling: unknown scaler {loss_scaling!r}; expected a number, Backoff or LogMax")
        return SCALERS[key](params)
    if loss_scaling <= 0:
        raise ConfigError(f"loss_scaling: a static scale must be positive, got {loss_scaling}")
    if params:
        raise ConfigError(f"loss_scaling_params {sorted(params)} given with a static scale ({loss_scaling})")
    return LossScaler(float(loss_scaling))
