"""Translation convergence run: train transformer_tiny.py on data/synth_nmt, report BLEU and time.

    python -m open_s2s.data.synth_translation --out data/synth_nmt     # once
    python scripts/convergence_nmt.py --logdir=logs/convergence_transformer_tiny [--dtype=mixed_bf16 ...]

Trains with train_eval (beam-search BLEU on dev at every eval), then runs --mode=infer on the
held-out test split with beam search (the config's beam) and with greedy search
(``beam_size: 1``), and once more on dev to check that infer reproduces the last eval's BLEU.
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


def infer_bleu(config_file: str, logdir: str, output: str, overrides: list[str]) -> float:
    base = [sys.executable, "run.py", f"--config_file={config_file}", f"--logdir={logdir}", *overrides]
    run(base + ["--mode=infer", f"--infer_output_file={output}"])
    with open(os.path.join(logdir, "infer_metrics.json")) as f:
        return json.load(f)["BLEU"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config_file", default="example_configs/text2text/transformer_tiny.py")
    parser.add_argument("--logdir", default="logs/convergence_transformer_tiny")
    parser.add_argument("--launcher", default="", help='Training launcher, e.g. "horovodrun -np 2 -H localhost:2".')
    args, overrides = parser.parse_known_args()
    train_minutes, _ = train_and_infer(args.config_file, args.logdir, overrides, args.launcher)
    with open(os.path.join(args.logdir, "infer_metrics.json")) as f:
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
