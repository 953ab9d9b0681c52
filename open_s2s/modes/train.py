"""``--mode=train`` and ``train_eval``: build, restore or warm-start, then run the trainer."""

from __future__ import annotations

import logging
import os
import time

import tensorflow as tf

from open_s2s.config.loader import dump_config
from open_s2s.modes.building import (
    EXIT_DATA_ERROR,
    EXIT_DIVERGED,
    EXIT_INTERRUPTED,
    EXIT_WORKER_LOST,
    build_model,
    check_logdir,
    make_data_layer,
    worker_lost_message,
)
from open_s2s.modes.reporting import EvalHook, SampleLogger
from open_s2s.training import checkpoints as ckpt_lib
from open_s2s.training.runtime import make_runtime
from open_s2s.training.trainer import Interrupted, Trainer, TrainingDiverged, steps_for_epochs, steps_per_epoch

log = logging.getLogger("open_s2s")


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
        from open_s2s.modes.benchmark import benchmark  # noqa: PLC0415

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
        if runtime.peer_failure(e):
            # the weights of this step were not updated anywhere: the chief keeps them
            saved = f"checkpoint saved at {trainer.save()}" if runtime.is_chief else "the chief keeps the checkpoints"
            log.error(
                "%s; %s; restart every worker with --continue_learning",
                worker_lost_message(e, f"training step {trainer.step + 1}"),
                saved,
            )
            return EXIT_WORKER_LOST
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
