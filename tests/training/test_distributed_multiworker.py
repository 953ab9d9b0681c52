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


def test_two_workers_with_synchronized_batch_norm_equal_one_replica(tiny_tts, tmp_path):
    """Tacotron 2 (batch norm in its encoder and postnet, frame-normalized losses) with
    ``sync_batch_norm``: the moments are summed over the workers' replicas."""
    from test_distributed_text2speech import FIXED

    from tests.test_text2speech_end_to_end import CONFIG

    config = (
        tmp_path / "toy_tts.py"
    )  # eval-mode batches of the 12 training sentences (see test_distributed_text2speech)
    config.write_text(CONFIG.format(data=tiny_tts).replace("/metadata_dev.csv", "/metadata_train.csv"))
    fixed = [*FIXED, "--sync_batch_norm=True"]
    single = run_worker(str(config), str(tmp_path / "single.npz"), "single", fixed=fixed)
    assert_same_update(single, run_multiworker(str(config), tmp_path / "mw.npz", tmp_path, fixed=fixed))


def test_two_workers_draw_different_dropout_masks(small_config, tmp_path):
    """test_replica_dropout's check: both workers get the same batch and keep 0.5 dropout; the
    averaged update differs from the single replica's (own masks) while weights and seed
    states stay identical on both workers."""
    from test_replica_dropout import DROPOUT, check, load
    from test_replica_dropout import WORKER as DROPOUT_WORKER
    from test_replica_dropout import run as run_dropout

    run_dropout(small_config, tmp_path / "single", "single")
    cmd = [sys.executable, DROPOUT_WORKER, small_config, str(tmp_path / "mw"), "multiworker", *DROPOUT]
    for rc, log in wait_all(*start_workers([cmd] * WORKERS, tmp_path, "drop")):
        assert rc == 0, log[-4000:]
    check(load(tmp_path / "single.0.npz"), [load(tmp_path / f"mw.{r}.npz") for r in (0, 1)])


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


COLLECTIVES_SCRIPT = """
import sys
import keras
import numpy as np
import tensorflow as tf
from open_s2s.config.loader import resolve_config
from open_s2s.training.runtime import make_runtime
_, params = resolve_config(sys.argv[1], "train", ["--use_multi_worker=True"])
runtime = make_runtime(params)
rank = runtime.rank
# uneven lists (worker 1 has none the second time), objects of any kind
first = runtime.gather([(rank, i, "x" * i) for i in range(3 + 2 * rank)])
second = runtime.gather([] if rank else [{"a": 1.5}])
# the training data: each worker's dataset function sees its own pipeline
contexts = []
def dataset_fn(ctx):
    contexts.append((ctx.input_pipeline_id, ctx.num_input_pipelines))
    return tf.data.Dataset.range(4).batch(2)
runtime.distribute_dataset(dataset_fn)
# after a restore each worker may hold other values: the broadcast makes the chief's everyone's
with runtime.strategy.scope():
    weight = keras.Variable(np.zeros([3], np.float32))
    seeds = keras.random.SeedGenerator(1)
    steps = tf.Variable(0, dtype=tf.int64)
weight.assign([rank + 0.5, -1.25 * rank, 3.0])
seeds.state.assign([7 + rank, rank])
steps.assign(10 + rank)
runtime.broadcast_variables([weight, seeds.state, steps])
values = (weight.numpy().tolist(), seeds.state.numpy().tolist(), int(steps.numpy()))
print("RESULT", repr((runtime.is_chief, runtime.num_replicas, first, second, contexts, values)))
"""


def test_gather_broadcast_and_data_shards_across_workers(small_config, tmp_path):
    """gather returns every worker's items once, in worker order (uneven sizes included); each
    worker's training dataset function gets its own shard; broadcast_variables makes every
    worker hold the chief's values (float32, the int64 seed state, an int64 counter)."""
    script = tmp_path / "collectives.py"
    script.write_text(COLLECTIVES_SCRIPT)
    results = wait_all(*start_workers([[sys.executable, str(script), small_config]] * WORKERS, tmp_path, "c"))
    expected_first = [(0, i, "x" * i) for i in range(3)] + [(1, i, "x" * i) for i in range(5)]
    chief_values = ([0.5, 0.0, 3.0], [7, 0], 10)
    for index, (rc, out) in enumerate(results):
        assert rc == 0, out[-4000:]
        line = [line for line in out.splitlines() if line.startswith("RESULT")][0]
        got = eval(line[len("RESULT ") :])
        assert got == (index == 0, 2, expected_first, [{"a": 1.5}], [(index, 2)], chief_values)


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
    lines = [line for line in out.splitlines() if "another worker of the job stopped or became unreachable" in line]
    assert len(lines) == 1 and "while training step" in lines[0], out[-4000:]
    assert f"task:{dying}" in lines[0]  # the lost task is named
    if dying == 1:  # the chief survived: it saved the weights it had
        assert (tmp_path / "run0" / "checkpoint").exists()


# ---------------------------------------------------------------- configuration checks


def make(monkeypatch, tf_config_text, **params):
    from open_s2s.training.runtime import make_runtime

    if tf_config_text is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config_text)
    base = {"dtype": "float32", "use_horovod": False, "use_multi_worker": True, "num_gpus": 1, "random_seed": 0}
    return make_runtime({**base, **params})


GOOD = tf_config([12345, 12346], 1)


@pytest.mark.parametrize(
    "text, params, message",
    [
        (None, {}, "needs the TF_CONFIG environment variable"),
        ('{"cluster": {"worker": ["a:1"]}, "task": ', {}, "TF_CONFIG is not valid JSON"),
        ('{"cluster": {"worker": ["a:1"]}}', {}, 'needs a "cluster" and a "task"'),
        ('{"cluster": {"worker": ["a:1"], "ps": ["b:2"]}, "task": {"type": "worker", "index": 0}}', {}, "['ps'] jobs"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "evaluator", "index": 0}}', {}, "task type 'evaluator'"),
        (
            '{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 2}}',
            {},
            "index 2 is out of range",
        ),
        ('{"cluster": {"worker": ["a"]}, "task": {"type": "worker", "index": 0}}', {}, 'list of "host:port"'),
        ('{"cluster": {"chief": ["a:1", "b:1"]}, "task": {"type": "chief", "index": 0}}', {}, "2 chiefs"),
        (GOOD, {"use_horovod": True}, "choose one multi-process runtime"),
        (GOOD, {"num_gpus": 2}, "num_gpus=2 with use_multi_worker"),
    ],
)
def test_bad_setups_are_config_errors_that_say_what_is_wrong(monkeypatch, text, params, message):
    import tensorflow as tf

    from open_s2s.config.params import ConfigError

    if "num_gpus" in params and tf.config.list_physical_devices("GPU"):
        pytest.skip("num_gpus > 1 per worker is allowed on a GPU machine")
    with pytest.raises(ConfigError, match=None) as error:
        make(monkeypatch, text, **params)
    assert message in str(error.value)


def test_the_chief_is_rank_0_and_workers_follow():
    from open_s2s.training.runtime import parse_tf_config

    cluster = {"chief": ["c:1"], "worker": ["a:1", "b:1"]}
    ranks = [
        parse_tf_config(json.dumps({"cluster": cluster, "task": {"type": t, "index": i}})).rank
        for t, i in (("chief", 0), ("worker", 0), ("worker", 1))
    ]
    assert ranks == [0, 1, 2]
    assert parse_tf_config(GOOD).num_workers == 2 and parse_tf_config(GOOD).rank == 1


def test_tf_config_without_the_key_trains_alone_and_says_so(monkeypatch, caplog):
    runtime = make(monkeypatch, GOOD, use_multi_worker=False)
    assert runtime.num_replicas == 1 and runtime.is_chief
    assert "TF_CONFIG describes a cluster of 2 tasks but use_multi_worker is False" in caplog.text


def test_run_py_reports_a_bad_tf_config_and_refuses_export(small_config, tmp_path):
    env = {**ENV, "TF_CONFIG": "{oops"}
    cmd = [sys.executable, os.path.join(ROOT, "run.py"), f"--config_file={small_config}", "--use_multi_worker=True"]
    done = subprocess.run(cmd + [f"--logdir={tmp_path}/run"], env=env, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2 and "config error: TF_CONFIG is not valid JSON" in done.stderr, done.stderr[-2000:]
    done = subprocess.run(cmd + ["--mode=export", f"--logdir={tmp_path}/run"], env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "--mode=export runs in one process" in done.stderr, done.stderr[-2000:]
