"""One SGD step with dropout where every replica gets the same batch (for test_replica_dropout).

    python dropout_worker.py CONFIG OUT MODE [overrides...]

MODE ``single``: one replica; ``towers``: 2 MirroredStrategy replicas on logical CPUs;
``horovod``: one rank of a horovodrun job; ``multiworker``: one worker of a 2-worker
MultiWorkerMirroredStrategy cluster (``TF_CONFIG`` set by the test). Saves ``OUT.<replica>.npz`` per replica: the
initial and final trainable weights and the dropout seed states after the step.
"""

import sys

import numpy as np
import tensorflow as tf
from replica_worker import spec_of, type_of  # this script's folder is on sys.path

from open_s2s.config.loader import resolve_config
from open_s2s.modes import build_model, make_data_layer
from open_s2s.training.replica_seeds import seed_states
from open_s2s.training.runtime import make_runtime
from open_s2s.training.trainer import Trainer

REPLICAS = 2


def main(config, out, mode, *overrides):
    extra = list(overrides)
    if mode == "towers":
        extra.append(f"--num_gpus={REPLICAS}")
    if mode == "horovod":
        extra.append("--use_horovod=True")
    if mode == "multiworker":
        extra.append("--use_multi_worker=True")
    _, params = resolve_config(config, "train", extra)
    runtime = make_runtime(params)
    dl = make_data_layer(params, "eval")
    batch = next(iter(dl.build_dataset()))
    with runtime.strategy.scope():
        model = build_model(type_of(config), params, dl.spec)
    trainer = Trainer(model, params, runtime, out + ".ckpt", total_steps=1)
    runtime.broadcast_variables(trainer.state_variables())
    init = [np.asarray(v) for v in model.trainable_variables]
    stream = [batch] * (REPLICAS if mode == "towers" else 1)  # consecutive batches go to consecutive towers

    def make(ctx=None):
        return tf.data.Dataset.from_generator(lambda: iter(stream), output_signature=spec_of(batch))

    dataset = runtime.distribute_dataset(make) if mode in ("towers", "multiworker") else make()
    trainer.fit(dataset)
    for r in range(REPLICAS) if mode == "towers" else [runtime.rank]:

        def value(v, r=r):
            if mode == "towers":  # this replica's copy of a mirrored variable
                return np.asarray(runtime.strategy.experimental_local_results(v.value)[r])
            return np.asarray(v)

        np.savez(
            f"{out}.{r}.npz",
            **{f"w{i}": value(v) for i, v in enumerate(model.trainable_variables)},
            **{f"init{i}": w for i, w in enumerate(init)},
            **{f"seed{i}": value(v) for i, v in enumerate(seed_states(model))},
            step=trainer.step,
        )


if __name__ == "__main__":
    main(*sys.argv[1:])
