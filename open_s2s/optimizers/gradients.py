"""Gradient clipping and L2 regularization helpers used by the trainer."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import tensorflow as tf

# Weight matrices (Dense/Conv/RNN kernels, depthwise/pointwise/recurrent kernels) and
# embedding tables are regularized; biases, norm gamma/beta and moving statistics are not.
L2_INCLUDE_REGEX = r"(kernel|embeddings?)$"


def clip_by_global_norm(grads: Sequence[Any], max_norm: float | None) -> tuple[list[Any], tf.Tensor]:
    """Clips gradients by their global norm (``max_grad_norm`` in configs).

    With ``N = sqrt(sum_i ||g_i||^2)`` over the non-``None`` gradients::

        g_i <- g_i * max_norm / max(N, max_norm)

    Args:
      grads: gradients; ``None`` entries are kept as ``None``.
      max_norm: clipping threshold, or ``None`` to only measure the norm.

    Returns:
      ``(clipped gradients, N)`` where ``N`` is the float32 pre-clipping norm. If
      ``N`` is inf/NaN all clipped gradients are NaN (``tf.clip_by_global_norm``),
      which lets a loss scaler detect the overflow.
    """
    grads = list(grads)
    present = [g for g in grads if g is not None]
    if not present:
        return grads, tf.constant(0.0, tf.float32)
    if max_norm is None:
        return grads, tf.cast(tf.linalg.global_norm(present), tf.float32)
    clipped, norm = tf.clip_by_global_norm(grads, max_norm)
    return list(clipped), tf.cast(norm, tf.float32)


def _variable_name(variable: Any) -> str:
    # Keras 3 variables expose the layer-qualified `path` ("dense/kernel");
    # raw tf.Variables only `name` ("dense/kernel:0").
    name = getattr(variable, "path", None) or variable.name
    return name.split(":")[0]


def l2_variables(variables: Sequence[Any], include_regex: str | None = L2_INCLUDE_REGEX) -> list[Any]:
    """The trainable variables whose name matches ``include_regex`` (all of them if None).

    This is the default set of a component (``Component.l2_variables``); encoders that
    follow OpenSeq2Seq's own choice (e.g. batch-norm gammas in, RNN weights out) override it.
    """
    pattern = re.compile(include_regex) if include_regex is not None else None
    return [
        v for v in variables if getattr(v, "trainable", True) and (pattern is None or pattern.search(_variable_name(v)))
    ]


def l2_loss(variables: Sequence[Any], scale: float, include_regex: str | None = L2_INCLUDE_REGEX) -> tf.Tensor:
    """L2 penalty on weight matrices and embeddings (config ``regularizer_params.scale``).

    ::

        loss = scale * sum_{w in kernels/embeddings} sum(w^2)

    This is ``keras.regularizers.L2(scale)`` summed over the selected variables.
    Note that OpenSeq2Seq's ``tf.contrib.layers.l2_regularizer(scale)`` used
    ``scale * sum(w^2) / 2``: halve ``scale`` to port such a config unchanged.
    Computed in float32 on the (float32 master) weights.

    Args:
      variables: candidate variables, e.g. ``model.trainable_variables``.
      scale: the L2 coefficient.
      include_regex: regex searched in each variable's path; biases, gamma/beta
        and moving statistics do not match the default. None: every given variable
        (the trainer passes the model's ``l2_variables()``).

    Returns:
      A float32 scalar (0 when no variable matches).
    """
    selected = l2_variables(variables, include_regex)
    if not selected:
        return tf.constant(0.0, tf.float32)
    sums = [tf.reduce_sum(tf.square(tf.cast(v, tf.float32))) for v in selected]
    return tf.constant(scale, tf.float32) * tf.add_n(sums)
