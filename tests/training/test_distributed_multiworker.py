"""MultiWorkerMirroredStrategy (``use_multi_worker``): two worker processes on localhost, each
started with its own ``TF_CONFIG``, make the same update as one replica on the combined batch;
sharded eval and infer return every sample once and equal the single-process results; only
the chief writes; a dying worker stops the others with a message; bad setups are config errors."""

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from test_distributed import ENV, ROOT, WORKER, assert_same_update, run_py, run_worker
from test_trainer import NO_RANDOMNESS

SGD = ["--optimizer=SGD", "--optimizer_params={}", "--lr_policy_params/learning_rate=0.05"]
WORKERS = 2


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def tf_config(ports, index):
    return json.dumps(
        {"cluster": {"worker": [f"localhost:{p}" for p in ports]}, "task": {"type": "worker", "index": index}}
    )


def start_workers(cmds, tmp_path, name):
    """Starts one process per command, worker i with TF_CONFIG index i; returns (procs, log paths)."""
    ports = free_ports(len(cmds))
    procs, logs = [], []
    for i, cmd in enumerate(cmds):
        log_path = tmp_path / f"{name}{i}.log"
        env = {**ENV, "TF_CONFIG": tf_config(ports, i), "OPEN_S2S_THREADS": "1"}
        with open(log_path, "w") as out:
            procs.append(subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT))
        logs.append(log_path)
    return procs, logs


def wait_all(procs, logs, timeout=600):
    """Waits for every worker; returns [(returncode, output)]."""
    deadline = time.monotonic() + timeout
    try:
        for p in procs:
            p.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return [(p.returncode, log.read_text()) for p, log in zip(procs, logs)]


def run_py_workers(args_per_worker, tmp_path, name):
    """run.py in one worker process per argument list (``--use_multi_worker=True`` added)."""
    run = [sys.executable, os.path.join(ROOT, "run.py"), "--use_multi_worker=True"]
    results = wait_all(*start_workers([[*run, *args] for args in args_per_worker], tmp_path, name))
    for rc, out in results:
        assert rc == 0, out[-4000:]
    return [out for _, out in results]


def run_multiworker(config, out, tmp_path, iter_size=1, fixed=None, extra=()):
    """replica_worker.py in 2 worker processes; returns the chief's (final, initial weights, step)."""
    fixed = [*NO_RANDOMNESS, *SGD] if fixed is None else fixed
    args = [config, str(out), "multiworker", "2", str(iter_size), *fixed, *extra]
    for rc, log in wait_all(*start_workers([[sys.executable, WORKER, *args]] * WORKERS, tmp_path, "mw")):
        assert rc == 0, log[-4000:]
    with np.load(out) as f:
        n = sum(1 for k in f.files if k.startswith("w"))
        return [f[f"w{i}"] for i in range(n)], [f[f"init{i}"] for i in range(n)], int(f["step"])


@pytest.mark.parametrize("iter_size", [1, 2])
def test_two_workers_equal_one_replica_on_the_combined_batch(small_config, tmp_path, iter_size):
    single = run_worker(small_config, str(tmp_path / "single.npz"), "single", iter_size=iter_size)
    assert_same_update(single, run_multiworker(small_config, tmp_path / "mw.npz", tmp_path, iter_size))


def eval_lines(output):
    """The ``eval: metric value, ...`` lines of a run's output (not the progress bar's)."""
    return [line for line in output.splitlines() if line.startswith("eval: ") and "|" not in line]


def test_train_eval_infer_end_to_end_only_the_chief_writes(small_config, tmp_path):
    """2 workers: train_eval, eval and infer run; sharded eval/infer equal one process's results,
    every test utterance appears once; the second worker, given its own (empty) logdir and
    output file, writes nothing."""
    logdir, other = tmp_path / "run", tmp_path / "worker1"
    other.mkdir()
    config = f"--config_file={small_config}"
    run_py_workers(
        [[config, f"--logdir={logdir}", "--mode=train_eval"], [config, f"--logdir={other}", "--mode=train_eval"]],
        tmp_path,
        "train",
    )
    # the chief wrote one TensorBoard writer for training, one for eval, the checkpoints and history
    assert len(list(logdir.glob("events.out.tfevents.*"))) == 1
    assert len(list((logdir / "eval").glob("events.out.tfevents.*"))) == 1
    assert (logdir / "eval_history.json").exists() and (logdir / "config.json").exists()
    assert (logdir / "checkpoint").exists()

    single_csv, mw_csv = tmp_path / "single.csv", tmp_path / "mw.csv"
    for mode in ("eval", "infer"):
        done = run_py(
            config,
            f"--logdir={logdir}",
            f"--mode={mode}",
            *([f"--infer_output_file={single_csv}"] if mode == "infer" else []),
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        single_metrics = (logdir / "eval_metrics.json").read_text() if mode == "eval" else None
        if mode == "eval":
            (logdir / "eval_metrics.json").unlink()  # the workers' chief must write it again
        extra0 = [f"--infer_output_file={mw_csv}"] if mode == "infer" else []
        extra1 = [f"--infer_output_file={other / 'mw.csv'}"] if mode == "infer" else []
        outs = run_py_workers(
            [
                [config, f"--logdir={logdir}", f"--mode={mode}", *extra0],
                [config, f"--logdir={other}", f"--checkpoint={logdir}", f"--mode={mode}", *extra1],
            ],
            tmp_path,
            mode,
        )
        if mode == "eval":
            assert (logdir / "eval_metrics.json").read_text() == single_metrics
            # each worker prints the metrics of the whole (gathered) set, each utterance counted once
            single_line = eval_lines(done.stdout)
            assert len(single_line) == 1 and "num_utterances 8," in single_line[0]
            for out in outs:
                assert eval_lines(out) == single_line
    assert mw_csv.read_text() == single_csv.read_text()
    assert single_csv.read_text().count("\n") == 9  # header + every one of the 8 test utterances once
    assert list(other.iterdir()) == []  # the second worker wrote nothing


GATHER_SCRIPT = """
import sys
from open_s2s.config.loader import resolve_config
from open_s2s.training.runtime import make_runtime
_, params = resolve_config(sys.argv[1], "train", ["--use_multi_worker=True"])
runtime = make_runtime(params)
# uneven lists (worker 1 has none the second time), objects of any kind
first = runtime.gather([(runtime.rank, i, "x" * i) for i in range(3 + 2 * runtime.rank)])
second = runtime.gather([] if runtime.rank else [{"a": 1.5}])
print("RESULT", repr((runtime.is_chief, runtime.num_replicas, first, second)))
"""


def test_gather_returns_every_workers_items_once_in_worker_order(small_config, tmp_path):
    script = tmp_path / "gather.py"
    script.write_text(GATHER_SCRIPT)
    results = wait_all(*start_workers([[sys.executable, str(script), small_config]] * WORKERS, tmp_path, "g"))
    expected_first = [(0, i, "x" * i) for i in range(3)] + [(1, i, "x" * i) for i in range(5)]
    for index, (rc, out) in enumerate(results):
        assert rc == 0, out[-4000:]
        line = [line for line in out.splitlines() if line.startswith("RESULT")][0]
        assert eval(line[len("RESULT ") :]) == (index == 0, 2, expected_first, [{"a": 1.5}])


@pytest.mark.parametrize("dying", [1, 0])
def test_a_dying_worker_stops_the_other_with_a_message(small_config, tmp_path, dying):
    """Worker ``dying`` is killed (SIGKILL) while training; the survivor exits 5 naming the
    lost peer instead of waiting in its all-reduce for ever. (The subprocess timeout is a
    guard against a hang, not a timing assertion.)"""
    config = f"--config_file={small_config}"
    run = [sys.executable, os.path.join(ROOT, "run.py"), "--use_multi_worker=True", config, "--mode=train"]
    many = ["--max_steps=100000", "--save_checkpoint_steps=100000", "--eval_steps=None", "--print_loss_steps=1"]
    cmds = [[*run, f"--logdir={tmp_path / f'run{i}'}", *many] for i in range(WORKERS)]
    procs, logs = start_workers(cmds, tmp_path, "die")
    try:
        # both workers are in the training loop once the chief logged a step
        while "step 1: loss" not in logs[0].read_text():
            assert all(p.poll() is None for p in procs), [log.read_text()[-3000:] for log in logs]
            time.sleep(0.5)
        procs[dying].kill()
    finally:
        results = wait_all(procs, logs, timeout=300)
    rc, out = results[1 - dying]
    assert rc == 5, out[-4000:]
    assert "another worker of the job stopped or became unreachable while training step" in out, out[-4000:]
    if dying == 1:  # the chief survived: it saved the weights it had
        assert (tmp_path / "run0" / "checkpoint").exists()
