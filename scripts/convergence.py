"""Convergence run: train a config with train_eval, infer on its test split, report WER and time.

    python scripts/convergence.py --config_file=example_configs/jasper.py --logdir=logs/convergence_jasper

Writes <logdir>/convergence.json with the wall-clock training time, the dev WER of the
last eval, and the test WER/CER of greedy decoding. Extra --key=value arguments are passed
to run.py as config overrides (e.g. --dtype=float32 --max_steps=4000).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd: list[str]) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)


def train_and_infer(config_file: str, logdir: str, overrides: list[str], launcher: str = "") -> tuple[float, str]:
    """Fresh train_eval run in ``logdir``, then infer on the test split.

    ``launcher`` (e.g. ``"horovodrun -np 2 -H localhost:2"``) prefixes the training command
    only; pass ``--use_horovod=True`` in ``overrides`` with it. Infer runs in one process.
    Returns (train_eval minutes, path of the test predictions CSV).
    """
    if os.path.exists(logdir):
        shutil.rmtree(logdir)
    base = [sys.executable, "run.py", f"--config_file={config_file}", f"--logdir={logdir}", *overrides]
    start = time.time()
    run(shlex.split(launcher) + base + ["--mode=train_eval"])
    train_minutes = (time.time() - start) / 60
    predictions = os.path.join(logdir, "test_predictions.csv")
    single = [a for a in base if not a.startswith("--use_horovod")]
    run(single + ["--mode=infer", f"--infer_output_file={predictions}"])
    return train_minutes, predictions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config_file", default="example_configs/jasper.py")
    parser.add_argument("--logdir", default="logs/convergence_jasper")
    parser.add_argument("--launcher", default="", help='Training launcher, e.g. "horovodrun -np 2 -H localhost:2".')
    args, overrides = parser.parse_known_args()
    train_minutes, _ = train_and_infer(args.config_file, args.logdir, overrides, args.launcher)
    with open(os.path.join(args.logdir, "test_predictions_metrics.json")) as f:  # beside the predictions
        test = json.load(f)
    with open(os.path.join(args.logdir, "eval_history.json")) as f:
        history = json.load(f)
    record = {
        "config_file": args.config_file,
        "overrides": overrides,
        "launcher": args.launcher,
        "train_eval_minutes": round(train_minutes, 2),
        "test_WER": test["WER"],
        "test_CER": test["CER"],
        "test_utterances": test["num_utterances"],
        "dev_history": history,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
    }
    with open(os.path.join(args.logdir, "convergence.json"), "w") as f:
        json.dump(record, f, indent=2)
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
