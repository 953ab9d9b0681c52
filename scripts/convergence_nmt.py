"""Translation convergence run: train transformer_tiny.py on data/synth_nmt, report BLEU and time.

    python -m open_s2s.data.synth_translation --out data/synth_nmt     # once
    python scripts/convergence_nmt.py --logdir=logs/convergence_transformer_tiny [--dtype=mixed_bf16 ...]

Trains with train_eval (beam-search BLEU on dev at every eval), then runs --mode=infer on the
held-out test split with beam search (the config's beam) and with greedy search
(``beam_size: 1``), once more on dev to check that infer reproduces the last eval's BLEU, at
batch sizes 1 and 8 to check that batching does not change a translation, and exports the
model to check that the SavedModel translates the raw test sentences as infer does.
Writes <logdir>/convergence.json: training minutes, test BLEU (beam, greedy), the last eval's
dev BLEU and teacher-forced accuracy/perplexity, and dev BLEU from infer. Extra --key=value
arguments are config overrides for every run (e.g. --dtype=mixed_bf16 --max_steps=1500).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from convergence import ROOT, run, train_and_infer  # noqa: E402

sys.path.insert(0, ROOT)
from open_s2s.io_utils import metrics_path  # noqa: E402


def infer_bleu(config_file: str, logdir: str, output: str, overrides: list[str]) -> float:
    base = [sys.executable, "run.py", f"--config_file={config_file}", f"--logdir={logdir}", *overrides]
    run(base + ["--mode=infer", f"--infer_output_file={output}"])
    with open(metrics_path(output)) as f:
        return json.load(f)["BLEU"]


def infer_lines(config_file: str, logdir: str, name: str, overrides: list[str]) -> list[str]:
    path = os.path.join(logdir, name)
    infer_bleu(config_file, logdir, path, overrides)
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


def saved_model_translations(config_file: str, logdir: str, overrides: list[str]) -> list[str]:
    """Exports the model and translates the raw test source lines with the SavedModel."""
    export_dir = os.path.join(logdir, "export")
    base = [sys.executable, "run.py", f"--config_file={config_file}", f"--logdir={logdir}", *overrides]
    run(base + ["--mode=export", f"--export_dir={export_dir}"])
    import tensorflow as tf  # noqa: PLC0415
    import tensorflow_text  # noqa: F401, PLC0415  (the SentencePiece ops)

    from open_s2s.config.loader import resolve_config  # noqa: PLC0415

    _, params = resolve_config(config_file, "infer", overrides)
    with open(params["data_layer_params"]["source_file"], encoding="utf-8") as f:
        sources = f.read().splitlines()
    serve = tf.saved_model.load(export_dir).signatures["serving_default"]
    out = []
    for i in range(0, len(sources), 8):
        result = serve(text=tf.constant(sources[i : i + 8]))
        out += [t.decode("utf-8") for t in result["translation"].numpy()]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config_file", default="example_configs/text2text/transformer_tiny.py")
    parser.add_argument("--logdir", default="logs/convergence_transformer_tiny")
    parser.add_argument("--launcher", default="", help='Training launcher, e.g. "horovodrun -np 2 -H localhost:2".')
    args, overrides = parser.parse_known_args()
    train_minutes, _ = train_and_infer(args.config_file, args.logdir, overrides, args.launcher)
    with open(os.path.join(args.logdir, "test_predictions_metrics.json")) as f:
        beam = json.load(f)["BLEU"]
    with open(os.path.join(args.logdir, "eval_history.json")) as f:
        history = json.load(f)
    single = [o for o in overrides if not o.startswith("--use_horovod")]
    greedy = infer_bleu(
        args.config_file,
        args.logdir,
        os.path.join(args.logdir, "test_greedy.txt"),
        single + ["--decoder_params/beam_size=1"],
    )
    dev = [
        "--data_layer_params/source_file=data/synth_nmt/dev.en",
        "--data_layer_params/target_file=data/synth_nmt/dev.es",
    ]
    dev_infer = infer_bleu(args.config_file, args.logdir, os.path.join(args.logdir, "dev_beam.txt"), single + dev)
    batch_one = infer_lines(args.config_file, args.logdir, "test_b1.txt", single + ["--batch_size_per_gpu=1"])
    batch_eight = infer_lines(args.config_file, args.logdir, "test_b8.txt", single + ["--batch_size_per_gpu=8"])
    exported = saved_model_translations(args.config_file, args.logdir, single)
    last = history[-1]
    record = {
        "config_file": args.config_file,
        "overrides": overrides,
        "launcher": args.launcher,
        "train_eval_minutes": round(train_minutes, 2),
        "test_BLEU_beam": beam,
        "test_BLEU_greedy": greedy,
        "dev_BLEU_last_eval": last["BLEU"],
        "dev_BLEU_infer": dev_infer,
        "test_identical_at_batch_1_and_8": batch_one == batch_eight,
        "test_lines_differing_at_batch_1_and_8": sum(a != b for a, b in zip(batch_one, batch_eight)),
        "saved_model_equals_infer": exported == batch_eight,
        "saved_model_lines_differing": sum(a != b for a, b in zip(exported, batch_eight)),
        "dev_teacher_forced_accuracy": last.get("teacher_forced_accuracy"),
        "dev_teacher_forced_perplexity": last.get("teacher_forced_perplexity"),
        "dev_history": history,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
    }
    with open(os.path.join(args.logdir, "convergence.json"), "w") as f:
        json.dump(record, f, indent=2)
    print(json.dumps({k: v for k, v in record.items() if k != "dev_history"}, indent=2))
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
