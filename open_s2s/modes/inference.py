"""``--mode=eval`` and ``--mode=infer`` on a whole dataset (sharded over processes).

Both print the data they read (``DataLayer.describe``) and keep it, with the checkpoint, in
their metrics JSON. Infer runs only the free-running pass (``generate``), so its input needs
no references; when the input has them, infer writes each beside its prediction and prints
the metric.
"""

from __future__ import annotations

import os
from typing import Any

from open_s2s.config.params import ConfigError
from open_s2s.io_utils import metrics_path, write_json
from open_s2s.modes.reporting import format_metrics
from open_s2s.training import evaluation


def describe_data(data: dict[str, Any]) -> str:
    """``dataset_files ['a.csv'] (300 samples)``: one line for the console."""
    parts = [f"{k} {v}" for k, v in data.items() if k != "num_samples"]
    return f"{', '.join(parts)} ({data.get('num_samples', '?')} samples)"


def shard_size(num_samples: int, input_context) -> int:
    """Examples this process reads of ``num_samples`` (``Dataset.shard`` keeps every n-th)."""
    if input_context is None or input_context.num_input_pipelines <= 1:
        return num_samples
    return len(range(input_context.input_pipeline_id, num_samples, input_context.num_input_pipelines))


def run_eval(model, data_layer, logdir, runtime, checkpoint: str | None = None) -> int:
    data = data_layer.describe()
    if runtime.is_chief:
        print(f"eval data: {describe_data(data)}", flush=True)
    context = runtime.input_context()
    metrics, records = evaluation.evaluate(
        model,
        data_layer.build_dataset(context),
        total=shard_size(data_layer.num_samples, context),
        gather=runtime.gather,
        progress=runtime.is_chief,
    )
    print("eval: " + format_metrics(metrics), flush=True)
    text = model.eval_text(records)
    if text:
        print(text, flush=True)
    if runtime.is_chief and os.path.isdir(logdir):
        write_json(os.path.join(logdir, "eval_metrics.json"), {**metrics, "data": data, "checkpoint": checkpoint})
    return 0


def run_infer(model, data_layer, args, logdir, runtime, checkpoint: str | None = None) -> int:
    data = data_layer.describe()
    if runtime.is_chief:
        print(f"infer data: {describe_data(data)}", flush=True)
    if args.save_logits:
        if runtime.num_replicas > 1:
            raise ConfigError("--save_logits runs in one process: drop --use_horovod/--use_multi_worker/--num_gpus")
        from open_s2s.decoding.logits_io import save_infer_logits  # noqa: PLC0415

        # the predictions of a logits run go beside the logits, never over the logdir's infer output
        output = args.infer_output_file or os.path.splitext(args.save_logits)[0] + "_predictions.csv"
        rows = save_infer_logits(model, data_layer, args.save_logits, args.config_file, logdir)
    else:
        output = args.infer_output_file or os.path.join(logdir, model.INFER_FILE)
        context = runtime.input_context()
        rows = evaluation.infer(
            model,
            data_layer.build_dataset(context),
            total=shard_size(data_layer.num_samples, context),
            gather=runtime.gather,
            progress=runtime.is_chief,
        )
    if not runtime.is_chief:
        return 0
    names = data_layer.sample_names
    if len(rows) != len(names):
        raise RuntimeError(f"infer produced {len(rows)} rows for {len(names)} inputs")
    references = [data_layer.reference(i) for i in range(len(names))]
    extra = {"references": references} if any(r is not None for r in references) else {}
    print(model.write_inference(output, names, rows, **extra), flush=True)
    metrics = model.score_inference(data_layer, rows) if extra else {}
    if metrics:
        print("infer: " + format_metrics(metrics), flush=True)
        write_json(metrics_path(output), {**metrics, "data": data, "checkpoint": checkpoint, "output": output})
    return 0
