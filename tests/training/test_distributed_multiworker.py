"""MultiWorkerMirroredStrategy (``use_multi_worker``): two worker processes on localhost, each
started with its own ``TF_CONFIG``, make the same update as one replica on the combined batch;
sharded eval and infer return every sample once and equal the single-process results; only
the chief writes; a dying worker stops the others with a message; bad setups are config errors."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

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


def run_workers(args_per_worker, tmp_path, name, timeout=600):
    cmds = [[sys.executable, os.path.join(ROOT, "run.py"), *args] for args in args_per_worker]
    results = wait_all(*start_workers(cmds, tmp_path, name), timeout=timeout)
    for rc, out in results:
        assert rc == 0, out[-4000:]
    return results


@pytest.mark.parametrize("iter_size", [1, 2])
def test_two_workers_equal_one_replica_on_the_combined_batch(small_config, tmp_path, iter_size):
    single = run_worker(small_config, str(tmp_path / "single.npz"), "single", iter_size=iter_size)
    out = str(tmp_path / "mw.npz")
    args = [small_config, out, "multiworker", "2", str(iter_size), *NO_RANDOMNESS, *SGD]
    cmds = [[sys.executable, WORKER, *args]] * WORKERS
    for rc, log in wait_all(*start_workers(cmds, tmp_path, "mw")):
        assert rc == 0, log[-4000:]
    import numpy as np

    with np.load(out) as f:
        n = sum(1 for k in f.files if k.startswith("w"))
        workers = [f[f"w{i}"] for i in range(n)], [f[f"init{i}"] for i in range(n)], int(f["step"])
    assert_same_update(single, workers)
