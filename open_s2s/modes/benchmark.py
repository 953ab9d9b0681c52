"""``--benchmark``: times training steps and writes ``benchmark.json``."""

from __future__ import annotations

import logging
import os
import resource
import time

import tensorflow as tf

from open_s2s.io_utils import write_json
from open_s2s.modes.reporting import format_metrics

log = logging.getLogger("open_s2s")


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
