"""One real Trainer step under dtype "mixed" against the update computed by hand in numpy.

The step under test: float16 forward/backward with a static loss scale of 128, gradients
unscaled, the L2 gradient of the kernels added, clipping by global norm, LARC (OpenSeq2Seq's
``post_process_gradients``), then plain SGD ``w <- w - lr * g``. SGD is linear in the gradient,
so a gradient that is 128x off, lacks the L2 term or skips the clipping moves the weights by
a different amount (Adam, which the other mixed-precision tests use, is invariant to a
gradient scale). Clipping and LARC "scale" normalize gradient magnitudes, so each case below
states which of those bugs it can see.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from open_s2s.config.params import validate
from open_s2s.config.schema import BASE_PARAMS
from open_s2s.training.runtime import make_runtime
from open_s2s.training.trainer import Trainer

N, K, U = 8, 4, 3  # batch, input features, outputs
LR, L2_SCALE, LOSS_SCALE = 0.1, 0.5, 128
U16, U32 = 2.0**-11, 2.0**-24  # unit roundoff of float16 and float32


class Linear(keras.Model):
    """``y = x W + b`` with the mean squared error: the smallest model the Trainer runs."""

    OBJECTS_UNIT = "samples"

    def __init__(self):
        super().__init__(name="s2s")
        self.dense = keras.layers.Dense(U, name="linear")

    def call(self, batch, training=False):
        return {"y": self.dense(batch["x"])}

    def compute_loss_value(self, outputs, batch):
        return tf.reduce_mean(tf.square(tf.cast(outputs["y"], tf.float32) - batch["y"]))

    def objects_in_batch(self, batch):
        return tf.cast(tf.shape(batch["x"])[0], tf.float32)


def problem():
    rng = np.random.default_rng(0)
    return {
        "x": rng.normal(size=(N, K)),
        "y": rng.normal(size=(N, U)),
        "kernel": rng.normal(scale=0.8, size=(K, U)),
        "bias": np.array([0.05, -0.02, 0.03]),  # small: LARC "clip" binds on the bias only
    }


def gamma(n):
    """Higham's gamma_n = n u / (1 - n u): bound on the relative error of n float16 roundings."""
    return n * U16 / (1 - n * U16)


def reference_step(p, max_grad_norm, larc, *, l2=True, unscale=True, clip=True):
    """The update in float64 and its error bound from float16 compute.

    Returns ``(new weights, bounds, info)`` for kernel and bias; the keyword flags compute
    the update of a buggy trainer instead (no L2 term, no unscaling, clipping discarded).

    Error bound (Higham, Accuracy and Stability of Numerical Algorithms, ch. 3): in float16
    the forward value ``x W + b`` goes through K + 3 roundings per element (operands, K-term
    dot product, bias add), so ``|d y| <= gamma_{K+3} (|x| |W| + |b|)``; the gradient
    ``x^T dL/dy`` goes through N + 2 more (the float16 cast of dL/dy and an N-term dot
    product). Multiplying by the power-of-two loss scale and its inverse is exact. The
    L2 gradient, norms, clipping, LARC and the SGD update are float32 (a few u32). Clipping
    and LARC multiply a gradient by ``f(||g||)``; a relative error ``d`` in ``||g||`` changes
    that factor by at most ``d / (1 - d)`` (the cases stay away from the kinks of min/max).
    """
    x, y, w, b = p["x"], p["y"], p["kernel"], p["bias"]
    r = x @ w + b - y
    fwd_err = gamma(K + 3) * (np.abs(x) @ np.abs(w) + np.abs(b))
    c = 2.0 / (N * U)  # d mean(r^2) / dr
    grads = {"kernel": c * x.T @ r, "bias": c * r.sum(0)}
    errs = {
        "kernel": c * (gamma(N + 2) * np.abs(x).T @ (np.abs(r) + fwd_err) + np.abs(x).T @ fwd_err),
        "bias": c * (gamma(N + 1) * (np.abs(r) + fwd_err).sum(0) + fwd_err.sum(0)),
    }
    if not unscale:
        grads = {k: g * LOSS_SCALE for k, g in grads.items()}
        errs = {k: e * LOSS_SCALE for k, e in errs.items()}
    if l2:  # keras.regularizers.L2(s) = s * sum(w^2) on kernels, not biases
        grads["kernel"] = grads["kernel"] + 2 * L2_SCALE * w
    errs["kernel"] = errs["kernel"] + 4 * U32 * np.abs(grads["kernel"])
    info = {"norm": np.sqrt(sum(np.sum(g**2) for g in grads.values()))}

    if max_grad_norm is not None:  # g <- g * M / max(||g||, M)
        factor = max_grad_norm / max(info["norm"], max_grad_norm)
        rel = np.sqrt(sum(np.sum(e**2) for e in errs.values())) / info["norm"]
        theta = rel / (1 - rel) if factor < 1 else 0.0
        errs = {k: factor * (errs[k] + np.abs(g) * theta) for k, g in grads.items()}
        if clip:
            grads = {k: g * factor for k, g in grads.items()}
        info["clip_factor"] = factor

    weights = {"kernel": w, "bias": b}
    if larc is not None:  # OpenSeq2Seq optimizers.py post_process_gradients
        eta, mode, min_update, eps = larc["larc_eta"], larc["larc_mode"], 1e-7, 1e-7
        for k, g in grads.items():
            g_norm = np.linalg.norm(g)
            ratio = eta * np.linalg.norm(weights[k]) / (g_norm + eps)
            mult = min(max(ratio / LR, min_update), 1.0) if mode == "clip" else max(ratio, min_update)
            rel = np.linalg.norm(errs[k]) / g_norm
            theta = rel / (1 - rel) if mult not in (1.0, min_update) else 0.0
            errs[k] = mult * (errs[k] + np.abs(g) * theta)
            grads[k] = g * mult
            info[f"larc_{k}"] = mult

    new = {k: weights[k] - LR * grads[k] for k in weights}
    bounds = {k: LR * errs[k] + 8 * U32 * (np.abs(weights[k]) + LR * np.abs(grads[k])) for k in weights}
    return new, bounds, info


def trainer_step(tmp_path, p, max_grad_norm, larc):
    given = {
        "dtype": "mixed",
        "loss_scaling": LOSS_SCALE,
        "batch_size_per_gpu": N,
        "max_steps": 1,
        "optimizer": "SGD",
        "optimizer_params": {"learning_rate": LR},
        "regularizer": "l2",
        "regularizer_params": {"scale": L2_SCALE},
        "max_grad_norm": max_grad_norm,
        "larc_params": larc,
        "save_checkpoint_steps": None,
        "print_loss_steps": None,
    }
    params = validate("base_params", given, BASE_PARAMS)
    runtime = make_runtime(params)
    model = Linear()
    model({"x": tf.zeros([1, K])})
    assert model.dense.compute_dtype == "float16"
    model.dense.kernel.assign(p["kernel"].astype(np.float32))
    model.dense.bias.assign(p["bias"].astype(np.float32))
    trainer = Trainer(model, params, runtime, str(tmp_path / "run"), total_steps=1)
    batch = {"x": tf.constant(p["x"], tf.float32), "y": tf.constant(p["y"], tf.float32)}
    out = trainer.compiled_step()(iter([batch]))
    assert bool(out["finite"]) and trainer.step == 1
    assert float(out["loss_scale"]) == LOSS_SCALE
    return {"kernel": model.dense.kernel.numpy(), "bias": model.dense.bias.numpy()}


def max_grad_norm_for(p, fraction):
    """A clipping threshold at ``fraction`` of the true gradient norm (float32 config value)."""
    return float(np.float32(fraction * reference_step(p, None, None)[2]["norm"]))


# case -> (max_grad_norm as a fraction of ||g|| or None, larc_params, bugs whose update differs)
CASES = {
    # no clipping, no LARC: a 128x gradient moves the weights 128x as far
    "sgd": (None, None, ("l2", "unscale")),
    # clipping active (to half the norm): it would also hide a 128x gradient
    "clipped": (0.5, None, ("l2", "clip")),
    # LARC "clip" binds on the bias only, so the kernel takes the clipped gradient
    "clipped_larc_clip": (0.5, {"larc_eta": 0.1, "larc_mode": "clip"}, ("l2", "clip")),
    # LARC "scale" sets every gradient's norm, so only the L2 term's direction shows
    "clipped_larc_scale": (0.5, {"larc_eta": 0.05, "larc_mode": "scale"}, ("l2",)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_mixed_sgd_step_matches_the_hand_computed_update(tmp_path, case):
    fraction, larc, sensitive_to = CASES[case]
    p = problem()
    max_grad_norm = None if fraction is None else max_grad_norm_for(p, fraction)
    expected, bounds, info = reference_step(p, max_grad_norm, larc)
    if larc is not None and larc["larc_mode"] == "clip":
        assert info["larc_kernel"] == 1.0 and info["larc_bias"] < 0.5, info  # the regime the case is about
    ours = trainer_step(tmp_path, p, max_grad_norm, larc)
    for name in ("kernel", "bias"):
        err = np.abs(ours[name] - expected[name])
        assert np.all(err <= bounds[name]), (
            f"{case}: {name} after one step differs from the hand-computed update by {err.max():.3g} "
            f"(> float16 bound {bounds[name].flat[np.argmax(err)]:.3g})\nours\n{ours[name]}\nexpected\n{expected[name]}"
        )
    # The test can see the bugs it guards: each buggy update is far outside the bound.
    buggy = {"l2": {"l2": False}, "unscale": {"unscale": False}, "clip": {"clip": False}}
    for bug in sensitive_to:
        wrong, _, _ = reference_step(p, max_grad_norm, larc, **buggy[bug])
        gap = max(np.abs(wrong[k] - expected[k]).max() / bounds[k].max() for k in expected)
        assert gap > 10, f"{case}: the update without '{bug}' is only {gap:.1f} bounds away"
