"""Benchmarks (`make bench`): training throughput per dtype and feature-pipeline throughput.

    python scripts/bench.py [--bench_steps 50] [--out logs/bench]

1. `run.py --benchmark` on example_configs/jasper.py in float32 and mixed_bf16, alternating
   (--repeats), in the same run: ratios are what to compare on a shared machine. Each run is
   its own process, so its peak RSS is that dtype's peak memory.
2. Toolkit overhead: the toolkit's step vs the same network hand-written in Keras
   (scripts/keras_baseline.py), same batches from memory, float32 and mixed_bf16.
3. The tf.data log-mel pipeline vs librosa on the same files: audio seconds per second.
Writes <out>/bench.json and prints a markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def train_throughput(config: str, dtype: str, steps: int, out: str) -> dict:
    logdir = os.path.join(out, f"train_{dtype}")
    cmd = [
        sys.executable,
        "run.py",
        f"--config_file={config}",
        "--mode=train",
        f"--logdir={logdir}",
        "--benchmark",
        f"--bench_steps={steps}",
        f"--dtype={dtype}",
    ]
    subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True)
    with open(os.path.join(logdir, "benchmark", "benchmark.json")) as f:
        return json.load(f)


def keras_overhead(config: str, dtype: str, steps: int) -> dict:
    cmd = [
        sys.executable,
        "scripts/keras_baseline.py",
        f"--config_file={config}",
        f"--dtype={dtype}",
        f"--steps={steps}",
    ]
    done = subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def pipeline_throughput(csv_path: str, limit: int) -> dict:
    import librosa
    import numpy as np
    import soundfile

    from open_s2s.data.speech2text import Speech2TextDataLayer

    with open(csv_path) as f:
        rows = list(csv.DictReader(f))[:limit]
    params = {
        "num_audio_features": 64,
        "input_type": "logfbank",
        "dataset_files": [csv_path],
        "vocab_file": os.path.join(os.path.dirname(csv_path), "vocab.txt"),
        "max_samples": limit,
    }
    dl = Speech2TextDataLayer(params, "eval", batch_size=16)
    seconds = sum(dl.durations)
    for _ in dl.build_dataset():  # warm-up pass (graph building, file cache)
        pass
    start = time.perf_counter()
    for _ in dl.build_dataset():
        pass
    tf_time = time.perf_counter() - start
    fp = dl.feature_params
    start = time.perf_counter()
    for row in rows:
        y, sr = soundfile.read(row["wav_filename"], dtype="float32")
        y = np.append(y[0], y[1:] - 0.97 * y[:-1])
        mel = librosa.feature.melspectrogram(
            y=y, sr=sr, n_fft=fp.fft_length, hop_length=fp.hop_length, win_length=fp.win_length, center=False, n_mels=64
        )
        feats = np.log(mel + 2**-24)
        (feats - feats.mean(1, keepdims=True)) / (feats.std(1, keepdims=True) + 1e-5)
    librosa_time = time.perf_counter() - start
    return {
        "files": len(rows),
        "audio_seconds": seconds,
        "tf_data_audio_sec_per_sec": seconds / tf_time,
        "librosa_audio_sec_per_sec": seconds / librosa_time,
        "ratio": librosa_time / tf_time,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config_file", default="example_configs/jasper.py")
    parser.add_argument("--bench_steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=2, help="alternating runs per dtype; the best is kept")
    parser.add_argument("--overhead_steps", type=int, default=30, help="steps per round of the Keras baseline; 0: skip")
    parser.add_argument("--pipeline_files", type=int, default=400)
    parser.add_argument("--out", default=os.path.join(ROOT, "logs", "bench"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"}
    runs = {"float32": [], "mixed_bf16": []}
    for _ in range(args.repeats):  # alternate, so load changes on a shared machine hit both
        for dtype in runs:
            runs[dtype].append(train_throughput(args.config_file, dtype, args.bench_steps, args.out))
    for dtype, records in runs.items():
        results[dtype] = max(records, key=lambda r: r["objects_per_sec"])
        results[dtype]["all_objects_per_sec"] = [r["objects_per_sec"] for r in records]
    results["bf16_speedup"] = results["mixed_bf16"]["objects_per_sec"] / results["float32"]["objects_per_sec"]
    if args.overhead_steps:
        results["overhead"] = {
            dtype: keras_overhead(args.config_file, dtype, args.overhead_steps) for dtype in ("float32", "mixed_bf16")
        }
    results["pipeline"] = pipeline_throughput(
        os.path.join(ROOT, "data", "synth_speech", "train.csv"), args.pipeline_files
    )
    with open(os.path.join(args.out, "bench.json"), "w") as f:
        json.dump(results, f, indent=2)
    print("| measurement | float32 | mixed_bf16 |\n|---|---|---|")
    for key in ("steps_per_sec", "objects_per_sec", "peak_rss_mb"):
        print(f"| {key} | {results['float32'][key]:.2f} | {results['mixed_bf16'][key]:.2f} |")
    print(f"\nmixed_bf16 / float32 training throughput: {results['bf16_speedup']:.2f}x")
    for dtype, o in results.get("overhead", {}).items():
        print(
            f"{dtype}: toolkit / hand-written Keras step = {o['ratio_best']:.3f} "
            f"(rounds: {', '.join(f'{r:.3f}' for r in o['ratio_per_round'])})"
        )
    p = results["pipeline"]
    print(
        f"log-mel pipeline: tf.data {p['tf_data_audio_sec_per_sec']:.0f} audio-s/s, "
        f"librosa {p['librosa_audio_sec_per_sec']:.0f} audio-s/s ({p['ratio']:.1f}x), {p['files']} files"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
