"""Runs a few training steps in one distribution mode and saves the weights (for test_distributed).

    python replica_worker.py CONFIG OUT.npz MODE STEPS ITER_SIZE [overrides...]

MODE ``single``: one replica on the concatenation of each group of per-replica batches;
``towers``: 2 MirroredStrategy replicas on logical CPUs; ``horovod``: one rank of a
horovodrun job; ``multiworker``: one worker of a 2-worker MultiWorkerMirroredStrategy
cluster (``TF_CONFIG`` set by the test). Every mode reads the same fixed eval-mode batches
(no dither, no augmentation) and starts from the same seed, so the weights must agree.
"""

import functools
import sys

import numpy as np
import tensorflow as tf
from test_trainer import concat as concat_pair  # this script's folder is on sys.path

from open_s2s.config.loader import resolve_config
from open_s2s.modes import build_model, make_data_layer
from open_s2s.training.runtime import make_runtime
from open_s2s.training.trainer import Trainer

REPLICAS = 2


def concat(batches):
    """One batch of all ``batches``, padded along time (test_trainer's pairwise concat)."""
    return functools.reduce(concat_pair, batches)


def main(config, out, mode, steps, iter_size, *overrides):
    steps, iter_size = int(steps), int(iter_size)
    extra = [f"--iter_size={1 if mode == 'single' else iter_size}", *overrides]
    if mode == "towers":
        extra.append(f"--num_gpus={REPLICAS}")
    if mode == "horovod":
        extra.append("--use_horovod=True")
    if mode == "multiworker":
        extra.append("--use_multi_worker=True")
    _, params = resolve_config(config, "train", extra)
    runtime = make_runtime(params)
    dl = make_data_layer(params, "eval")
    per_step = REPLICAS * iter_size
    batches = list(dl.build_dataset().take(steps * per_step))
    assert len(batches) == steps * per_step, "corpus too small"
    with runtime.strategy.scope():
        model = build_model(type_of(config), params, dl.spec)
    trainer = Trainer(model, params, runtime, out + ".ckpt", total_steps=steps)
    runtime.broadcast_variables(trainer.state_variables())
    init = [np.asarray(v) for v in model.trainable_variables]
    # Step s uses batches[s*per_step:(s+1)*per_step]; replica r takes the r-th iter_size of them.
    if mode == "single":
        stream = [concat(batches[s * per_step : (s + 1) * per_step]) for s in range(steps)]
        dataset = tf.data.Dataset.from_generator(lambda: iter(stream), output_signature=spec_of(stream[0]))
    else:
        order = []
        for s in range(steps):
            group = batches[s * per_step : (s + 1) * per_step]
            for k in range(iter_size):
                for r in range(REPLICAS):
                    order.append(group[r * iter_size + k])
        if mode in ("horovod", "multiworker"):
            mine = [b for i, b in enumerate(order) if i % REPLICAS == runtime.rank]

            def own(ctx=None):
                return tf.data.Dataset.from_generator(lambda: iter(mine), output_signature=spec_of(mine[0]))

            # under MultiWorkerMirroredStrategy each worker's dataset function returns its own batches
            dataset = runtime.distribute_dataset(own) if mode == "multiworker" else own()
        else:
            dataset = runtime.distribute_dataset(
                lambda ctx: tf.data.Dataset.from_generator(lambda: iter(order), output_signature=spec_of(order[0]))
            )
    trainer.fit(dataset)
    if runtime.is_chief:
        final = {f"w{i}": np.asarray(v) for i, v in enumerate(model.trainable_variables)}
        np.savez(out, **final, **{f"init{i}": w for i, w in enumerate(init)}, step=trainer.step)


def spec_of(batch):
    return {k: tf.TensorSpec([None] * v.shape.rank, v.dtype) for k, v in batch.items()}


def type_of(config):
    model_cls, _ = resolve_config(config, "eval")
    return model_cls


if __name__ == "__main__":
    main(*sys.argv[1:])
