"""What each ``--mode`` does: train, eval, train_eval, infer, export (and --benchmark)."""

from __future__ import annotations

import json
import logging
import os
import resource
import time
from collections.abc import Mapping
from typing import Any

import tensorflow as tf

from open_s2s.config.loader import dump_config
from open_s2s.config.params import ConfigError
from open_s2s.io_utils import write_json
from open_s2s.training import checkpoints as ckpt_lib
from open_s2s.training import evaluation
from open_s2s.training.runtime import make_runtime
from open_s2s.training.trainer import Interrupted, Trainer, TrainingDiverged, steps_for_epochs, steps_per_epoch

log = logging.getLogger("open_s2s")
EXIT_DATA_ERROR, EXIT_DIVERGED, EXIT_INTERRUPTED = 3, 4, 130


def dispatch(args, logdir: str, model_cls, resolved: Mapping[str, tuple[Any, dict]]) -> int:
    if args.mode in ("train", "train_eval"):
        return train(args, logdir, model_cls, resolved)
    params = resolved[args.mode][1]
    runtime = make_runtime(params)
    if args.mode == "export":
        return export(args, logdir, model_cls, params)
    checkpoint = checkpoint_for_inference(args, logdir)  # fail fast, before reading the data
    data_layer = make_data_layer(params, "eval" if args.mode == "eval" else "infer")
    model = build_model(model_cls, params, data_layer.spec)
    restore_for_inference(model, checkpoint)
    if args.mode == "eval":
        model.check_data(data_layer)
        return run_eval(model, data_layer, logdir, runtime)
    return run_infer(model, data_layer, args, logdir, runtime)


# ---------------------------------------------------------------------------- building


def make_data_layer(params: Mapping[str, Any], mode: str):
    return params["data_layer"](
        params["data_layer_params"], mode, params["batch_size_per_gpu"], seed=params["random_seed"]
    )


def build_model(model_cls, params, data_spec):
    model = model_cls(params, data_spec)
    model(model.dummy_batch(), training=False)  # creates the variables
    return model


def checkpoint_for_inference(args, logdir: str) -> str:
    if args.checkpoint:
        path = ckpt_lib.latest(args.checkpoint)
        if path is None:
            raise ConfigError(f"--checkpoint={args.checkpoint}: no checkpoint there")
        return path
    return ckpt_lib.find_checkpoint(logdir)


def restore_for_inference(model, path: str) -> str:
    ckpt_lib.restore(ckpt_lib.make_checkpoint(model, None), path, model_only=True)
    log.info("restored %s", path)
    return path


def check_logdir(logdir: str, continue_learning: bool, benchmark: bool) -> None:
    """OpenSeq2Seq's rule: never train into a run dir that holds a run, unless resuming."""
    if benchmark or continue_learning or not os.path.isdir(logdir):
        return
    existing = [f for f in os.listdir(logdir) if f not in ("logs",)]
    if existing:
        raise ConfigError(
            f"logdir {logdir} is not empty ({', '.join(sorted(existing)[:4])}...): pass --continue_learning "
            f"to resume, or choose another --logdir"
        )


# ---------------------------------------------------------------------------- train


def train(args, logdir, model_cls, resolved) -> int:
    params = resolved["train"][1]
    if args.benchmark:
        logdir = os.path.join(logdir, "benchmark")
    runtime = make_runtime(params)
    if runtime.is_chief:  # only the chief reads and writes the logdir
        check_logdir(logdir, args.continue_learning, args.benchmark)
    train_dl = make_data_layer(params, "train")
    eval_dl = make_data_layer(resolved["eval"][1], "eval") if "eval" in resolved else None
    with runtime.strategy.scope():
        model = build_model(model_cls, params, train_dl.spec)
    for data_layer in (train_dl, eval_dl):
        if data_layer is not None:
            model.check_data(data_layer)
    total, per_epoch = schedule_lengths(params, train_dl.num_samples, runtime.num_replicas)
    if args.benchmark:
        total = args.bench_warmup + args.bench_steps
    if runtime.is_chief:
        os.makedirs(logdir, exist_ok=True)
        dump_config(os.path.join(logdir, "config.json"), args.config_file, args.mode, model_cls, params)
    trainer = Trainer(model, params, runtime, logdir, total, steps_per_epoch=per_epoch)
    if args.continue_learning:
        if not trainer.restore_latest():
            log.warning("--continue_learning: no checkpoint in %s, starting from scratch", logdir)
    elif params["load_model"]:
        ckpt_lib.warm_start(model, params["load_model"])
    runtime.broadcast_variables(trainer.state_variables())
    dataset = runtime.distribute_dataset(train_dl.build_dataset)
    if args.benchmark:
        return benchmark(trainer, dataset, params, runtime, logdir, args)
    return fit(trainer, model, dataset, eval_dl, params, runtime, logdir)


def total_steps(params, num_samples: int, num_replicas: int) -> int:
    return schedule_lengths(params, num_samples, num_replicas)[0]


def schedule_lengths(params, num_samples: int, num_replicas: int) -> tuple[int, float | None]:
    """(training steps, steps per epoch): the latter only with ``num_epochs``, as in OpenSeq2Seq,
    where LR-policy boundaries are epochs when the config counts in epochs and steps otherwise."""
    if params["max_steps"] is not None:
        return params["max_steps"], None
    global_batch = params["batch_size_per_gpu"] * num_replicas
    per_epoch = steps_per_epoch(num_samples, global_batch, params["iter_size"])
    return steps_for_epochs(params["num_epochs"], num_samples, global_batch, params["iter_size"]), per_epoch


def fit(trainer, model, dataset, eval_dl, params, runtime, logdir) -> int:
    writer = tf.summary.create_file_writer(logdir) if runtime.is_chief else None
    eval_hook = EvalHook(model, eval_dl, params, logdir, trainer, runtime) if eval_dl is not None else None
    log.info(
        "training %s for %d steps (from step %d), logdir %s",
        type(model).__name__,
        trainer.total_steps,
        trainer.step,
        logdir,
    )
    start = time.time()
    try:
        trainer.fit(dataset, on_step=eval_hook, writer=writer, sample_fn=SampleLogger(model, writer, runtime))
    except TrainingDiverged as e:
        log.error("training diverged: %s", e)
        return EXIT_DIVERGED
    except Interrupted as e:
        log.warning("%s; resume with --continue_learning", e)
        return EXIT_INTERRUPTED
    except tf.errors.OpError as e:
        # e.g. an audio file deleted or corrupted after the load-time checks: the failed
        # step did not update the weights, so save them and stop with a readable message.
        path = trainer.save()
        log.error(
            "input or runtime error at step %d: %s; checkpoint saved at %s; fix the data and "
            "resume with --continue_learning",
            trainer.step + 1,
            e.message.splitlines()[0],
            path,
        )
        return EXIT_DATA_ERROR
    path = trainer.save()
    log.info("finished %d steps in %.1f min; checkpoint %s", trainer.step, (time.time() - start) / 60, path)
    if eval_hook is not None and eval_hook.last_step != trainer.step:
        eval_hook.run(trainer.step)
    return 0


class EvalHook:
    """Evaluates every ``eval_steps``; logs metrics and keeps the best checkpoints."""

    def __init__(self, model, eval_dl, params, logdir, trainer, runtime):
        self.model, self.eval_dl, self.every = model, eval_dl, params["eval_steps"]
        self.dataset = eval_dl.build_dataset(runtime.input_context())
        self.writer = tf.summary.create_file_writer(os.path.join(logdir, "eval")) if runtime.is_chief else None
        metric, lower = model.PRIMARY_METRIC
        self.best = ckpt_lib.BestKeeper(trainer.checkpoint, logdir, metric, lower, params["num_checkpoints"])
        self.predict_fn = evaluation.make_predict_fn(model, self.dataset.element_spec)
        self.last_step = -1
        self.history_path = os.path.join(logdir, "eval_history.json")
        self.is_chief, self.gather = runtime.is_chief, runtime.gather

    def __call__(self, step: int) -> None:
        if self.every and step % self.every == 0:
            self.run(step)

    def run(self, step: int) -> dict[str, float]:
        metrics, records = evaluation.evaluate(
            self.model, self.dataset, predict_fn=self.predict_fn, gather=self.gather, progress=self.is_chief
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
                write_reports(text, self.model.eval_images(records))
        if not self.is_chief:
            return metrics
        append_history(self.history_path, {"step": step, **metrics})
        if self.best.update(metrics, step):
            log.info("new best %s = %.3f, saved to %s", self.best.metric, self.best.best, self.best.dir)
        return metrics


def write_reports(text: str, images: Mapping[str, Any]) -> None:
    """The model's optional eval reports, into the current default summary writer."""
    if text:
        tf.summary.text("eval_report", "    " + text.replace("\n", "\n    "))  # markdown code block
    for name, image in images.items():
        tf.summary.image(name, image[None])


def append_history(path: str, record: dict) -> None:
    history = []
    if os.path.exists(path):
        with open(path) as f:
            history = json.load(f)
    history = [h for h in history if h["step"] < record["step"]] + [record]
    write_json(path, history)


class SampleLogger:
    """Logs a few predictions on a training batch (console and TensorBoard text)."""

    def __init__(self, model, writer, runtime):
        self.model, self.writer, self.runtime, self.fn = model, writer, runtime, None

    def __call__(self, iterator, step):
        batch = self.runtime.first_replica(next(iterator))
        if self.fn is None:
            # batch and time vary between calls; feature dims stay static (DeepSpeech2's conv2d needs them)
            spec = tf.nest.map_structure(
                lambda t: tf.TensorSpec(tf.TensorShape([None] * min(t.shape.rank, 2)) + t.shape[2:], t.dtype), batch
            )
            self.fn = evaluation.make_predict_fn(self.model, spec)
        _, decoded = self.fn(batch)
        text = self.model.sample_text(evaluation.to_numpy(batch), evaluation.to_numpy(decoded))
        if text:
            log.info("samples at step %d:\n%s", step, text)
            if self.writer is not None:
                with self.writer.as_default(step=step):
                    tf.summary.text("samples", text.replace("\n", "  \n"))


def format_metrics(metrics: Mapping[str, float]) -> str:
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items())


# ---------------------------------------------------------------------------- benchmark


def benchmark(trainer, dataset, params, runtime, logdir, args) -> int:
    """Times ``bench_steps`` steps after ``bench_warmup``; writes benchmark.json."""
    step_fn, iterator = trainer.compiled_step(), iter(dataset)
    for _ in range(args.bench_warmup):
        float(step_fn(iterator)["loss"])
    objects, start = 0.0, time.perf_counter()
    for _ in range(args.bench_steps):
        out = step_fn(iterator)
        objects += float(out["objects"])
    elapsed = time.perf_counter() - start
    record = {
        "config_file": args.config_file,
        "steps_per_sec": args.bench_steps / elapsed,
        "objects_per_sec": objects / elapsed,
        "objects": trainer.model.OBJECTS_UNIT,
        "dtype": runtime.dtype,
        "num_replicas": runtime.num_replicas,
        "batch_size_per_gpu": params["batch_size_per_gpu"],
        "iter_size": params["iter_size"],
        "bench_steps": args.bench_steps,
        "warmup_steps": args.bench_warmup,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "allreduce_ms_per_step": _allreduce_ms(trainer, runtime),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "cpu_count": os.cpu_count(),
    }
    if runtime.is_chief:
        write_json(os.path.join(logdir, "benchmark.json"), record)
    log.info("benchmark: %s", format_metrics({k: v for k, v in record.items() if isinstance(v, (int, float))}))
    return 0


def _allreduce_ms(trainer, runtime) -> float | None:
    seconds = runtime.allreduce_seconds([v.shape for v in trainer.train_vars])
    return None if seconds is None else seconds * 1000


# ---------------------------------------------------------------------------- eval / infer / export


def run_eval(model, data_layer, logdir, runtime) -> int:
    metrics, records = evaluation.evaluate(
        model, data_layer.build_dataset(runtime.input_context()), gather=runtime.gather, progress=runtime.is_chief
    )
    print("eval: " + format_metrics(metrics), flush=True)
    text = model.eval_text(records)
    if text:
        print(text, flush=True)
    if runtime.is_chief and os.path.isdir(logdir):
        write_json(os.path.join(logdir, "eval_metrics.json"), metrics)
    return 0


def run_infer(model, data_layer, args, logdir, runtime) -> int:
    output = args.infer_output_file or os.path.join(logdir, "infer.csv")
    if args.save_logits:
        if runtime.num_replicas > 1:
            raise ConfigError("--save_logits runs in one process: drop --use_horovod/--num_gpus")
        rows = save_infer_logits(model, data_layer, args.save_logits)
    else:
        rows = evaluation.infer(
            model, data_layer.build_dataset(runtime.input_context()), gather=runtime.gather, progress=runtime.is_chief
        )
    if not runtime.is_chief:
        return 0
    names = data_layer.sample_names
    if len(rows) != len(names):
        raise RuntimeError(f"infer produced {len(rows)} rows for {len(names)} inputs")
    evaluation.write_infer_csv(output, model.infer_header, names, rows)
    print(f"wrote {len(rows)} predictions to {output}", flush=True)
    metrics = model.score_inference(data_layer, rows)
    if metrics:
        print("infer: " + format_metrics(metrics), flush=True)
        if os.path.isdir(logdir):
            write_json(os.path.join(logdir, "infer_metrics.json"), metrics)
    return 0


def save_infer_logits(model, data_layer, path: str) -> list:
    """Infer rows, and each utterance's CTC log-probs saved to ``path`` (for scripts/tune_lm.py)."""
    from open_s2s.decoding.logits_io import SavedLogits, infer_with_logits, save_logits  # noqa: PLC0415

    rows, log_probs = infer_with_logits(model, data_layer.build_dataset())
    indices = sorted(log_probs)
    references = [data_layer.transcript(i) for i in indices]
    vocab = model.data_spec.vocab
    save_logits(path, SavedLogits([log_probs[i] for i in indices], data_layer.sample_names, references, vocab))
    print(f"wrote CTC log-probs of {len(indices)} utterances to {path}", flush=True)
    return rows


def export(args, logdir, model_cls, params) -> int:
    from open_s2s.export import export_saved_model  # noqa: PLC0415

    checkpoint = checkpoint_for_inference(args, logdir)
    data_spec, feature_params = params["data_layer"].spec_from_params(params["data_layer_params"])
    model = build_model(model_cls, params, data_spec)
    restore_for_inference(model, checkpoint)
    export_dir = args.export_dir or os.path.join(logdir, "export")
    export_saved_model(model, feature_params, export_dir)
    print(f"exported SavedModel to {export_dir}", flush=True)
    if args.export_tflite:
        from open_s2s.export.tflite import export_tflite, float32_model  # noqa: PLC0415

        model32 = float32_model(lambda: build_model(model_cls, params, data_spec), model)
        export_tflite(model32, feature_params, args.export_tflite)
        print(f"exported TFLite model (built-in ops) to {args.export_tflite}", flush=True)
    return 0
