"""Each replica draws its own dropout masks while every replica keeps the same variables.

Keras dropout layers draw their masks from a ``SeedGenerator``: a ``[seed, counter]``
variable that each call reads and advances. Such a variable is part of the model, so it
is identical on every replica: mirrored under towers, broadcast from rank 0 under Horovod.
Without more, all replicas would drop the same units of their (different) examples,
which is not data parallelism on N * b examples; OpenSeq2Seq seeded each rank apart.

Around the forward pass of each replica the trainer adds ``replica_id * STRIDE`` to the
``seed`` half of every state, and takes it away after: replica r draws from the stream
``seed + r * STRIDE`` (Keras reduces seeds modulo ``2**31 - 2``, and STRIDE is prime to
that modulus, so no two of fewer than ``2**31 - 2`` replicas share a stream), replica 0
(and a single-replica run) draws exactly what it drew before, and after the step the
states are equal again on every replica (each advanced its counter by the same number of
calls), so checkpoints do not depend on the replica that writes them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import tensorflow as tf

# Knuth's multiplicative-hash prime 2654435761, coprime to Keras' seed modulus 2**31 - 2.
STRIDE = 0x9E3779B1


def seed_states(model: Any) -> list:
    """The ``[seed, counter]`` states of the Keras seed generators (dropout) in ``model``."""
    return [v for v in model.non_trainable_variables if v.path.endswith("seed_generator_state")]


@contextlib.contextmanager
def replica_dropout_seeds(states: list, replica_id: Any) -> Iterator[None]:
    """Offsets the seed of ``states`` by ``replica_id * STRIDE`` inside the block.

    Args:
      states: from ``seed_states``; empty (no dropout) makes this a no-op.
      replica_id: this replica's index, a Python int or a scalar tensor (towers).
    """
    if not states or (isinstance(replica_id, int) and replica_id == 0):
        yield
        return
    deltas = [tf.stack([tf.cast(replica_id, v.dtype) * STRIDE, tf.zeros([], v.dtype)]) for v in states]
    for v, delta in zip(states, deltas):
        v.assign_add(delta)
    try:
        yield
    finally:
        for v, delta in zip(states, deltas):
            v.assign_sub(delta)
