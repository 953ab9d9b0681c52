"""Speech synthesis under data parallelism: with ``sync_batch_norm`` 2 towers and 2 Horovod
ranks make the update of one replica on the combined batch (Tacotron's batch norm, its
frame-normalized losses and the guided-attention term included), and without it they do not
(per-replica batch-norm statistics, OpenSeq2Seq's semantics)."""

import pytest
from test_distributed import HOROVODRUN, assert_same_update, needs_horovod
from test_distributed import run_worker as run_distributed

from tests.test_text2speech_end_to_end import CONFIG

# SGD (linear in the gradient), constant LR, every dropout off; the guided-attention loss is on
# for both steps (its cut-off is step 2); batch norm summed over replicas.
FIXED = [
    "--optimizer=SGD",
    "--optimizer_params={}",
    "--lr_policy=None",
    "--lr_policy_params={'learning_rate': 0.1}",
    "--encoder_params/cnn_dropout_prob=0.0",
    "--decoder_params/dropout_prob=0.0",
    "--decoder_params/prenet_dropout=0.0",
    "--decoder_params/postnet_keep_dropout_prob=1.0",
    "--batch_size_per_gpu=3",
]


@pytest.fixture(scope="module")
def toy_config(tiny_tts, tmp_path_factory):
    # the worker reads eval-mode batches (fixed order, no randomness): point eval at the
    # 12 training sentences, enough for 2 steps x 2 replicas x 3 sentences
    text = CONFIG.format(data=tiny_tts).replace("/metadata_dev.csv", "/metadata_train.csv")
    config = tmp_path_factory.mktemp("tts_dp") / "toy_tts.py"
    config.write_text(text)
    return str(config)


def run_worker(config, out, mode, sync=True, launcher=()):
    return run_distributed(config, out, mode, launcher=launcher, fixed=FIXED, extra=[f"--sync_batch_norm={sync}"])


def test_two_towers_equal_one_replica_and_need_synchronized_batch_norm(toy_config, tmp_path):
    single = run_worker(toy_config, tmp_path / "single.npz", "single")
    assert_same_update(single, run_worker(toy_config, tmp_path / "towers.npz", "towers"))
    # per-replica statistics (sync off) are a different model: the check above can fail
    with pytest.raises(AssertionError):
        assert_same_update(single, run_worker(toy_config, tmp_path / "towers_own.npz", "towers", sync=False))


@needs_horovod
def test_two_horovod_ranks_equal_one_replica(toy_config, tmp_path):
    single = run_worker(toy_config, tmp_path / "single.npz", "single")
    hvd = [HOROVODRUN, "-np", "2", "-H", "localhost:2"]
    assert_same_update(single, run_worker(toy_config, tmp_path / "hvd.npz", "horovod", launcher=hvd))
