"""The one training step and the loop around it: accumulation, clipping, LARC,
checkpoints, summaries, progress, signals. Model code knows nothing of this module."""

from __future__ import annotations

import logging
import math
import re
import signal
import time
from collections.abc import Callable, Mapping
from typing import Any

import tensorflow as tf
from tqdm.auto import tqdm

from open_s2s import optimizers as opt_lib
from open_s2s.config.schema import IGNORED_SUMMARIES
from open_s2s.data import keys
from open_s2s.training import checkpoints as ckpt_lib
from open_s2s.training import replica_seeds
from open_s2s.training.runtime import Runtime

log = logging.getLogger("open_s2s")


# With loss scaling, a run of overflowing steps longer than this means the scale cannot
# recover (Backoff from 2**24 reaches 1 in 24 halvings): stop instead of spinning.
MAX_CONSECUTIVE_SKIPS = 50


class TrainingDiverged(RuntimeError):
    """The float32 loss became NaN/Inf; the last good checkpoint is left as it was."""


class Interrupted(Exception):
    """SIGINT/SIGTERM arrived; a checkpoint was saved first."""

    def __init__(self, signum: int, path: str | None):
        super().__init__(f"stopped by signal {signum}; checkpoint saved at {path}")
        self.signum, self.path = signum, path


class Trainer:
    """Builds the optimizer and the compiled step for a model, and runs the loop.

    Args:
      model: a built ``EncoderDecoderModel``.
      params: the resolved top-level config.
      runtime: precision + strategy (see ``training.runtime``).
      logdir: run directory (checkpoints, TensorBoard events).
      total_steps: number of optimizer updates to reach.
      steps_per_epoch: updates per epoch when the config gives ``num_epochs`` (then
        ``piecewise_constant`` boundaries are epochs, as in OpenSeq2Seq), else None.
    """

    def __init__(
        self,
        model,
        params: Mapping[str, Any],
        runtime: Runtime,
        logdir: str,
        total_steps: int,
        steps_per_epoch: float | None = None,
    ):
        self.model, self.params, self.runtime, self.logdir = model, params, runtime, logdir
        self.total_steps = total_steps
        optimizer_params = dict(params["optimizer_params"])
        self.schedule = opt_lib.make_schedule(
            params["lr_policy"],
            params["lr_policy_params"],
            optimizer_params.pop("learning_rate", None),
            total_steps,
            steps_per_epoch,
        )
        regex = params["freeze_variables_regex"]
        self.train_vars = [v for v in model.trainable_variables if not (regex and re.search(regex, v.path))]
        if not self.train_vars:
            raise ValueError(f"freeze_variables_regex={regex!r} freezes every variable")
        # Each component picks what L2 covers (EncoderDecoderModel.l2_variables); another
        # Keras model gets the default: kernels and embeddings.
        chosen = model.l2_variables() if hasattr(model, "l2_variables") else opt_lib.l2_variables(self.train_vars)
        regularized = {id(v) for v in chosen}
        self.l2_vars = [v for v in self.train_vars if id(v) in regularized]
        self.seed_states = replica_seeds.seed_states(model)
        with runtime.strategy.scope():
            self.optimizer = opt_lib.make_optimizer(params["optimizer"], optimizer_params, self.schedule)
            self.optimizer.build(self.train_vars)
            self.loss_scaler = opt_lib.make_loss_scaler(
                runtime.dtype, params["loss_scaling"], params["loss_scaling_params"]
            )
        extra = {"loss_scaler": self.loss_scaler.variables()} if self.loss_scaler is not None else {}
        self.checkpoint = ckpt_lib.make_checkpoint(model, self.optimizer, extra)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, logdir, max_to_keep=params["num_checkpoints"], checkpoint_name="model"
        )
        self._step_fn = None
        self._signal = None
        self._consecutive_skips = 0
        ignored = [name for name in params["summaries"] if name in IGNORED_SUMMARIES]
        if ignored:
            log.warning("summaries %s are accepted for OpenSeq2Seq configs but not written", ignored)

    def state_variables(self) -> list:
        """Every variable of the run (model, optimizer, loss scaler), for broadcasts."""
        scaler = list(self.loss_scaler.variables().values()) if self.loss_scaler is not None else []
        return list(self.model.variables) + list(self.optimizer.variables) + scaler

    # ------------------------------------------------------------------ the step

    @property
    def step(self) -> int:
        return int(self.optimizer.iterations.numpy())

    def _loss_and_grads(self, batch, share=1.0):
        """One forward/backward pass on this replica: float32 loss, unscaled float32 gradients.

        ``share`` weighs this batch's loss against the other batches of the step (see
        ``_replica_step``); the L2 term is not weighed.
        """
        scale = self.loss_scaler.scale if self.loss_scaler is not None else None
        batch = {**batch, keys.STEP: self.optimizer.iterations}  # for step-dependent losses
        with tf.GradientTape() as tape:
            with replica_seeds.replica_dropout_seeds(self.seed_states, self.runtime.replica_id()):
                outputs = self.model(batch, training=True)
            loss = self.model.compute_loss_value(outputs, batch)
            total = loss * share + self._regularization()
            if scale is not None:
                total = total * scale
        grads = tape.gradient(total, self.train_vars)
        grads = [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g) for g, v in zip(grads, self.train_vars)]
        if scale is not None:
            inverse = 1.0 / scale  # exact for power-of-two scales
            grads = [g * inverse for g in grads]
        return loss, grads, self.model.objects_in_batch(batch)

    def _regularization(self):
        reg = self.params["regularizer"]
        if reg is None:
            return 0.0
        return opt_lib.l2_loss(self.l2_vars, self.params["regularizer_params"]["scale"], include_regex=None)

    def _loss_weight(self, batch) -> tf.Tensor:
        """``model.loss_weight(batch)``; for a plain Keras model, the batch's examples."""
        if hasattr(self.model, "loss_weight"):
            return tf.cast(self.model.loss_weight(batch), tf.float32)
        return tf.cast(tf.shape(tf.nest.flatten(batch)[0])[0], tf.float32)

    def _replica_step(self, batches):
        """``iter_size`` passes on this replica's batches; gradients averaged over passes and replicas.

        Each batch's loss is a mean over its own examples or tokens (``model.loss_weight``), so
        the batches of a step are weighed by their share of all of them: N replicas on batches
        of b examples (or tokens) then make exactly the update of one replica on the N * b,
        also when batches differ in size (a token-averaged translation loss, a last batch).
        """
        k, replicas = len(batches), self.runtime.num_replicas
        weights = [self._loss_weight(b) for b in batches]
        total_weight = self.runtime.reduce_sum(tf.add_n(weights))
        loss_sum, objects, accum = 0.0, 0.0, None
        for batch, weight in zip(batches, weights):  # unrolled: iter_size is a small constant
            share = weight * float(k * replicas) / total_weight  # 1 when every batch weighs the same
            loss, grads, n = self._loss_and_grads(batch, share)
            accum = grads if accum is None else [a + g for a, g in zip(accum, grads)]
            loss_sum, objects = loss_sum + loss * share, objects + n
        grads = [g / k for g in accum] if k > 1 else accum
        loss, objects = self.runtime.reduce_scalars(loss_sum / k, objects)
        return loss, self.runtime.reduce_gradients(grads), objects

    def _train_step(self, iterator):
        """One optimizer update (skipped when the gradients are not finite)."""
        batches = [next(iterator) for _ in range(self.params["iter_size"])]
        loss, grads, objects = self.runtime.run_on_replicas(self._replica_step, batches)
        lr = self.schedule(self.optimizer.iterations)
        amax = tf.reduce_max(tf.stack([tf.reduce_max(tf.abs(g)) for g in grads])) if self.loss_scaler else None
        grads, norm = opt_lib.clip_by_global_norm(grads, self.params["max_grad_norm"])
        # The all-reduced gradients are the same on every replica, so is this decision.
        finite = tf.math.is_finite(loss) & tf.math.is_finite(norm)
        if self.params["larc_params"] is not None:
            pairs = opt_lib.apply_larc(list(zip(grads, self.train_vars)), lr, **self.params["larc_params"])
            grads = [g for g, _ in pairs]
            # LARC divides by norms and by the learning rate: check what is applied, not only
            # its input (a finite norm before LARC does not make the update finite).
            finite = finite & tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads])
        if finite:
            self.optimizer.apply(grads, self.train_vars)
        out = {"loss": loss, "grad_norm": norm, "finite": finite, "objects": objects, "lr": lr}
        if self.loss_scaler is not None:
            self.loss_scaler.update(finite, amax)
            out["loss_scale"] = self.loss_scaler.scale.read_value()
            out["skipped_steps"] = self.loss_scaler.skipped_steps.read_value()
        return out

    def compiled_step(self) -> Callable:
        if self._step_fn is None:
            self._step_fn = tf.function(self._train_step, jit_compile=self.params["use_xla_jit"] or None)
        return self._step_fn

    # ------------------------------------------------------------------ checkpoints

    def restore_latest(self) -> str | None:
        path = self.manager.latest_checkpoint
        if path:
            ckpt_lib.restore(self.checkpoint, path)
            log.info("restored %s (step %d)", path, self.step)
        return path

    def save(self) -> str | None:
        if not self.runtime.is_chief:
            return None
        return self.manager.save(checkpoint_number=self.step)

    # ------------------------------------------------------------------ signals

    def _on_signal(self, signum, _frame):
        self._signal = signum
        log.warning("signal %d: saving a checkpoint after the current step", signum)

    def _install_signals(self):
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        for s in previous:
            signal.signal(s, self._on_signal)
        return previous

    # ------------------------------------------------------------------ the loop

    def fit(
        self,
        dataset: tf.data.Dataset,
        on_step: Callable[[int], None] | None = None,
        writer: tf.summary.SummaryWriter | None = None,
        sample_fn: Callable | None = None,
    ) -> None:
        """Trains until ``total_steps``; ``on_step(step)`` runs eval/checkpoint hooks."""
        step_fn = self.compiled_step()
        iterator = iter(dataset)
        previous = self._install_signals()
        bar = tqdm(
            total=self.total_steps,
            initial=self.step,
            desc="train",
            unit="step",
            dynamic_ncols=True,
            mininterval=1.0,
            disable=not self.runtime.is_chief,
        )
        self._rate_mark = (time.time(), self.step)
        try:
            while self.step < self.total_steps:
                out = step_fn(iterator)
                if bool(out["finite"]):
                    self._consecutive_skips = 0
                    bar.update(1)
                    bar.set_postfix(self._postfix(out), refresh=False)
                    self._after_step(out, iterator, writer, sample_fn, on_step)
                else:
                    self._on_nonfinite(out)
                if self._signal is not None:
                    raise Interrupted(self._signal, self.save())
        finally:
            bar.close()
            for s, handler in previous.items():
                signal.signal(s, handler)

    def _after_step(self, out, iterator, writer, sample_fn, on_step) -> None:
        """Summaries, console log, sample predictions, checkpoints and hooks after an update."""
        step, p = self.step, self.params
        if writer is not None and _every(step, p["save_summaries_steps"]):
            now = time.time()
            t_last, s_last = self._rate_mark
            self._rate_mark = (now, step)
            self._write_scalars(writer, step, out, (step - s_last) / max(now - t_last, 1e-9))
        if _every(step, p["print_loss_steps"]):
            scale = f", loss scale {float(out['loss_scale']):g}" if "loss_scale" in out else ""
            log.info(
                "step %d: loss %.4f, lr %.3g, grad norm %.3g%s",
                step,
                float(out["loss"]),
                float(out["lr"]),
                float(out["grad_norm"]),
                scale,
            )
        if sample_fn is not None and _every(step, p["print_samples_steps"]):
            sample_fn(iterator, step)
        if _every(step, p["save_checkpoint_steps"]):
            self.save()
        if on_step is not None:
            on_step(step)

    def _on_nonfinite(self, out) -> None:
        """A skipped step: fine under loss scaling (overflow, the scale drops), fatal otherwise."""
        loss, norm = float(out["loss"]), float(out["grad_norm"])
        where = (
            f"at step {self.step + 1}; weights were not updated and the last good checkpoint "
            f"{self.manager.latest_checkpoint} is intact"
        )
        if self.loss_scaler is None or not math.isfinite(loss):
            after_larc = " but the gradients after LARC are not" if math.isfinite(loss) and math.isfinite(norm) else ""
            raise TrainingDiverged(f"loss is {loss} (gradient norm {norm}){after_larc} {where}")
        self._consecutive_skips += 1
        log.debug("gradient overflow %s; loss scale now %g", where, float(out["loss_scale"]))
        if self._consecutive_skips > MAX_CONSECUTIVE_SKIPS:
            raise TrainingDiverged(
                f"{self._consecutive_skips} consecutive steps had non-finite gradients (loss scale "
                f"{float(out['loss_scale']):g}) {where}"
            )

    @staticmethod
    def _postfix(out) -> dict[str, str]:
        postfix = {"loss": f"{float(out['loss']):.3f}", "lr": f"{float(out['lr']):.2e}"}
        if "loss_scale" in out:
            postfix["scale"] = f"{float(out['loss_scale']):g}"
            postfix["skipped"] = str(int(out["skipped_steps"]))
        return postfix

    def _write_scalars(self, writer, step, out, steps_per_sec):
        with writer.as_default(step=step):
            tf.summary.scalar("loss", out["loss"])
            tf.summary.scalar("learning_rate", out["lr"])
            tf.summary.scalar("global_gradient_norm", out["grad_norm"])
            tf.summary.scalar("steps_per_sec", steps_per_sec)
            if "loss_scale" in out:
                tf.summary.scalar("loss_scale", out["loss_scale"])
                tf.summary.scalar("skipped_steps", out["skipped_steps"])
            summaries = self.params["summaries"]
            for v in self.train_vars if ("variable_norm" in summaries or "variables" in summaries) else ():
                if "variable_norm" in summaries:
                    tf.summary.scalar(f"variable_norm/{v.path}", tf.norm(v))
                if "variables" in summaries:
                    tf.summary.histogram(f"variables/{v.path}", v)


def _every(step: int, n: int | None) -> bool:
    return bool(n) and step % n == 0


def steps_for_epochs(num_epochs: float, num_samples: int, global_batch: int, iter_size: int) -> int:
    return max(1, math.ceil(num_epochs * num_samples / (global_batch * iter_size)))


def steps_per_epoch(num_samples: int, global_batch: int, iter_size: int) -> float:
    """Optimizer updates per pass over the training set (fractional: the stream repeats)."""
    return num_samples / (global_batch * iter_size)
