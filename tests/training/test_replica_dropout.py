"""Every replica draws its own dropout masks; the weights stay identical on all replicas.

Each replica is given the SAME batch and takes one SGD step with dropout (keep 0.5). Replica
0 draws the masks a single-replica run draws (same seed), so if replica 1 drew the same
masks too, both gradients would be equal and the averaged update would equal the single
run's; with its own masks it differs. (OpenSeq2Seq seeded each Horovod rank apart.)
"""

import os
import subprocess
import sys

import numpy as np
from test_distributed import ENV, HERE, HOROVODRUN, needs_horovod
from test_trainer import NO_RANDOMNESS

WORKER = os.path.join(HERE, "dropout_worker.py")
DROPOUT = (
    NO_RANDOMNESS[:1]
    + NO_RANDOMNESS[2:3]
    + [
        "--encoder_params/dropout_keep_prob=0.5",
        "--encoder_params/convnet_layers="
        + repr(
            [
                {"kernel_size": [5], "stride": [2], "num_channels": 12, "dropout_keep_prob": 0.5},
                {"kernel_size": [3], "num_channels": 12, "dropout_keep_prob": 0.5},
            ]
        ).replace(" ", ""),
        "--optimizer=SGD",
        "--optimizer_params={}",
        "--lr_policy_params/learning_rate=0.05",
    ]
)


def run(config, out, mode, launcher=()):
    done = subprocess.run(
        [*launcher, sys.executable, WORKER, config, str(out), mode, *DROPOUT],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def load(path):
    with np.load(path) as f:

        def pick(prefix):
            count = sum(1 for k in f.files if k.startswith(prefix) and k[len(prefix) :].isdigit())
            return [f[f"{prefix}{i}"] for i in range(count)]

        return pick("w"), pick("init"), pick("seed"), int(f["step"])


def check(single, replicas):
    w1, init1, _, _ = single
    (wa, inita, seeda, stepa), (wb, initb, seedb, stepb) = replicas
    assert stepa == stepb == 1 and seeda, "the model must have dropout seed states"
    for a, b, c in zip(init1, inita, initb):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    for a, b in zip(wa, wb):
        np.testing.assert_array_equal(a, b)  # identical weights on both replicas
    for a, b in zip(seeda, seedb):
        np.testing.assert_array_equal(a, b)  # and identical seed states after the step
    moved = max(float(np.abs(w - i).max()) for w, i in zip(w1, init1))
    differ = max(float(np.abs(a - w).max()) for a, w in zip(wa, w1))
    # Same masks: the 2-replica update equals the single one up to float32 summation order
    # (< 1e-3 of the update, see test_distributed); own masks: half the gradient changes.
    assert moved > 1e-2 and differ > 0.05 * moved, (moved, differ)


def test_two_towers_draw_different_masks(small_config, tmp_path):
    run(small_config, tmp_path / "single", "single")
    run(small_config, tmp_path / "towers", "towers")
    single = load(tmp_path / "single.0.npz")
    check(single, [load(tmp_path / f"towers.{r}.npz") for r in (0, 1)])


@needs_horovod
def test_two_horovod_ranks_draw_different_masks(small_config, tmp_path):
    run(small_config, tmp_path / "single", "single")
    run(small_config, tmp_path / "hvd", "horovod", launcher=[HOROVODRUN, "-np", "2", "-H", "localhost:2"])
    single = load(tmp_path / "single.0.npz")
    check(single, [load(tmp_path / f"hvd.{r}.npz") for r in (0, 1)])


def test_replica_offset_changes_the_masks_and_leaves_the_state_as_replica_0_s():
    import keras
    import tensorflow as tf

    from open_s2s.training.replica_seeds import replica_dropout_seeds, seed_states

    inputs = keras.Input((64,))
    model = keras.Model(inputs, keras.layers.Dropout(0.5)(inputs))
    (state,) = seed_states(model)
    start = np.asarray(state).copy()
    masks = []
    for replica in (0, 1, 0, tf.constant(2)):
        state.assign(start)
        with replica_dropout_seeds([state], replica):
            masks.append(model(tf.ones([1, 64]), training=True).numpy() != 0)
        np.testing.assert_array_equal(np.asarray(state), start + [0, 1])  # one draw, seed restored
    np.testing.assert_array_equal(masks[0], masks[2])  # replica 0: as without the offset
    assert not np.array_equal(masks[0], masks[1]) and not np.array_equal(masks[1], masks[3])
