"""LARC: layer-wise adaptive rate control of gradients (OpenSeq2Seq ``larc_params``).

You et al. 2017, "Large Batch Training of Convolutional Networks" (LARS), in the
"clip"/"scale" variants of OpenSeq2Seq. Applied to the (already unscaled and
clipped) gradients right before the optimizer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tensorflow as tf

from open_s2s.config.params import Param, positive

LARC_PARAMS = {
    "larc_eta": Param(float, 0.002, doc="trust coefficient eta", check=positive),
    "larc_mode": Param(
        str,
        "clip",
        choices=["clip", "scale"],
        doc="clip: cap the local lr at the global lr; scale: replace it",
    ),
    "min_update": Param(float, 1e-7, doc="floor of the per-variable multiplier"),
    "epsilon": Param(float, 1e-7, doc="added to ||g|| to avoid division by zero"),
}

GradsAndVars = Sequence[tuple[Any, Any]]


def _norm(x: Any) -> tf.Tensor:
    if isinstance(x, tf.IndexedSlices):
        x = tf.convert_to_tensor(x)
    return tf.norm(tf.cast(x, tf.float32))


def larc_multiplier(
    grad: Any,
    var: Any,
    learning_rate: Any,
    larc_eta: float = 0.002,
    larc_mode: str = "clip",
    min_update: float = 1e-7,
    epsilon: float = 1e-7,
) -> tf.Tensor:
    """The float32 scalar that LARC multiplies ``grad`` by.

    With ``r = larc_eta * ||w|| / (||g|| + epsilon)`` (the LARS local learning rate)::

        scale:  c = max(r, min_update)
        clip:   c = min(max(r / lr, min_update), 1)

    "clip" thus only ever shrinks the step: the effective rate ``lr * c`` is
    ``min(lr, r)`` (unless the ``min_update`` floor binds).

    "clip" is evaluated as ``1 if r >= lr else max(r / lr, min_update)``, which is the
    same value wherever OpenSeq2Seq's ``min(max(r / lr, min_update), 1)`` is defined, but
    never divides by ``lr = 0``: at the first step of a warmup schedule a zero-initialised
    variable (a bias, a batch-norm beta) has ``r = 0`` and OpenSeq2Seq's ``0 / 0`` made its
    update NaN. Here it gets ``c = 1``, and its update ``lr * c * g`` is 0.
    """
    ratio = larc_eta * _norm(var) / (_norm(grad) + epsilon)
    if larc_mode == "scale":
        return tf.maximum(ratio, min_update)
    if larc_mode == "clip":
        lr = tf.cast(learning_rate, tf.float32)
        # Where r < lr, lr > 0 and divide_no_nan is a plain division; where r >= lr (lr = 0
        # included) its value is not selected.
        clipped = tf.maximum(tf.math.divide_no_nan(ratio, lr), min_update)
        return tf.where(ratio >= lr, tf.ones_like(ratio), clipped)
    raise ValueError(f"larc_mode must be 'clip' or 'scale', got {larc_mode!r}")


def _scale(grad: Any, multiplier: tf.Tensor) -> Any:
    if isinstance(grad, tf.IndexedSlices):
        values = grad.values * tf.cast(multiplier, grad.values.dtype)
        return tf.IndexedSlices(values, grad.indices, grad.dense_shape)
    return grad * tf.cast(multiplier, grad.dtype)


def apply_larc(
    grads_and_vars: GradsAndVars,
    learning_rate: Any,
    larc_eta: float = 0.002,
    larc_mode: str = "clip",
    min_update: float = 1e-7,
    epsilon: float = 1e-7,
) -> list[tuple[Any, Any]]:
    """Rescales each gradient by its LARC multiplier (see ``larc_multiplier``).

    Args:
      grads_and_vars: ``(gradient, variable)`` pairs; ``None`` gradients pass through.
      learning_rate: the global learning rate at this step (used by "clip").
      larc_eta, larc_mode, min_update, epsilon: see ``LARC_PARAMS``.

    Returns:
      A list of ``(rescaled gradient, variable)``, gradients in their own dtype.
    """
    out = []
    for grad, var in grads_and_vars:
        if grad is not None:
            c = larc_multiplier(grad, var, learning_rate, larc_eta, larc_mode, min_update, epsilon)
            grad = _scale(grad, c)
        out.append((grad, var))
    return out
