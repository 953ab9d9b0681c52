"""Input-pipeline benchmarks of the speech data layer (issue 5).

    python scripts/bench_pipeline.py [--files 400] [--steps 40] [--out logs/bench_pipeline]

1. Feature throughput per core: the tf.data pipeline (Speech2TextDataLayer, log-mel, eval
   mode: decode + features + batching) pinned to one thread (tf.data private threadpool of
   1, TF intra/inter-op 1, num_parallel_calls 1) against librosa (one BLAS/OpenMP thread) on
   the same files in the same run, in audio seconds per wall second and per CPU second.
   Also the train-mode pipeline with every augmentation on (speed perturbation, noise,
   VTLP, SpecAugment), same pinning. Runs in a subprocess so that the pinning holds.
2. A training step of example_configs/jasper.py fed by the real pipeline against one fed by
   cached in-memory batches (``take(steps).cache()``), same process, alternating timed
   blocks; a fresh real-pipeline iterator (warmed up) per block so that neither arm works
   in the background of the other.
Writes <out>/bench_pipeline.json and prints markdown rows for docs/benchmarks.md. Other
``--key=value`` arguments are config overrides for part 2 (e.g.
``--data_layer_params/num_parallel_calls=1``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
CORPUS = os.path.join(ROOT, "data", "synth_speech")
ONE_THREAD = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}


# ---------------------------------------------------------------------------- 1. features per core


def _timed(fn, repeats: int) -> tuple[float, float]:
    """Best (wall, cpu) seconds of ``repeats`` calls (the least disturbed by other jobs)."""
    best = (float("inf"), float("inf"))
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return best


def _one_thread_dataset(dl):
    import tensorflow as tf

    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    options.threading.max_intra_op_parallelism = 1
    options.autotune.enabled = False
    return dl.build_dataset().with_options(options)


def _librosa_pass(paths, fp) -> None:
    import librosa
    import numpy as np
    import soundfile

    mel_basis = None
    for path in paths:
        y, sr = soundfile.read(path, dtype="float32")
        y = np.append(y[0], y[1:] - 0.97 * y[:-1])
        if mel_basis is None:
            mel_basis = librosa.filters.mel(sr=sr, n_fft=fp.fft_length, n_mels=fp.num_audio_features)
        spec = np.abs(librosa.stft(y, n_fft=fp.fft_length, hop_length=fp.hop_length, win_length=fp.win_length,
                                   center=False)) ** 2  # fmt: skip
        feats = np.log(mel_basis @ spec + 2**-24)
        (feats - feats.mean(1, keepdims=True)) / (feats.std(1, keepdims=True) + 1e-5)


def features_per_core(num_files: int, repeats: int) -> dict:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from open_s2s.data.speech2text import Speech2TextDataLayer

    base = {
        "num_audio_features": 64,
        "input_type": "logfbank",
        "vocab_file": os.path.join(CORPUS, "vocab.txt"),
        "dataset_files": [os.path.join(CORPUS, "train.csv")],
        "max_samples": num_files,
        "num_parallel_calls": 1,
        "prefetch": 1,
    }
    augmented = {
        "augmentation": {"speed_perturbation_ratio": 0.1, "noise_level_min": -90, "noise_level_max": -46},
        "vtlp": [0.9, 1.1],
        "spec_augment": {"num_freq_masks": 2, "max_freq_mask": 8, "num_time_masks": 2, "max_time_mask": 15},
        "repeat": False,
        "shuffle": False,
    }
    eval_dl = Speech2TextDataLayer(base, "eval", batch_size=16)
    train_dl = Speech2TextDataLayer({**base, **augmented}, "train", batch_size=16, seed=0)
    seconds = sum(eval_dl.durations)
    results = {"files": eval_dl.num_samples, "audio_seconds": seconds}
    for name, dl in (("tf_data", eval_dl), ("tf_data_train_augmented", train_dl)):
        ds = _one_thread_dataset(dl)
        for _ in ds:  # warm-up: tracing, page cache
            pass
        wall, cpu = _timed(lambda ds=ds: [None for _ in ds], repeats)
        results[name] = {"audio_sec_per_sec": seconds / wall, "audio_sec_per_cpu_sec": seconds / cpu}
    paths = eval_dl.wav_filenames
    wall, cpu = _timed(lambda: _librosa_pass(paths, eval_dl.feature_params), repeats)
    results["librosa"] = {"audio_sec_per_sec": seconds / wall, "audio_sec_per_cpu_sec": seconds / cpu}
    results["tf_data_over_librosa"] = results["tf_data"]["audio_sec_per_sec"] / results["librosa"]["audio_sec_per_sec"]
    return results


# ---------------------------------------------------------------------------- 2. training step


def _time_block(step_fn, iterator, steps: int) -> tuple[float, float, float]:
    """(wall seconds, process CPU seconds, audio seconds) of ``steps`` training steps."""
    audio, start, cpu = 0.0, time.perf_counter(), time.process_time()
    for _ in range(steps):
        audio += float(step_fn(iterator)["objects"])
    return time.perf_counter() - start, time.process_time() - cpu, audio


def training_step_ratio(
    config: str, steps: int, rounds: int, warmup: int, max_samples: int, overrides: list[str] = ()
) -> dict:
    from open_s2s.config.loader import resolve_config
    from open_s2s.modes import build_model, make_data_layer
    from open_s2s.training.runtime import make_runtime
    from open_s2s.training.trainer import Trainer

    model_cls, params = resolve_config(config, "train", [f"--data_layer_params/max_samples={max_samples}", *overrides])
    runtime = make_runtime(params)
    dl = make_data_layer(params, "train")
    model = build_model(model_cls, params, dl.spec)
    trainer = Trainer(model, params, runtime, tempfile.mkdtemp(prefix="bench_pipeline_"), 10**6)
    step_fn = trainer.compiled_step()
    real = dl.build_dataset(runtime.input_context())
    cached_iter = iter(real.take(steps).cache().repeat())
    _time_block(step_fn, cached_iter, steps)  # fills the cache (and traces the step)
    totals = {"real": [0.0, 0.0, 0.0], "cached": [0.0, 0.0, 0.0]}
    for _ in range(rounds):
        real_iter = iter(real)
        _time_block(step_fn, real_iter, warmup)
        for arm, iterator in (("real", real_iter), ("cached", cached_iter)):
            for i, value in enumerate(_time_block(step_fn, iterator, steps)):
                totals[arm][i] += value
        del real_iter  # stops its background work before the next cached block
    n = steps * rounds
    import tensorflow as tf

    out = {"dtype": runtime.dtype, "batch_size": params["batch_size_per_gpu"], "steps_per_arm": n}
    out["tensorflow"] = tf.__version__  # the stack (make bench-pipeline STACK=...)
    out["overrides"] = list(overrides)
    for arm, (seconds, cpu, audio) in totals.items():
        out[arm] = {
            "ms_per_step": 1000 * seconds / n,
            "cpu_ms_per_step": 1000 * cpu / n,
            "audio_sec_per_sec": audio / seconds,
        }
    for key in ("ms_per_step", "cpu_ms_per_step", "audio_sec_per_sec"):
        out[f"{key}_real_over_cached"] = out["real"][key] / out["cached"][key]
    return out


# ---------------------------------------------------------------------------- driver


def _subprocess(part: str, args, overrides: list[str]) -> dict:
    names = ("files", "repeats", "config_file", "steps", "rounds", "warmup", "max_samples")
    cmd = [sys.executable, os.path.abspath(__file__), f"--part={part}"] + [f"--{n}={getattr(args, n)}" for n in names]
    cmd += overrides
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2", **(ONE_THREAD if part == "features" else {}))
    proc = subprocess.run(cmd, check=True, cwd=ROOT, env=env, capture_output=True, text=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _print_table(results: dict) -> None:
    f = results["features"]
    print(f"| pipeline, 1 thread ({f['files']} files, {f['audio_seconds']:.0f} audio s) | audio-s/s | audio-s/CPU-s |")
    print("|---|---|---|")
    for name in ("tf_data", "librosa", "tf_data_train_augmented"):
        print(f"| {name} | {f[name]['audio_sec_per_sec']:.0f} | {f[name]['audio_sec_per_cpu_sec']:.0f} |")
    print(f"\ntf.data / librosa: {f['tf_data_over_librosa']:.2f}x\n")
    t = results["training"]
    print(f"| Jasper tiny step (TF {t['tensorflow']}, {t['dtype']}, batch {t['batch_size']}, "
          f"{t['steps_per_arm']} steps/arm) | ms/step | CPU ms/step | audio-s/s |\n|---|---|---|---|")  # fmt: skip
    for arm in ("real", "cached"):
        row = [f"{t[arm]['ms_per_step']:.0f}", f"{t[arm]['cpu_ms_per_step']:.0f}", f"{t[arm]['audio_sec_per_sec']:.1f}"]
        print(f"| {arm} | " + " | ".join(row) + " |")
    ratios = [f"{t[k + '_real_over_cached']:.3f}" for k in ("ms_per_step", "cpu_ms_per_step", "audio_sec_per_sec")]
    print("| real / cached | " + " | ".join(ratios) + " |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=400, help="utterances for the feature benchmark")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per feature pipeline (best kept)")
    parser.add_argument("--config_file", default="example_configs/jasper.py")
    parser.add_argument("--steps", type=int, default=40, help="timed steps per block (= cached batches)")
    parser.add_argument("--rounds", type=int, default=2, help="real/cached block pairs")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps of each fresh real iterator")
    parser.add_argument("--max_samples", type=int, default=3000, help="training utterances loaded")
    parser.add_argument("--part", choices=("all", "features", "training"), default="all")
    parser.add_argument("--out", default=os.path.join(ROOT, "logs", "bench_pipeline"))
    args, overrides = parser.parse_known_args()  # the rest: config overrides for the training part
    if args.part == "features":
        print(json.dumps(features_per_core(args.files, args.repeats)))
        return 0
    if args.part == "training":
        ratio = training_step_ratio(args.config_file, args.steps, args.rounds, args.warmup, args.max_samples, overrides)
        print(json.dumps(ratio))
        return 0
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"}
    results["features"] = _subprocess("features", args, [])
    results["training"] = _subprocess("training", args, overrides)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "bench_pipeline.json"), "w") as f:
        json.dump(results, f, indent=2)
    _print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
