"""Data-parallel scaling: 1 process vs 2 Horovod ranks vs 2 towers, with `run.py --benchmark`.

    python scripts/bench_scaling.py [--config_file example_configs/jasper.py] [--bench_steps 20]

Threads are pinned so that every setup uses the machine's cores once: one process gets
``--cores`` intra-op threads, each of N ranks gets cores / N, and N towers share one process
with ``--cores`` threads. Each run reports objects (audio seconds) per second over the global
batch (N replicas x batch_size_per_gpu) and, for N > 1, the time one all-reduce of the
model's gradients takes. Writes <out>/scaling.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def bench(name, cmd, threads, out):
    logdir = os.path.join(out, name)
    shutil.rmtree(logdir, ignore_errors=True)
    env = {**os.environ, "OPEN_S2S_THREADS": str(threads), "TF_CPP_MIN_LOG_LEVEL": "2"}
    subprocess.run([*cmd, f"--logdir={logdir}"], check=True, cwd=ROOT, env=env, capture_output=True)
    with open(os.path.join(logdir, "benchmark", "benchmark.json")) as f:
        return json.load(f)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config_file", default="example_configs/jasper.py")
    parser.add_argument("--bench_steps", type=int, default=20)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--out", default=os.path.join(ROOT, "logs", "scaling"))
    args, overrides = parser.parse_known_args()
    n = args.replicas
    run = [
        sys.executable,
        "run.py",
        f"--config_file={args.config_file}",
        "--mode=train",
        "--benchmark",
        f"--bench_steps={args.bench_steps}",
        *overrides,
    ]
    horovodrun = shutil.which("horovodrun", path=os.path.dirname(sys.executable)) or "horovodrun"
    results = {
        "1 process": bench("single", run, args.cores, args.out),
        f"{n} Horovod ranks": bench(
            "horovod",
            [horovodrun, "-np", str(n), "-H", f"localhost:{n}", *run, "--use_horovod=True"],
            max(1, args.cores // n),
            args.out,
        ),
        f"{n} towers": bench("towers", [*run, f"--num_gpus={n}"], args.cores, args.out),
    }
    base = results["1 process"]["objects_per_sec"]
    with open(os.path.join(args.out, "scaling.json"), "w") as f:
        json.dump(results, f, indent=2)
    print("| setup | replicas | threads/process | steps/s | audio s/s | vs 1 process | all-reduce ms/step |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        ar = r.get("allreduce_ms_per_step")
        print(
            f"| {name} | {r['num_replicas']} | {r['intra_op_threads']} | {r['steps_per_sec']:.2f} | "
            f"{r['objects_per_sec']:.1f} | {r['objects_per_sec'] / base:.2f} | {'-' if ar is None else f'{ar:.0f}'} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
