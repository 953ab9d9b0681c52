"""NovoGrad: SGD with layer-wise normalized gradients and momentum."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="open_s2s")
class NovoGrad(keras.optimizers.Optimizer):
    """NovoGrad (Ginsburg et al. 2019, "Stochastic Gradient Methods with Layer-wise
    Adaptive Moments", arXiv:1905.11286), as in OpenSeq2Seq.

    For each variable ("layer") ``w`` with gradient ``g_t`` the second moment is a
    *scalar*, the EMA of the squared gradient norm::

        v_1 = ||g_1||^2
        v_t = beta_2 * v_{t-1} + (1 - beta_2) * ||g_t||^2

        d_t = g_t / (sqrt(v_t) + epsilon) + weight_decay * w_{t-1}
        d_t = (1 - beta_1) * d_t                    if grad_averaging
        m_t = beta_1 * m_{t-1} + d_t
        w_t = w_{t-1} - lr_t * m_t

    Difference from OpenSeq2Seq: its ``NovoGrad`` never updated its second moment. Its
    ``apply_gradients`` tested ``tf.equal(ema, 0.)`` on a variable that was never assigned,
    so every step used the current ``||g_t||^2``: it was effectively ``beta_2 = 0`` whatever
    the config said (e.g. 0.98 in its Jasper recipes, whose published results therefore
    come from ``beta_2 = 0``). This class keeps the paper's moving average; set
    ``beta_2: 0.0`` (``beta2`` in configs) to reproduce an OpenSeq2Seq run, as
    ``example_configs/speech2text/jasper10x5_librispeech.py`` does.

    Notes on the choices:
      * ``v`` starts at 0 and is initialised with the first non-zero ``||g||^2`` of
        that variable (OpenSeq2Seq's ``v == 0`` test), so variables that receive
        no gradient at step 1 still get ``v = ||g||^2`` on their first real step.
      * ``epsilon`` is added to ``sqrt(v_t)`` as in the paper (OpenSeq2Seq added it
        under the square root).
      * Weight decay is *coupled*: it enters the momentum after normalization, and
        ``grad_averaging`` scales the whole direction, both as in OpenSeq2Seq and
        NeMo. Keras' decoupled ``weight_decay`` step is therefore disabled;
        ``exclude_from_weight_decay`` is honoured.
      * Sparse (``IndexedSlices``) gradients are densified: the layer norm and the
        momentum update concern the whole variable.

    Args:
      learning_rate: float or ``LearningRateSchedule``.
      beta_1: momentum factor.
      beta_2: EMA factor of the squared layer gradient norm.
      epsilon: added to ``sqrt(v_t)``.
      weight_decay: coupled L2 decay factor (0 disables it).
      grad_averaging: multiply the direction by ``1 - beta_1`` (Adam-like EMA).
      **kwargs: other ``keras.optimizers.Optimizer`` args (``name``, ``clipnorm``...).
    """

    def __init__(
        self,
        learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1.0,
        beta_1: float = 0.95,
        beta_2: float = 0.98,
        epsilon: float = 1e-8,
        weight_decay: float = 0.0,
        grad_averaging: bool = False,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.grad_averaging = grad_averaging

    def build(self, var_list: list) -> None:
        """Creates per variable a momentum ``m`` (shape of the variable) and a scalar ``v``."""
        if self.built:
            return
        super().build(var_list)
        self._momentums = [self.add_variable_from_reference(v, "momentum") for v in var_list]
        self._grad_norm_emas = [self._add_scalar_slot(v, "grad_norm_ema") for v in var_list]

    def _add_scalar_slot(self, reference: Any, name: str) -> keras.Variable:
        prefix = getattr(reference, "path", reference.name).replace("/", "_").replace(":", "_")
        return self.add_variable(shape=(), initializer="zeros", dtype="float32", name=f"{prefix}_{name}")

    def _apply_weight_decay(self, variables: list) -> None:
        # Weight decay is coupled and applied inside `update_step`; the base class
        # would otherwise also apply decoupled decay with the same factor.
        return

    def update_step(self, gradient: Any, variable: keras.Variable, learning_rate: Any) -> None:
        """Applies one NovoGrad update to ``variable`` (see the class docstring)."""
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._grad_norm_emas[index]
        g = ops.cast(ops.convert_to_tensor(gradient), "float32")
        lr = ops.cast(learning_rate, "float32")

        g_sq = ops.sum(ops.square(g))
        v_new = ops.where(ops.equal(v, 0.0), g_sq, self.beta_2 * v + (1.0 - self.beta_2) * g_sq)
        self.assign(v, v_new)

        direction = g / (ops.sqrt(v_new) + self.epsilon)
        if self.weight_decay and self._use_weight_decay(variable):
            direction = direction + self.weight_decay * ops.cast(variable, "float32")
        if self.grad_averaging:
            direction = direction * (1.0 - self.beta_1)
        self.assign(m, self.beta_1 * m + ops.cast(direction, m.dtype))
        self.assign_sub(variable, ops.cast(lr * m, variable.dtype))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
            grad_averaging=self.grad_averaging,
        )
        return config
