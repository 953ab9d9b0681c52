"""Evaluation during training and what it reports: metrics, best checkpoints, samples, TensorBoard."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

import tensorflow as tf

from open_s2s.io_utils import write_json
from open_s2s.training import checkpoints as ckpt_lib
from open_s2s.training import evaluation

log = logging.getLogger("open_s2s")


class EvalHook:
    """Evaluates every ``eval_steps``; logs metrics and keeps the best checkpoints."""

    def __init__(self, model, eval_dl, params, logdir, trainer, runtime):
        self.model, self.eval_dl, self.every = model, eval_dl, params["eval_steps"]
        context = runtime.input_context()
        self.dataset = eval_dl.build_dataset(context)
        # examples this process evaluates (the progress bar's total), as Dataset.shard keeps them
        self.total = eval_dl.num_samples
        if context is not None and context.num_input_pipelines > 1:
            self.total = len(range(context.input_pipeline_id, eval_dl.num_samples, context.num_input_pipelines))
        self.writer = tf.summary.create_file_writer(os.path.join(logdir, "eval")) if runtime.is_chief else None
        metric, lower = model.PRIMARY_METRIC
        self.best = ckpt_lib.BestKeeper(trainer.checkpoint, logdir, metric, lower, params["num_checkpoints"])
        self.eval_fn = evaluation.make_eval_fn(model, self.dataset.element_spec)
        self.last_step = -1
        self.history_path = os.path.join(logdir, "eval_history.json")
        self.is_chief, self.gather = runtime.is_chief, runtime.gather

    def __call__(self, step: int) -> None:
        if self.every and step % self.every == 0:
            self.run(step)

    def run(self, step: int) -> dict[str, float]:
        metrics, records = evaluation.evaluate(
            self.model,
            self.dataset,
            total=self.total,
            predict_fn=self.eval_fn,
            gather=self.gather,
            progress=self.is_chief,
        )
        self.last_step = step
        log.info("eval at step %d: %s", step, format_metrics(metrics))
        text = self.model.eval_text(records)
        if text:
            log.info("%s", text)
        if self.writer is not None:
            with self.writer.as_default(step=step):
                for name, value in metrics.items():
                    tf.summary.scalar(name, value)
                write_reports(text, self.model.eval_images(records), self.model.eval_audio(records))
        if not self.is_chief:
            return metrics
        append_history(self.history_path, {"step": step, **metrics})
        if self.best.update(metrics, step):
            log.info("new best %s = %.3f, saved to %s", self.best.metric, self.best.best, self.best.dir)
        return metrics


def write_reports(text: str, images: Mapping[str, Any], audio: Mapping[str, Any] | None = None) -> None:
    """The model's optional eval reports, into the current default summary writer."""
    if text:
        tf.summary.text("eval_report", "    " + text.replace("\n", "\n    "))  # markdown code block
    for name, image in images.items():
        tf.summary.image(name, image[None])
    for name, (waveform, rate) in (audio or {}).items():
        tf.summary.audio(name, tf.constant(waveform, tf.float32)[None, :, None], rate)


def append_history(path: str, record: dict) -> None:
    history = []
    if os.path.exists(path):
        with open(path) as f:
            history = json.load(f)
    history = [h for h in history if h["step"] < record["step"]] + [record]
    write_json(path, history)


class SampleLogger:
    """Logs a few free-running predictions on a training batch (console and TensorBoard text)."""

    def __init__(self, model, writer, runtime):
        self.model, self.writer, self.runtime, self.fn = model, writer, runtime, None

    def __call__(self, iterator, step):
        batch = self.runtime.first_replica(next(iterator))
        if self.fn is None:
            # batch and time vary between calls; feature dims stay static (DeepSpeech2's conv2d needs them)
            spec = tf.nest.map_structure(
                lambda t: tf.TensorSpec(tf.TensorShape([None] * min(t.shape.rank, 2)) + t.shape[2:], t.dtype), batch
            )
            self.fn = evaluation.make_generate_fn(self.model, spec)
        generated = self.fn(batch)
        text = self.model.sample_text(evaluation.to_numpy(batch), evaluation.to_numpy(generated))
        if text:
            log.info("samples at step %d:\n%s", step, text)
            if self.writer is not None:
                with self.writer.as_default(step=step):
                    tf.summary.text("samples", text.replace("\n", "  \n"))


def format_metrics(metrics: Mapping[str, float]) -> str:
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items())
