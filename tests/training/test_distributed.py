"""Data parallelism: 2 towers and 2 Horovod ranks make the same updates as one replica on
the combined batch; sharded eval and infer equal the single-process results."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from test_trainer import NO_RANDOMNESS

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WORKER = os.path.join(HERE, "replica_worker.py")
HOROVODRUN = shutil.which("horovodrun", path=os.path.dirname(sys.executable)) or shutil.which("horovodrun")


def have_horovod() -> bool:
    try:
        import horovod.tensorflow  # noqa: F401

        return HOROVODRUN is not None
    except ImportError:
        return False


needs_horovod = pytest.mark.skipif(not have_horovod(), reason="Horovod is not installed (make setup builds it)")
ENV = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"}


# SGD: the update is linear in the gradient, so a sum-instead-of-mean bug doubles it.
SGD = ["--optimizer=SGD", "--optimizer_params={}", "--lr_policy_params/learning_rate=0.05"]


def run_worker(config, out, mode, steps=2, iter_size=1, launcher=(), extra=(), fixed=None):
    """Runs replica_worker.py; returns (final weights, initial weights, step). ``fixed``: the
    overrides that take randomness out and fix the optimizer (default: the ASR ones)."""
    fixed = [*NO_RANDOMNESS, *SGD] if fixed is None else fixed
    args = [config, str(out), mode, str(steps), str(iter_size), *fixed, *extra]
    done = subprocess.run(
        [*launcher, sys.executable, WORKER, *args], env=ENV, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with np.load(out) as f:
        n = sum(1 for k in f.files if k.startswith("w"))
        return [f[f"w{i}"] for i in range(n)], [f[f"init{i}"] for i in range(n)], int(f["step"])


def assert_same_update(single, other):
    (w1, init1, step1), (w2, init2, step2) = single, other
    assert step1 == step2 == 2
    for a, b in zip(init1, init2):
        np.testing.assert_array_equal(a, b)  # the same start
    moved = max(float(np.abs(x - a).max()) for x, a in zip(w1, init1))
    differ = max(float(np.abs(x - y).max()) for x, y in zip(w1, w2))
    # float32 summation order differs (padding, reduction tree): agree to 0.1% of the update;
    # a sum-instead-of-mean or a dropped replica would differ by ~100% of it.
    assert moved > 1e-2 and differ < 1e-3 * moved, (moved, differ)


@pytest.mark.parametrize("iter_size", [1, 2])
def test_two_towers_equal_one_replica_on_the_combined_batch(small_config, tmp_path, iter_size):
    single = run_worker(small_config, tmp_path / "single.npz", "single", iter_size=iter_size)
    towers = run_worker(small_config, tmp_path / "towers.npz", "towers", iter_size=iter_size)
    assert_same_update(single, towers)


@needs_horovod
@pytest.mark.parametrize("iter_size", [1, 2])
def test_two_horovod_ranks_equal_one_replica_on_the_combined_batch(small_config, tmp_path, iter_size):
    single = run_worker(small_config, tmp_path / "single.npz", "single", iter_size=iter_size)
    launcher = [HOROVODRUN, "-np", "2", "-H", "localhost:2"]
    ranks = run_worker(small_config, tmp_path / "hvd.npz", "horovod", iter_size=iter_size, launcher=launcher)
    assert_same_update(single, ranks)


def run_py(*args, launcher=(), timeout=900):
    cmd = [*launcher, sys.executable, os.path.join(ROOT, "run.py"), *args]
    return subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


@needs_horovod
def test_horovod_train_eval_infer_end_to_end_equal_single_process(small_config, tmp_path):
    hvd = [HOROVODRUN, "-np", "2", "-H", "localhost:2"]
    logdir = tmp_path / "run"
    base = [f"--config_file={small_config}", f"--logdir={logdir}"]
    # num_gpus=8, as OpenSeq2Seq's Horovod recipes say, is ignored: the launcher sets 2 replicas
    done = run_py(*base, "--mode=train_eval", "--use_horovod=True", "--num_gpus=8", "--max_steps=2", launcher=hvd)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "num_gpus=8 is ignored with use_horovod: one replica per process, 2 processes" in done.stderr + done.stdout
    # only rank 0 wrote: one TensorBoard writer for training and one for eval
    assert len(list(logdir.glob("events.out.tfevents.*"))) == 1
    assert len(list((logdir / "eval").glob("events.out.tfevents.*"))) == 1

    outputs = {}
    for name, launcher, extra in (("single", (), []), ("hvd", hvd, ["--use_horovod=True"])):
        done = run_py(*base, "--mode=eval", *extra, launcher=launcher)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        csv = tmp_path / f"{name}.csv"
        done = run_py(*base, "--mode=infer", f"--infer_output_file={csv}", *extra, launcher=launcher)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        # horovodrun prefixes each line with its rank ("[1,0]<stdout>:")
        eval_line = [line[line.index("infer:") :] for line in done.stdout.splitlines() if "infer:" in line]
        outputs[name] = ((logdir / "eval_metrics.json").read_text(), csv.read_text(), eval_line)
    assert outputs["hvd"] == outputs["single"]
    assert outputs["single"][1].count("\n") == 9  # header + every one of the 8 test utterances


def test_horovod_without_launcher_is_a_clear_config_error(small_config, tmp_path):
    done = run_py(f"--config_file={small_config}", f"--logdir={tmp_path}/run", "--mode=train", "--use_horovod=True")
    assert done.returncode == 2
    assert "launcher" in done.stderr or "not importable" in done.stderr


@needs_horovod
def test_a_dying_rank_stops_the_job_with_its_rank_named(tmp_path):
    script = tmp_path / "die.py"
    script.write_text(
        "import os, time\nimport horovod.tensorflow as hvd\nimport tensorflow as tf\nhvd.init()\n"
        "if hvd.rank() == 1:\n    os._exit(7)\n"
        "for _ in range(600):\n    hvd.allreduce(tf.ones([4]))\n    time.sleep(0.1)\n"
    )
    done = subprocess.run(
        [HOROVODRUN, "-np", "2", "-H", "localhost:2", sys.executable, str(script)],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    assert "rank" in (done.stdout + done.stderr).lower() and "1" in (done.stdout + done.stderr)


# ---------------------------------------------------------------- keyword spotting (issue 6)

COMMANDS_CONFIG = os.path.join(ROOT, "example_configs", "speech_commands", "jasper_v1_12_tiny.py")


def commands_overrides(data):
    """The committed Jasper keyword spotter on the tiny commands fixture, float32, batch 4."""
    return [f"--data_layer_params/dataset_location={data}", "--batch_size_per_gpu=4", "--dtype=float32"]


@pytest.mark.parametrize("mode", ["towers", pytest.param("horovod", marks=needs_horovod)])
def test_keyword_spotter_replicas_equal_one_replica_on_the_combined_batch(tiny_commands, tmp_path, mode):
    # the worker reads eval-mode batches with the train params: keep the config's shuffle off there
    extra = [*commands_overrides(tiny_commands), "--data_layer_params/shuffle=False"]
    single = run_worker(COMMANDS_CONFIG, tmp_path / "single.npz", "single", extra=extra)
    launcher = [HOROVODRUN, "-np", "2", "-H", "localhost:2"] if mode == "horovod" else ()
    other = run_worker(COMMANDS_CONFIG, tmp_path / f"{mode}.npz", mode, extra=extra, launcher=launcher)
    assert_same_update(single, other)


@needs_horovod
def test_keyword_spotter_horovod_train_and_infer(tiny_commands, tmp_path):
    hvd = [HOROVODRUN, "-np", "2", "-H", "localhost:2"]
    logdir = tmp_path / "run"
    base = [f"--config_file={COMMANDS_CONFIG}", f"--logdir={logdir}", *commands_overrides(tiny_commands)]
    done = run_py(*base, "--mode=train_eval", "--use_horovod=True", "--max_steps=3", "--eval_steps=3", launcher=hvd)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (logdir / "eval_history.json").exists()  # the eval during training ran
    rows = {}
    for name, launcher, flags in (("single", (), []), ("hvd", hvd, ["--use_horovod=True"])):
        csv = tmp_path / f"{name}.csv"
        done = run_py(*base, "--mode=infer", f"--infer_output_file={csv}", *flags, launcher=launcher)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        rows[name] = csv.read_text()
    assert rows["hvd"] == rows["single"]  # every test clip once, in order, same label and probability
    assert rows["single"].startswith("wav_filename,predicted_label,probability")
