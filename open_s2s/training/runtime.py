"""Runtime: the precision policy and the distribution strategy. The only place that sets them.

Four ways to run, chosen by the config (or ``--num_gpus`` / ``--use_horovod`` /
``--use_multi_worker``):

* one replica (default);
* towers, ``num_gpus: N``: N synchronous replicas in one process with
  ``tf.distribute.MirroredStrategy`` (on N logical CPU devices when the machine has no GPU);
* Horovod, ``use_horovod: True``: one replica per process, launched by ``horovodrun`` or
  ``mpirun``. Horovod's Keras wrappers and ``DistributedGradientTape`` do not handle Keras 3
  variables, so only its core collectives are used here: grouped allreduce of the float32
  gradients, broadcast of the variables' underlying ``tf.Variable``s from rank 0;
* multi-worker, ``use_multi_worker: True``: TensorFlow's own
  ``tf.distribute.MultiWorkerMirroredStrategy``, one process per node (or per GPU), the cluster
  given by the ``TF_CONFIG`` environment variable (Slurm, Kubernetes), ``num_gpus`` GPUs per
  worker (one CPU replica on a worker without GPUs). Towers across processes: gradients and
  batch-norm sums go through the replica context's collective all-reduce (gRPC ring on CPUs,
  NCCL on GPUs); eval/infer records are gathered with a collective all-gather; worker 0 (or
  the ``chief`` task) is the chief. The strategy sets up TensorFlow's collective runtime, so
  ``make_runtime`` must run before any TensorFlow op. A dead worker is noticed by the
  coordination service's heartbeat, which aborts the survivors' collectives
  (``peer_failure``); no collective timeout is set. ``TF_CONFIG`` alone does not select this
  runtime (platforms set it for other jobs too): it only warns.

In every case ``batch_size_per_gpu`` is per replica and gradients are averaged over
replicas, so N replicas on batch b make the same update as one replica on batch N*b.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from open_s2s.config.params import ConfigError
from open_s2s.layers.normalization import set_cross_replica_sum

log = logging.getLogger("open_s2s")

POLICIES = {"float32": "float32", "mixed": "mixed_float16", "mixed_bf16": "mixed_bfloat16", "float16": "mixed_float16"}
# Environment variables a launcher sets for each process (horovodrun/gloo, Open MPI, MPICH/Slurm PMI).
LAUNCHER_ENV = ("HOROVOD_RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK")


def dtype_name(value: Any) -> str:
    """Config ``dtype`` (string or tf.DType from ported configs) -> one of float32/mixed/mixed_bf16."""
    name = getattr(value, "name", value)
    return {"float16": "mixed"}.get(name, name)


@dataclass
class Runtime:
    """Where and in which precision the model runs: one replica in this process.

    Attributes:
      strategy: the tf.distribute strategy (default strategy on one device).
      dtype: ``float32``, ``mixed`` or ``mixed_bf16``.
      num_replicas: replicas taking part in each step.
      is_chief: whether this process writes checkpoints, summaries and outputs.
      rank: this process's rank (0 unless Horovod or multi-worker; the chief's is 0).
    """

    strategy: tf.distribute.Strategy
    dtype: str
    num_replicas: int = 1
    is_chief: bool = True
    rank: int = 0

    def input_context(self) -> tf.distribute.InputContext | None:
        """The shard of the data this process reads (None: all of it)."""
        return None

    def distribute_dataset(self, dataset_fn: Callable[[Any], tf.data.Dataset]):
        """The training dataset for this process, from ``dataset_fn(input_context)``."""
        return dataset_fn(self.input_context())

    def run_on_replicas(self, fn, *args):
        """Runs ``fn(*args)`` on every replica; returns the first replica's (all-reduced) results."""
        return fn(*args)

    def reduce_gradients(self, grads: list[tf.Tensor]) -> list[tf.Tensor]:
        """Averages gradients over replicas (identity on one replica). Called on each replica."""
        return grads

    def reduce_scalars(self, loss: tf.Tensor, objects: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Mean loss and total objects over replicas. Called on each replica."""
        return loss, objects

    def reduce_sum(self, value: tf.Tensor) -> tf.Tensor:
        """Sum of a float32 scalar over replicas (e.g. the step's total loss weight). Called on each replica."""
        return value

    def broadcast_variables(self, variables: list[Any]) -> None:
        """Makes every replica start from rank 0's values (no-op in one process)."""

    def cross_replica_sum_fn(self) -> Callable[[tf.Tensor], tf.Tensor] | None:
        """A differentiable all-reduce sum for layers that need one (synchronized batch norm);
        None: the tf.distribute replica context's (identity on one replica, towers' all-reduce)."""
        return None

    def replica_id(self) -> Any:
        """Index of the replica running the caller among all replicas (0 on one replica).

        Called on each replica (inside ``run_on_replicas``): a Python int, or a scalar
        tensor for towers.
        """
        return 0

    def gather(self, items: list[Any]) -> list[Any]:
        """Concatenates per-process Python lists (eval records, infer rows) on every process."""
        return items

    def first_replica(self, value: Any) -> Any:
        """The first replica's part of a per-replica value (the value itself on one replica)."""
        return value

    def peer_failure(self, error: Exception) -> bool:
        """Whether ``error`` means another process of the job died or became unreachable."""
        return False

    def allreduce_seconds(self, shapes: list, calls: int = 10) -> float | None:
        """Seconds one gradient all-reduce of tensors of ``shapes`` takes (None: one replica)."""
        if self.num_replicas == 1:
            return None

        def reduce_ones():
            return self.reduce_gradients([tf.ones(shape, tf.float32) for shape in shapes])

        fn = tf.function(lambda: self.run_on_replicas(reduce_ones))
        tf.nest.map_structure(lambda t: t.numpy(), fn())  # trace and warm up
        start = time.perf_counter()
        for _ in range(calls):
            tf.nest.map_structure(lambda t: t.numpy(), fn())
        return (time.perf_counter() - start) / calls


@dataclass
class TowerRuntime(Runtime):
    """N replicas in one process (``MirroredStrategy``)."""

    def distribute_dataset(self, dataset_fn):
        # One input pipeline; consecutive batches go to consecutive replicas.
        return self.strategy.distribute_datasets_from_function(dataset_fn)

    def run_on_replicas(self, fn, *args):
        return self.first_replica(self.strategy.run(fn, args=args))

    def first_replica(self, value):
        return tf.nest.map_structure(lambda v: self.strategy.experimental_local_results(v)[0], value)

    def reduce_gradients(self, grads):
        return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.MEAN, grads)

    def replica_id(self):
        return tf.distribute.get_replica_context().replica_id_in_sync_group

    def reduce_scalars(self, loss, objects):
        ctx = tf.distribute.get_replica_context()
        return ctx.all_reduce(tf.distribute.ReduceOp.MEAN, loss), ctx.all_reduce(tf.distribute.ReduceOp.SUM, objects)

    def reduce_sum(self, value):
        return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, value)


@dataclass
class HorovodRuntime(Runtime):
    """One replica per process; Horovod's core collectives (Gloo or MPI)."""

    hvd: Any = field(default=None, repr=False)

    def input_context(self):
        return tf.distribute.InputContext(
            num_input_pipelines=self.num_replicas,
            input_pipeline_id=self.rank,
            num_replicas_in_sync=self.num_replicas,
        )

    def reduce_gradients(self, grads):
        return self.hvd.grouped_allreduce(grads, op=self.hvd.Average)

    def reduce_scalars(self, loss, objects):
        return (
            self.hvd.allreduce(loss, op=self.hvd.Average, name="loss"),
            self.hvd.allreduce(objects, op=self.hvd.Sum, name="objects"),
        )

    def reduce_sum(self, value):
        return self.hvd.allreduce(value, op=self.hvd.Sum, name="loss_weight")

    def replica_id(self):
        return self.rank

    def cross_replica_sum_fn(self):
        return lambda value: self.hvd.allreduce(value, op=self.hvd.Sum)

    def broadcast_variables(self, variables):
        # Keras 3 variables wrap a tf.Variable in `.value`; Horovod's helpers want those.
        # Dropout seed states are broadcast too (every rank starts equal); the trainer makes
        # each rank's masks its own (``replica_dropout_seeds``).
        plain = [v.value if isinstance(v, keras.Variable) else v for v in variables]
        self.hvd.broadcast_variables(plain, root_rank=0)

    def gather(self, items):
        gathered = self.hvd.allgather_object(items)
        return [item for part in gathered for item in part]


# What a collective raises once the coordination service has seen a peer die (its heartbeat
# stopped: UNAVAILABLE) or a peer is gone mid-transfer (connection reset: UNAVAILABLE).
PEER_ERRORS = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.AbortedError)


@dataclass
class MultiWorkerRuntime(TowerRuntime):
    """Replicas in several processes (``MultiWorkerMirroredStrategy``, cluster from ``TF_CONFIG``).

    The training step is the towers' one: ``strategy.run`` and the replica context's
    all-reduce, which MultiWorkerMirroredStrategy carries out across workers. Eval and infer
    run per process on a shard (``input_context``) and gather their records.

    Attributes:
      num_workers: processes in the cluster (``rank`` is this one's index, the chief's is 0).
    """

    num_workers: int = 1

    def input_context(self):
        # Eval and infer run outside the strategy, one shard per process.
        return tf.distribute.InputContext(
            num_input_pipelines=self.num_workers,
            input_pipeline_id=self.rank,
            num_replicas_in_sync=self.num_replicas,
        )

    @property
    def _local_replicas(self) -> int:
        return self.num_replicas // self.num_workers

    def gather(self, items):
        # Pickled, all-gathered (uneven lengths are padded by TensorFlow); only the first local
        # replica of each worker contributes, so a worker's items appear once.
        # Collectives move 32-bit words, not bytes: zero-padded to a multiple of 4 (pickle.loads
        # ignores bytes after the pickle's end).
        data = pickle.dumps(items)
        words = np.frombuffer(data + bytes(-len(data) % 4), np.int32)
        lengths, gathered = self._gather_words(tf.constant(words))
        lengths = np.asarray(self.first_replica(lengths))
        gathered = np.asarray(self.first_replica(gathered))
        out, start = [], 0
        for length in lengths:
            if length:
                out.extend(pickle.loads(gathered[start : start + length].tobytes()))
            start += length
        return out

    @property
    def _gather_words(self):
        if getattr(self, "_gather_fn", None) is None:
            local = self._local_replicas

            def replica_fn(payload):
                ctx = tf.distribute.get_replica_context()
                # all_gather sends a plain tensor from its device: place it on this replica's
                # (one replica per worker runs without a device scope)
                device = self.strategy.extended.worker_devices[0] if local == 1 else ""
                with tf.device(device):
                    mine = (
                        tf.identity(payload)
                        if local == 1
                        else tf.cond(ctx.replica_id_in_sync_group % local == 0, lambda: payload, lambda: payload[:0])
                    )
                    length = tf.identity(tf.shape(mine)[:1])
                return ctx.all_gather(length, axis=0), ctx.all_gather(mine, axis=0)

            spec = tf.TensorSpec([None], tf.int32)
            self._gather_fn = tf.function(lambda p: self.strategy.run(replica_fn, args=(p,)), input_signature=[spec])
        return self._gather_fn

    def broadcast_variables(self, variables):
        # Variables created in the strategy's scope start from the chief's values already; a
        # restore or warm start after that reads files each worker sees on its own (possibly
        # not the same), so the chief's values are made everyone's: a sum in which only the
        # chief's first replica adds its value (exact: x + 0 == x), integers summed as integers.
        plain = [v.value if isinstance(v, keras.Variable) else v for v in variables]

        def replica_fn():
            ctx = tf.distribute.get_replica_context()
            first = tf.equal(ctx.replica_id_in_sync_group, 0)
            parts = [_summable(tf.convert_to_tensor(v)) for v in plain]
            parts = [tf.where(first, x, tf.zeros_like(x)) for x in parts]
            out = [None] * len(parts)
            for dtype in sorted({x.dtype for x in parts}, key=str):  # one all-reduce per dtype (they are packed)
                idx = [i for i, x in enumerate(parts) if x.dtype == dtype]
                for i, x in zip(idx, ctx.all_reduce(tf.distribute.ReduceOp.SUM, [parts[i] for i in idx])):
                    out[i] = x
            return out

        summed = self.first_replica(tf.function(lambda: self.strategy.run(replica_fn))())
        for v, x in zip(plain, summed):
            v.assign(_from_summable(x, v.dtype))

    def peer_failure(self, error):
        return self.num_workers > 1 and isinstance(error, PEER_ERRORS)


def _summable(x: tf.Tensor) -> tf.Tensor:
    """``x`` in a dtype the collective all-reduce sums (bit-exactly reversible)."""
    if x.dtype in (tf.float32, tf.float64, tf.int32, tf.int64):
        return x
    if x.dtype in (tf.uint32, tf.uint64):
        return tf.bitcast(x, tf.int32 if x.dtype == tf.uint32 else tf.int64)
    return tf.cast(x, tf.float32)  # float16/bfloat16 (exact in float32), bool, small ints


def _from_summable(x: tf.Tensor, dtype) -> tf.Tensor:
    dtype = tf.as_dtype(dtype)
    if dtype in (tf.uint32, tf.uint64):
        return tf.bitcast(x, dtype)
    return tf.cast(x, dtype)


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    tf.random.set_seed(seed)
    keras.utils.set_random_seed(seed)


def make_runtime(params: Mapping[str, Any]) -> Runtime:
    """Sets the global Keras dtype policy and picks the strategy for ``params``."""
    dtype = dtype_name(params["dtype"])
    keras.mixed_precision.set_global_policy(POLICIES[dtype])
    if dtype == "mixed" and not tf.config.list_physical_devices("GPU"):
        log.warning(
            "dtype 'mixed' (float16) without a GPU: TensorFlow's CPU float16 kernels are slow and "
            "memory-hungry (2-D convolutions and RNNs most); on a CPU use --dtype=mixed_bf16 (bfloat16 "
            "units) or --dtype=float32"
        )
    threads = os.environ.get("OPEN_S2S_THREADS")
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
    if params.get("use_multi_worker", False):
        runtime = _multi_worker_runtime(params, dtype)
    elif params["use_horovod"]:
        runtime = _horovod_runtime(params, dtype)
    elif params["num_gpus"] > 1:
        runtime = _tower_runtime(params["num_gpus"], dtype)
    else:
        runtime = Runtime(strategy=tf.distribute.get_strategy(), dtype=dtype)
    if not isinstance(runtime, MultiWorkerRuntime):
        _warn_unused_tf_config()
    set_cross_replica_sum(params.get("sync_batch_norm", False), runtime.cross_replica_sum_fn())
    # Weights (and Keras' dropout seed states) are broadcast from rank 0; a per-rank global
    # seed gives each rank its own input-pipeline randomness (dither, augmentation). Dropout
    # masks differ per replica through training.replica_seeds.
    set_seed(params["random_seed"] + runtime.rank)
    return runtime


def _tower_runtime(num: int, dtype: str) -> TowerRuntime:
    gpus = tf.config.list_physical_devices("GPU")
    if gpus and len(gpus) < num:
        raise ConfigError(f"num_gpus={num} but this machine has {len(gpus)} GPUs")
    if gpus:
        devices = [f"/gpu:{i}" for i in range(num)]
        cross_device_ops = None  # NCCL all-reduce
    else:
        devices = _logical_cpus(num)
        log.warning("num_gpus=%d: no GPU here, running %d replicas on logical CPU devices", num, num)
        cross_device_ops = tf.distribute.ReductionToOneDevice()
    strategy = tf.distribute.MirroredStrategy(devices, cross_device_ops=cross_device_ops)
    return TowerRuntime(strategy=strategy, dtype=dtype, num_replicas=num)


def _logical_cpus(num: int) -> list[str]:
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * num)
    except RuntimeError:  # TensorFlow already initialized its devices in this process
        pass
    logical = tf.config.list_logical_devices("CPU")
    if len(logical) < num:
        raise ConfigError(
            f"num_gpus={num}: TensorFlow was initialized with {len(logical)} CPU devices before the runtime "
            "was made; start a new process"
        )
    return [d.name for d in logical[:num]]


def _horovod_runtime(params: Mapping[str, Any], dtype: str) -> HorovodRuntime:
    try:
        import horovod.tensorflow as hvd  # noqa: PLC0415
    except ImportError as e:
        raise ConfigError(
            f"use_horovod=True but Horovod is not importable ({e}); `make setup` builds it "
            "(scripts/install_horovod.sh .venv/bin/python; see docs/distributed.md)"
        ) from e
    if not any(name in os.environ for name in LAUNCHER_ENV):
        raise ConfigError(
            "use_horovod=True needs a launcher: horovodrun -np N -H host1:n1,host2:n2 python run.py ... "
            "(or mpirun / srun); see docs/distributed.md"
        )
    hvd.init()
    if params["num_gpus"] > 1 and hvd.rank() == 0:
        # OpenSeq2Seq's Horovod configs say num_gpus: 8 too; there, as here, the launcher decides.
        log.warning(
            "num_gpus=%d is ignored with use_horovod: one replica per process, %d processes from the launcher",
            params["num_gpus"],
            hvd.size(),
        )
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        tf.config.set_visible_devices(gpus[hvd.local_rank() % len(gpus)], "GPU")
    rank = hvd.rank()
    if rank != 0:
        logging.getLogger("open_s2s").setLevel(logging.WARNING)
    return HorovodRuntime(
        strategy=tf.distribute.get_strategy(),
        dtype=dtype,
        num_replicas=hvd.size(),
        is_chief=rank == 0,
        rank=rank,
        hvd=hvd,
    )


# Jobs of a TF_CONFIG cluster that take part in synchronous training.
WORKER_JOBS = ("chief", "worker")
TF_CONFIG_EXAMPLE = (
    'TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}\''
)


@dataclass(frozen=True)
class ClusterTask:
    """This process's place in a TF_CONFIG cluster.

    Attributes:
      cluster: job name -> list of ``host:port`` addresses.
      task_type: ``chief`` or ``worker``.
      task_index: index in its job.
    """

    cluster: dict[str, list[str]]
    task_type: str
    task_index: int

    @property
    def num_workers(self) -> int:
        return sum(len(self.cluster.get(job, [])) for job in WORKER_JOBS)

    @property
    def rank(self) -> int:
        """The chief is 0, then the workers in order (TensorFlow's ``id_in_cluster``)."""
        return self.task_index + (len(self.cluster.get("chief", [])) if self.task_type == "worker" else 0)


def parse_tf_config(text: str | None) -> ClusterTask:
    """Checks the ``TF_CONFIG`` environment variable's JSON; a ConfigError says what is wrong.

    Only synchronous jobs are accepted: ``worker`` (the first is the chief) and optionally
    one ``chief``. ``ps`` and ``evaluator`` tasks belong to other strategies (eval here is
    sharded over the workers).
    """
    if not text:
        raise ConfigError(
            f"use_multi_worker=True needs the TF_CONFIG environment variable on every worker, e.g. "
            f"{TF_CONFIG_EXAMPLE} (see docs/distributed.md)"
        )
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"TF_CONFIG is not valid JSON ({e}): {text[:200]!r}; e.g. {TF_CONFIG_EXAMPLE}") from e
    if (
        not isinstance(config, dict)
        or not isinstance(config.get("cluster"), dict)
        or not isinstance(config.get("task"), dict)
    ):
        raise ConfigError(f'TF_CONFIG needs a "cluster" and a "task" object, got {text[:200]!r}')
    cluster, task = config["cluster"], config["task"]
    other = sorted(set(cluster) - set(WORKER_JOBS))
    if other:
        raise ConfigError(
            f"TF_CONFIG cluster has {other} jobs: use_multi_worker runs synchronous 'worker' (and "
            "optionally one 'chief') tasks only; eval runs sharded over the workers"
        )
    for job, addresses in cluster.items():
        if (
            not isinstance(addresses, list)
            or not addresses
            or not all(isinstance(a, str) and a.rpartition(":")[2].isdigit() for a in addresses)
        ):
            raise ConfigError(f'TF_CONFIG cluster "{job}" must be a non-empty list of "host:port", got {addresses!r}')
    if len(cluster.get("chief", [])) > 1:
        raise ConfigError(f"TF_CONFIG has {len(cluster['chief'])} chiefs; at most one")
    task_type, index = task.get("type"), task.get("index")
    if task_type not in cluster:
        raise ConfigError(f"TF_CONFIG task type {task_type!r} is not a job of the cluster {sorted(cluster)}")
    if not isinstance(index, int) or not 0 <= index < len(cluster[task_type]):
        raise ConfigError(
            f'TF_CONFIG task index {index!r} is out of range: job "{task_type}" has {len(cluster[task_type])} tasks'
        )
    return ClusterTask({job: list(a) for job, a in cluster.items()}, task_type, index)


def _warn_unused_tf_config() -> None:
    text = os.environ.get("TF_CONFIG")
    if not text:
        return
    try:
        cluster = json.loads(text).get("cluster", {})
        tasks = sum(len(v) for v in cluster.values())
    except (ValueError, AttributeError, TypeError):
        tasks = 0
    if tasks > 1:
        log.warning(
            "TF_CONFIG describes a cluster of %d tasks but use_multi_worker is False: this process trains alone "
            "(pass --use_multi_worker=True to join the cluster)",
            tasks,
        )


def _multi_worker_runtime(params: Mapping[str, Any], dtype: str) -> MultiWorkerRuntime:
    if params["use_horovod"]:
        raise ConfigError(
            "use_multi_worker=True and use_horovod=True: choose one multi-process runtime "
            "(TensorFlow's MultiWorkerMirroredStrategy with TF_CONFIG, or Horovod with horovodrun)"
        )
    task = parse_tf_config(os.environ.get("TF_CONFIG"))
    num_gpus = params["num_gpus"]
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        if len(gpus) < num_gpus:
            raise ConfigError(f"num_gpus={num_gpus} (GPUs per worker) but this worker sees {len(gpus)} GPUs")
        # MultiWorkerMirroredStrategy takes every visible GPU as a local replica.
        tf.config.set_visible_devices(gpus[:num_gpus], "GPU")
    elif num_gpus > 1:
        raise ConfigError(
            f"num_gpus={num_gpus} with use_multi_worker: num_gpus is the GPUs of each worker and this worker "
            "has none; without GPUs MultiWorkerMirroredStrategy runs one replica per worker: pass --num_gpus=1"
        )
    # NCCL between GPUs, TensorFlow's gRPC ring between CPUs (named, not AUTO, so GPUs use NCCL).
    kinds = tf.distribute.experimental.CommunicationImplementation
    options = tf.distribute.experimental.CommunicationOptions(implementation=kinds.NCCL if gpus else kinds.RING)
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    except RuntimeError as e:  # "Collective ops must be configured at program startup"
        raise ConfigError(
            f"use_multi_worker: TensorFlow ran operations before the runtime was made ({e}); "
            "MultiWorkerMirroredStrategy must be created first in the process"
        ) from e
    if task.rank != 0:
        logging.getLogger("open_s2s").setLevel(logging.WARNING)
    log.info(
        "multi-worker: %d workers x %d replicas, this is %s %d (rank %d)",
        task.num_workers,
        strategy.num_replicas_in_sync // task.num_workers,
        task.task_type,
        task.task_index,
        task.rank,
    )
    return MultiWorkerRuntime(
        strategy=strategy,
        dtype=dtype,
        num_replicas=strategy.num_replicas_in_sync,
        is_chief=task.rank == 0,
        rank=task.rank,
        num_workers=task.num_workers,
    )
