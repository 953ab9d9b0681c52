"""Mixed precision: float32 master weights and slots, loss-scaling skips, L2 in float32,
least squares in every dtype, and checkpoints that move between dtypes."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from test_trainer import fixed_batches, setup

from open_s2s import runner
from open_s2s.config.loader import resolve_config
from open_s2s.config.params import validate
from open_s2s.config.schema import BASE_PARAMS
from open_s2s.data import keys
from open_s2s.modes import build_model, make_data_layer, restore_for_inference
from open_s2s.optimizers import poly_decay
from open_s2s.training.runtime import make_runtime
from open_s2s.training.trainer import Trainer
from tests.harness import UNIT_ROUNDOFF, rounding_depth, rounding_tolerance

COMPUTE = {"mixed": "float16", "mixed_bf16": "bfloat16"}


@pytest.mark.parametrize("dtype", ["mixed", "mixed_bf16"])
def test_master_weights_and_slots_are_float32_and_layers_compute_low(small_config, tmp_path, dtype):
    extra = [f"--dtype={dtype}", "--optimizer=Adam", "--loss_scaling=128"]
    params, runtime, dl, model = setup(small_config, tmp_path, extra)
    trainer = Trainer(model, params, runtime, str(tmp_path / "run"), total_steps=1)
    (batch,) = fixed_batches(dl, 1)
    trainer.compiled_step()(iter([batch]))
    assert trainer.step == 1
    assert {v.dtype for v in model.trainable_variables} == {"float32"}
    assert {v.dtype for v in trainer.optimizer.variables if "iteration" not in v.path} == {"float32"}
    encoded = model.encoder({keys.SOURCE: batch[keys.SOURCE], keys.SOURCE_LENGTH: batch[keys.SOURCE_LENGTH]})
    assert encoded[keys.OUTPUTS].dtype == COMPUTE[dtype]
    assert model(batch)[keys.LOGITS].dtype == tf.float32  # the final projection stays float32
    assert (trainer.loss_scaler is not None) == (dtype == "mixed")


def test_overflowing_step_is_skipped_and_the_scale_halves(small_config, tmp_path):
    scaling = ["--dtype=mixed", "--loss_scaling=Backoff", "--optimizer=Adam"]
    huge = ["--loss_scaling_params={'initial_scale':1.152921504606846976e18,'scale_max':1.8446744073709551616e19}"]
    params, runtime, dl, model = setup(small_config, tmp_path, scaling + huge)
    trainer = Trainer(model, params, runtime, str(tmp_path / "run"), total_steps=1)
    (batch,) = fixed_batches(dl, 1)
    weights = [np.array(v) for v in model.variables]
    slots = [np.array(v) for v in trainer.optimizer.variables]
    out = trainer.compiled_step()(iter([batch]))  # 2**60 overflows float16 gradients
    assert not bool(out["finite"]) and np.isfinite(float(out["loss"]))
    assert trainer.step == 0
    for before, v in zip(weights, model.variables):
        if "moving" not in v.path and "seed" not in v.path:  # BN statistics move in the forward pass
            np.testing.assert_array_equal(before, np.array(v), err_msg=v.path)
    for before, v in zip(slots, trainer.optimizer.variables):
        np.testing.assert_array_equal(before, np.array(v), err_msg=v.path)
    assert float(out["loss_scale"]) == 2.0**59
    assert int(out["skipped_steps"]) == 1

    trainer.fit(tf.data.Dataset.from_tensors(batch).repeat())  # skips until the scale fits, then updates
    assert trainer.step == 1
    skipped = int(trainer.loss_scaler.skipped_steps.numpy())
    assert 1 < skipped < 50 and float(trainer.loss_scaler.scale.numpy()) == 2.0 ** (60 - skipped)
    assert any(not np.array_equal(w, np.array(v)) for w, v in zip(weights, model.trainable_variables))


def test_float16_l2_penalty_on_tiny_weights_still_has_a_gradient(small_config, tmp_path):
    params, runtime, dl, model = setup(
        small_config, tmp_path, ["--dtype=mixed", "--regularizer=l2", "--regularizer_params={'scale':1e-4}"]
    )
    trainer = Trainer(model, params, runtime, str(tmp_path / "run"), total_steps=1)
    kernel = next(v for v in trainer.train_vars if v.path.endswith("kernel"))
    kernel.assign(np.full(kernel.shape, 1e-4, np.float32))
    with tf.GradientTape() as tape:
        penalty = trainer._regularization()
    grad = tape.gradient(penalty, kernel)
    expected = 2 * 1e-4 * 1e-4  # 2e-8: below float16's smallest subnormal (6e-8)
    assert float(tf.cast(tf.constant(expected), tf.float16)) == 0.0
    np.testing.assert_allclose(np.array(grad), expected, rtol=1e-5)
    assert penalty.dtype == tf.float32


class LeastSquares(keras.Model):
    """y = X w, mean squared error: the closed form is np.linalg.lstsq."""

    OBJECTS_UNIT = "samples"

    def __init__(self, dim):
        super().__init__(name="s2s")
        self.dense = keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros", name="w")
        self.build_dim = dim

    def call(self, batch, training=False):
        return {"y": self.dense(batch["x"])}

    def compute_loss_value(self, outputs, batch):
        return tf.reduce_mean(tf.square(tf.cast(outputs["y"], tf.float32) - batch["y"]))

    def objects_in_batch(self, batch):
        return tf.cast(tf.shape(batch["x"])[0], tf.float32)


@pytest.mark.parametrize("dtype", ["float32", "mixed", "mixed_bf16"])
def test_least_squares_converges_to_the_closed_form_in_every_dtype(tmp_path, dtype):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype(np.float32)
    w_true = np.array([[1.5], [-0.75], [0.25], [2.0]], np.float32)
    y = x @ w_true + 0.1 * rng.normal(size=(256, 1)).astype(np.float32)
    closed_form = np.linalg.lstsq(x.astype(np.float64), y.astype(np.float64), rcond=None)[0]
    given = {
        "batch_size_per_gpu": 256,
        "max_steps": 400,
        "dtype": dtype,
        "loss_scaling": "Backoff",
        "loss_scaling_params": {"initial_scale": 2.0**10},
        "optimizer": "Adam",
        "optimizer_params": {},
        "lr_policy": poly_decay,
        "lr_policy_params": {"learning_rate": 0.05, "power": 1.0},
        "save_checkpoint_steps": None,
        "print_loss_steps": None,
    }
    params = validate("base_params", given, BASE_PARAMS)
    runtime = make_runtime(params)
    model = LeastSquares(4)
    model({"x": tf.zeros([1, 4])})
    trainer = Trainer(model, params, runtime, str(tmp_path / "run"), total_steps=400)
    trainer.fit(tf.data.Dataset.from_tensors({"x": x, "y": y}).repeat())
    # Converged weights are the least-squares solution of the problem as the compute dtype
    # sees it: x rounded (u each) and x w computed with K + 2 more roundings (K-term dot
    # product, its output, the cast of the loss input), a relative perturbation eps =
    # (K + 3) u of X. Least-squares perturbation theory (Wedin; Higham, Accuracy and
    # Stability of Numerical Algorithms, Thm 20.1) bounds the change of w by
    # eps ||w|| (cond(X) + cond(X)^2 ||r|| / (||X|| ||w||)). Adam's own error at the end of
    # the linear decay is below float32 rounding (2e-7 measured in float32).
    eps = (x.shape[1] + 3) * UNIT_ROUNDOFF[COMPUTE.get(dtype, "float32")]
    kappa, w_norm = np.linalg.cond(x), np.linalg.norm(closed_form)
    residual = np.linalg.norm(y - x @ closed_form) / (np.linalg.norm(x, 2) * w_norm)
    tol = eps * w_norm * (kappa + kappa**2 * residual)
    np.testing.assert_allclose(np.array(model.dense.kernel), closed_form, atol=tol, rtol=0)
    # untrained (zero) weights are far outside the tolerance
    assert np.abs(closed_form).max() > 10 * tol


def test_mixed_checkpoint_restores_into_float32_and_resumes_in_another_dtype(small_config, tmp_path, capsys):
    logdir = str(tmp_path / "run")
    base = [f"--config_file={small_config}", f"--logdir={logdir}"]
    assert runner.main(base + ["--mode=train", "--dtype=mixed", "--max_steps=2"]) == 0
    ckpt = tf.train.latest_checkpoint(logdir)

    def restored(dtype):
        model_cls, params = resolve_config(small_config, "eval", [f"--dtype={dtype}"])
        make_runtime(params)
        dl = make_data_layer(params, "eval")
        model = build_model(model_cls, params, dl.spec)
        restore_for_inference(model, ckpt)
        (batch,) = fixed_batches(dl, 1)
        return model, model(batch)[keys.LOGITS].numpy()

    model16, out16 = restored("mixed")
    model32, out32 = restored("float32")
    assert out32.dtype == np.float32
    for a, b in zip(model16.variables, model32.variables):
        np.testing.assert_array_equal(np.array(a), np.array(b))  # the same float32 master weights
    # the same outputs up to float16 rounding of weights and activations
    tol = rounding_tolerance("float16", rounding_depth(model16, weights_rounded=True), np.abs(out32).max(), 1)
    np.testing.assert_allclose(out16, out32, atol=tol, rtol=0)
    assert np.abs(out16 - out32).max() > 0  # and the two really ran in different precisions

    assert runner.main(base + ["--mode=eval", "--dtype=float32"]) == 0
    assert runner.main(base + ["--mode=train", "--dtype=float32", "--max_steps=3", "--continue_learning"]) == 0
    assert runner.main(base + ["--mode=train", "--dtype=mixed", "--max_steps=4", "--continue_learning"]) == 0
    assert tf.train.latest_checkpoint(logdir).endswith("model-4")
