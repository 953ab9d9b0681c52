"""Translation under data parallelism: 2 towers and 2 Horovod ranks make the update of one replica
on the combined batch; sharded infer under Horovod returns every line once, in order."""

import pytest
from test_distributed import HOROVODRUN, assert_same_update, needs_horovod, run_py
from test_distributed import run_worker as run_distributed

from tests.test_text2text_end_to_end import TOY_T2T_CONFIG

# SGD (linear in the gradient: a sum instead of a mean doubles the update), no dropout, constant LR
FIXED = ["--optimizer=SGD", "--optimizer_params={}", "--lr_policy=None", "--lr_policy_params={'learning_rate': 0.5}"]


@pytest.fixture
def toy_config(toy_parallel, tmp_path):
    config = tmp_path / "toy_t2t.py"
    config.write_text(TOY_T2T_CONFIG.format(data=toy_parallel, steps=2))
    return str(config)


def run_worker(config, out, mode, launcher=()):
    return run_distributed(config, out, mode, launcher=launcher, fixed=[*FIXED, "--batch_size_per_gpu=4"])


def test_two_towers_equal_one_replica(toy_config, tmp_path):
    single = run_worker(toy_config, tmp_path / "single.npz", "single")
    assert_same_update(single, run_worker(toy_config, tmp_path / "towers.npz", "towers"))


@needs_horovod
def test_two_horovod_ranks_equal_one_replica_and_sharded_infer_keeps_every_line(toy_config, tmp_path):
    single = run_worker(toy_config, tmp_path / "single.npz", "single")
    hvd = [HOROVODRUN, "-np", "2", "-H", "localhost:2"]
    assert_same_update(single, run_worker(toy_config, tmp_path / "hvd.npz", "horovod", launcher=hvd))
    logdir = tmp_path / "run"
    base = [f"--config_file={toy_config}", f"--logdir={logdir}"]
    done = run_py(*base, "--mode=train", "--max_steps=2")
    assert done.returncode == 0, done.stderr[-3000:]
    outputs = {}
    for name, launcher, extra in (("single", (), []), ("hvd", hvd, ["--use_horovod=True"])):
        out = tmp_path / f"{name}.txt"
        done = run_py(
            *base, "--mode=infer", f"--infer_output_file={out}", "--batch_size_per_gpu=5", *extra, launcher=launcher
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        outputs[name] = out.read_text().splitlines()
    assert len(outputs["single"]) == 24 and outputs["hvd"] == outputs["single"]
