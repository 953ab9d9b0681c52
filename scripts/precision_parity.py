"""Precision parity: train one config in float32, mixed (float16 + loss scaling) and
mixed_bf16 for the same steps from the same seed, and compare loss and WER.

    python scripts/precision_parity.py                       # jasper_tiny, 1500 steps each
    python scripts/precision_parity.py --max_steps=3000 --dtypes=float32,mixed

For each dtype it runs ``scripts/convergence.py`` (train_eval, then infer on the test split)
in ``<logdir>/<dtype>``, reads the training loss from the TensorBoard events (mean of the
last ``--tail`` logged steps), the dev loss/WER of the last eval and the test WER, and
writes ``<logdir>/parity.json`` with the ratios to float32. The acceptance check of the
mixed-precision issue: every dtype within 10% of float32's training loss and 2 WER points.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def train_losses(logdir: str) -> list[tuple[int, float]]:
    """(step, loss) scalars of the training run's TensorBoard events."""
    import tensorflow as tf

    out = []
    for path in sorted(glob.glob(os.path.join(logdir, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag == "loss":
                    out.append((event.step, float(tf.make_ndarray(value.tensor))))
    return sorted(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config_file", default="example_configs/speech2text/jasper_tiny.py")
    parser.add_argument("--logdir", default="logs/precision_parity")
    parser.add_argument("--dtypes", default="float32,mixed,mixed_bf16")
    parser.add_argument("--max_steps", type=int, default=1500)
    parser.add_argument("--skip_existing", action="store_true", help="reuse finished runs in the logdir")
    parser.add_argument("--tail", type=int, default=20, help="logged loss points averaged (every 10 steps)")
    args, overrides = parser.parse_known_args()
    results = {}
    for dtype in args.dtypes.split(","):
        logdir = os.path.join(args.logdir, dtype)
        cmd = [
            sys.executable,
            "scripts/convergence.py",
            f"--config_file={args.config_file}",
            f"--logdir={logdir}",
            f"--dtype={dtype}",
            f"--max_steps={args.max_steps}",
            f"--eval_steps={args.max_steps}",
            "--save_summaries_steps=10",
            *overrides,
        ]
        done = os.path.join(ROOT, logdir, "test_predictions_metrics.json")  # convergence.py's infer metrics
        if not (args.skip_existing and os.path.exists(done)):
            print("+", " ".join(cmd), flush=True)
            subprocess.run(cmd, check=True, cwd=ROOT)
        with open(os.path.join(ROOT, logdir, "eval_history.json")) as f:
            last_eval = json.load(f)[-1]
        with open(done) as f:
            test = json.load(f)
        losses = train_losses(os.path.join(ROOT, logdir))
        results[dtype] = {
            "steps": losses[-1][0],
            "train_loss_tail_mean": float(np.mean([v for _, v in losses[-args.tail :]])),
            "dev_loss": last_eval["loss"],
            "dev_WER": last_eval["WER"],
            "test_WER": test["WER"],
        }
    if "float32" in results:
        ref = results["float32"]
        for r in results.values():
            r["train_loss_ratio"] = r["train_loss_tail_mean"] / ref["train_loss_tail_mean"]
            r["test_WER_diff"] = r["test_WER"] - ref["test_WER"]
            r["within_target"] = abs(r["train_loss_ratio"] - 1) <= 0.10 and abs(r["test_WER_diff"]) <= 2.0
    record = {"config_file": args.config_file, "max_steps": args.max_steps, "overrides": overrides, "results": results}
    with open(os.path.join(ROOT, args.logdir, "parity.json"), "w") as f:
        json.dump(record, f, indent=2)
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
