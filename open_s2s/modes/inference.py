"""``--mode=eval`` and ``--mode=infer`` on a whole dataset (sharded over processes)."""

from __future__ import annotations

import os

from open_s2s.config.params import ConfigError
from open_s2s.io_utils import write_json
from open_s2s.modes.reporting import format_metrics
from open_s2s.training import evaluation


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
    output = args.infer_output_file or os.path.join(logdir, model.INFER_FILE)
    if args.save_logits:
        if runtime.num_replicas > 1:
            raise ConfigError("--save_logits runs in one process: drop --use_horovod/--num_gpus")
        from open_s2s.decoding.logits_io import save_infer_logits  # noqa: PLC0415

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
    print(model.write_inference(output, names, rows), flush=True)
    metrics = model.score_inference(data_layer, rows)
    if metrics:
        print("infer: " + format_metrics(metrics), flush=True)
        if os.path.isdir(logdir):
            write_json(os.path.join(logdir, "infer_metrics.json"), metrics)
    return 0
