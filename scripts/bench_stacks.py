"""Training throughput of one config on the two dependency stacks, in alternating runs.

    python scripts/bench_stacks.py [--config_file example_configs/speech2text/jasper_tiny.py]
        [--dtypes float32,mixed_bf16] [--rounds 2] [--bench_steps 200] [--bench_warmup 20]
        [--venvs .venv-tf216,.venv-tf221]

For each round, dtype and stack (in that nesting, so the stacks alternate on a shared
machine) runs ``run.py --mode=train --benchmark`` with that stack's venv (``make setup
STACK=tf216`` / ``STACK=tf221`` build them) and reads its ``benchmark.json``. Prints a JSON
record per run and a summary: each stack's best objects/s per dtype and the ratio of the
second stack to the first (best of rounds and per round). Other arguments are config
overrides passed to every run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_once(python: str, config: str, dtype: str, steps: int, warmup: int, overrides: list[str]) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_stacks_") as logdir:
        cmd = [
            python, "run.py", f"--config_file={config}", "--mode=train", "--benchmark",
            f"--bench_steps={steps}", f"--bench_warmup={warmup}", f"--dtype={dtype}", f"--logdir={logdir}",
            *overrides,
        ]  # fmt: skip
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"bench_stacks: {' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
        with open(os.path.join(logdir, "benchmark", "benchmark.json")) as f:  # run.py's benchmark subdir
            return json.load(f)


def tf_version(python: str) -> str:
    done = subprocess.run(
        [python, "-c", "import tensorflow as tf, keras; print(tf.__version__, keras.__version__)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config_file", default="example_configs/speech2text/jasper_tiny.py")
    parser.add_argument("--dtypes", default="float32,mixed_bf16")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--bench_steps", type=int, default=200)
    parser.add_argument("--bench_warmup", type=int, default=20)
    parser.add_argument("--venvs", default=".venv-tf216,.venv-tf221", help="comma-separated venv directories")
    args, overrides = parser.parse_known_args()
    venvs = args.venvs.split(",")
    pythons = {}
    for venv in venvs:
        python = os.path.join(venv if os.path.isabs(venv) else os.path.join(ROOT, venv), "bin", "python")
        if not os.path.exists(python):
            raise SystemExit(f"bench_stacks: {python} not found (make setup STACK=...)")
        pythons[venv] = python
    versions = {venv: tf_version(python) for venv, python in pythons.items()}
    rates: dict[tuple[str, str], list[float]] = {}
    for round_ in range(args.rounds):
        for dtype in args.dtypes.split(","):
            for venv, python in pythons.items():
                record = run_once(python, args.config_file, dtype, args.bench_steps, args.bench_warmup, overrides)
                rates.setdefault((dtype, venv), []).append(record["objects_per_sec"])
                print(json.dumps({"round": round_, "venv": venv, "tf_keras": versions[venv], **record}), flush=True)
    first, second = venvs[0], venvs[-1]
    summary = {"config_file": args.config_file, "versions": versions, "objects": record["objects"]}
    for dtype in args.dtypes.split(","):
        a, b = rates[(dtype, first)], rates[(dtype, second)]
        summary[dtype] = {
            first: a,
            second: b,
            "ratio_best": max(b) / max(a),
            "ratio_per_round": [y / x for x, y in zip(a, b)],
        }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
