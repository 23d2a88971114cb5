"""Choosing the tf.distribute strategy (``--strategy auto|mirrored|multi-worker|default``) and, for
``multi-worker``, which worker this process is.

``multi-worker`` is ``tf.distribute.MultiWorkerMirroredStrategy`` configured the standard way, by the
``TF_CONFIG`` environment variable (``{"cluster": {"worker": ["host:port", …]}, "task": {"type": "worker",
"index": i}}``). TensorFlow lets a process create it only before its first operation, so the CLI calls
:func:`start` before it loads any data; every later :func:`make_strategy` returns that one instance. Every
worker runs the same program on its shard of each global batch (the gradients are summed across all
replicas of all workers); the chief (worker 0, or the task of type ``chief``) writes the run folder, the
others write into a temporary folder of their own that is deleted when they end (:func:`worker_out`).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile

import tensorflow as tf

from gan_em_tf.config import STRATEGIES
from gan_em_tf.errors import UserError

_multi_worker: tf.distribute.Strategy | None = None  # the process's one MultiWorkerMirroredStrategy


def make_strategy(name: str = "auto", devices: list[str] | None = None) -> tf.distribute.Strategy:
    """``auto``: MirroredStrategy when more than one GPU is visible, else the default strategy.
    ``mirrored`` without GPUs mirrors over the logical CPU devices (one unless the process split its CPU)."""
    if name not in STRATEGIES:
        raise UserError(f"unknown --strategy {name!r}; choose one of: {', '.join(STRATEGIES)}")
    if name == "multi-worker":
        return start()
    if name == "auto":
        name = "mirrored" if len(tf.config.list_logical_devices("GPU")) > 1 else "default"
    if name == "mirrored":
        if devices is None and not tf.config.list_logical_devices("GPU"):
            devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    return tf.distribute.get_strategy()


def xla_supported(name: str) -> bool:
    """XLA-compiled steps under strategy ``name``: not across CPU workers (TensorFlow's XLA has no CPU
    collectives)."""
    return name != "multi-worker" or bool(tf.config.list_logical_devices("GPU"))


def is_multi_worker() -> bool:
    """Whether this process runs as one worker of several (after :func:`start`)."""
    return _multi_worker is not None


def start() -> tf.distribute.Strategy:
    """The process's MultiWorkerMirroredStrategy, created on the first call (which blocks until every worker
    of ``TF_CONFIG`` has joined). It must come before TensorFlow's first operation in this process."""
    global _multi_worker
    if _multi_worker is None:
        worker_task()  # a clear error before TensorFlow's own
        try:
            _multi_worker = tf.distribute.MultiWorkerMirroredStrategy()
        except RuntimeError as e:
            if "program startup" not in str(e):
                raise
            raise UserError("--strategy multi-worker must be chosen before TensorFlow runs anything in this process "
                            "(call gan_em_tf.distribute.start() first)") from None
    return _multi_worker


def worker_task() -> tuple[str, int]:
    """(task type, index) from ``TF_CONFIG``; a missing or malformed one is a one-line error."""
    task_type, index, _ = _cluster_config()
    return task_type, index


def is_chief() -> bool:
    """Whether this process writes the run folder: always, unless it is a non-chief multi-worker task (the chief
    is the task of type ``chief``, or worker 0 when the cluster names none)."""
    if not is_multi_worker():
        return True
    task_type, index, cluster = _cluster_config()
    return task_type == "chief" or ("chief" not in cluster and index == 0)


def _cluster_config() -> tuple[str, int, dict]:
    """(task type, index, cluster) parsed once from ``TF_CONFIG``; a missing or malformed one is a one-line
    error."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise UserError("--strategy multi-worker reads the cluster from the TF_CONFIG environment variable, which is "
                        "not set; see the README's 'Several machines' section")
    try:
        config = json.loads(raw)
        task_type, index, cluster = config["task"]["type"], int(config["task"]["index"]), config["cluster"]
        members = cluster[task_type]
    except (ValueError, KeyError, TypeError):
        raise UserError('TF_CONFIG is not {"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", '
                        '"index": i}}; fix the environment variable') from None
    if task_type not in ("worker", "chief") or not 0 <= index < len(members):
        raise UserError(f"TF_CONFIG's task {task_type} {index} is not one of its cluster's workers; fix its task")
    return task_type, index, cluster


@contextlib.contextmanager
def worker_out(run_dir: str, resume: bool):
    """The folder this process writes its run into: ``run_dir`` itself on the chief; on another worker a
    temporary folder (holding, for ``resume``, a copy of the chief's config, data record and newest checkpoint,
    so that every worker continues from the same weights), deleted when the body ends — or, if the worker was
    killed, when it starts again for the same ``run_dir``."""
    if is_chief():
        yield run_dir
        return
    from gan_em_tf import rundir

    tag = hashlib.sha1(os.path.abspath(run_dir).encode()).hexdigest()[:12]
    scratch = os.path.join(tempfile.gettempdir(), f"gan-em-worker{worker_task()[1]}-{tag}")
    shutil.rmtree(scratch, ignore_errors=True)  # left by this worker if it was killed
    os.makedirs(scratch)
    try:
        if resume:
            ckpt = rundir.latest_checkpoint(run_dir)
            if ckpt is None:
                raise UserError(f"--resume: this worker cannot read a checkpoint in {run_dir}; every worker must see "
                                "the chief's --out (a shared file system)")
            for name in ("config.json", rundir.DATA_INFO):
                shutil.copy(os.path.join(run_dir, name), scratch)
            shutil.copytree(ckpt, os.path.join(scratch, rundir.CHECKPOINTS, os.path.basename(ckpt)))
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@contextlib.contextmanager
def worker_lost_is_an_error():
    """Under multi-worker, a worker that stopped (killed, crashed, its machine gone) aborts the others' collective
    operations: a one-line error saying how to continue instead of TensorFlow's traceback."""
    try:
        yield
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.AbortedError):
        if not is_multi_worker():
            raise
        raise UserError("another worker stopped, which aborted this one's collective operations; start every "
                        "worker again with --resume") from None
