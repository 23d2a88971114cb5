"""The run folder: creation rules, checkpoints, and the per-iteration record.

Layout of ``RUN_DIR``::

    config.json        the RunConfig
    data.json          name, sample shape and size of the training data
    metrics.csv        one row per EM iteration
    summary.json       final scores (acc, nmi, ari, purity, error, clusters, ...)
    assignments.npy    final cluster id per sample
    samples.png        one row of generated images per cluster (paper Fig. 2)
    convergence.png    ACC and NMI per EM iteration (paper Fig. 4)
    embedding.npy/png  with --embed-dim k: layer r per sample and its 2-D map (paper Fig. 3)
    checkpoints/iter-NNNN/   networks, optimizer slots, EM state after iteration N
    branch.json        with --branch-from: the run and checkpoint this run started from
    saved_model/       the serving export (see gan_em_tf.export)
    .lock              while a run trains: flock-ed by it, with its host and pid (no second process writes there)

An existing run is never replaced unless ``--overwrite``; ``--resume``
continues from the newest complete checkpoint; ``--branch-from`` starts a new
run folder from a copy of another run's checkpoint.
"""
from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import socket

try:
    import fcntl
except ImportError:  # Windows: run folders are not locked (rundir.lock)
    fcntl = None

import numpy as np

from gan_em_tf.errors import UserError

CHECKPOINTS = "checkpoints"
LOCK = ".lock"  # flock-ed by the process training in the folder; holds its {"host", "pid"}
DATA_INFO = "data.json"  # name, shape and size of the data the run was trained on
NETWORKS = ("generator", "discriminator", "enet")


def prepare(run_dir: str, overwrite: bool, resume: bool, marker: str = "config.json") -> None:
    """Create ``run_dir`` for a new run (or check for ``--resume`` that it holds one: the file ``marker``)."""
    if overwrite and resume:
        raise UserError("--overwrite and --resume contradict each other; pass one")
    exists = os.path.isdir(run_dir) and bool(os.listdir(run_dir))
    if resume:
        if not os.path.isfile(os.path.join(run_dir, marker)):
            raise UserError(f"--resume: {run_dir} holds no run (no {marker}); start it without --resume")
        return
    if exists and not overwrite:
        raise UserError(f"--out {run_dir} already holds a run; pass --overwrite to replace it or --resume to "
                        "continue it")
    if os.path.exists(run_dir) and not os.path.isdir(run_dir):
        raise UserError(f"--out {run_dir} is a file, not a folder; choose another --out")
    try:
        if exists:
            shutil.rmtree(run_dir)
        os.makedirs(run_dir, exist_ok=True)
        probe = os.path.join(run_dir, ".write-test")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as e:
        raise UserError(f"cannot write to --out {run_dir} ({e.strerror}); choose a writable --out") from None


def _holder_pid(lock_file: str) -> str:
    """The pid a lock file names, for messages ("?" when it cannot be read)."""
    try:
        return str(int(read_json(lock_file)["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return "?"


def _try_flock(fd: int, shared: bool = False) -> bool:
    """Take the kernel's exclusive (``shared``: shared) lock on ``fd`` without waiting; False when another open
    file holds it in a conflicting way. On a file system without flock (some network and FUSE mounts) the folder
    is not locked: True."""
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # ENOLCK, EOPNOTSUPP, ...: no locking here
        pass
    return True


def check_not_in_use(run_dir: str) -> None:
    """A one-line error when another process is still training in ``run_dir`` (so --resume, --overwrite or a
    second run cannot write into a live run). A lock file whose process is gone is not in use.

    The check takes a *shared* lock: only a run's exclusive one refuses it, so two processes starting into one
    folder, each checking at the same moment, do not refuse each other."""
    path = os.path.join(run_dir, LOCK)
    if fcntl is None:
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # no lock file (or not readable: nothing to tell)
        return
    try:
        free = _try_flock(fd, shared=True)
    finally:
        os.close(fd)  # also drops the lock if it was taken
    if not free:
        raise UserError(f"--out {run_dir} is in use by a gan-em run still going (process {_holder_pid(path)}); "
                        "wait for it to end or stop it, then --resume")


@contextlib.contextmanager
def lock(run_dir: str):
    """Hold ``run_dir`` for this process while the body runs (see :func:`check_not_in_use`).

    ``.lock`` carries the kernel's exclusive ``flock`` for as long as this process lives, and names its host and
    pid for the message another process prints. The kernel drops the lock when the process ends however it ends,
    so a lock file left by a killed run is simply taken over, and of two processes started into one folder at once
    only one gets it. A process that got the lock on a file its holder removed in between (the path now names
    another file, or none) tries again on what the path names now. Where ``fcntl`` does not exist (Windows) the
    folder is not locked.
    """
    path = os.path.join(run_dir, LOCK)
    if fcntl is None:
        yield
        return
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_flock(fd):
            os.close(fd)
            check_not_in_use(run_dir)  # raises with the holder's pid (passes only if it ended just now)
            continue
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)  # locked a removed file: its holder has just ended; try the path again
    try:
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"host": socket.gethostname(), "pid": os.getpid()}).encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            os.remove(path)  # before the lock is dropped, so no one takes a file about to go
        os.close(fd)


def write_json(path: str, obj) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
    os.replace(tmp, path)


def read_json(path: str):
    with open(path) as f:
        return json.load(f)


def write_metrics_csv(run_dir: str, rows: list[dict]) -> None:
    """Rewrite metrics.csv from all rows so far (rows are small; a resume stays consistent)."""
    if not rows:
        return
    first = ["iteration", "acc", "nmi", "ari", "purity", "error"]
    present = {k for r in rows for k in r}
    keys = [k for k in first if k in present] + sorted(present - set(first))
    path = os.path.join(run_dir, "metrics.csv")
    with open(path + ".tmp", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(path + ".tmp", path)


# ----------------------------------------------------------------------------- checkpoints
def _optimizer_arrays(optimizer) -> dict:
    return {f"v{i:04d}": np.asarray(v.numpy()) for i, v in enumerate(optimizer.variables)}


def save_checkpoint(run_dir: str, iteration: int, networks: dict, optimizers: dict, state: dict,
                    rows: list[dict], keep_every: int = 0) -> str:
    """Write ``checkpoints/iter-NNNN`` atomically (tmp folder + rename); keep the newest and, with
    ``keep_every`` = N > 0, those of every N-th iteration."""
    root = os.path.join(run_dir, CHECKPOINTS)
    os.makedirs(root, exist_ok=True)
    final = os.path.join(root, f"iter-{iteration:04d}")
    tmp = final + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for name, net in networks.items():
        net.save_weights(os.path.join(tmp, f"{name}.weights.h5"))
    for name, opt in optimizers.items():
        np.savez(os.path.join(tmp, f"{name}.optimizer.npz"), **_optimizer_arrays(opt))
    np.savez(os.path.join(tmp, "state.npz"), **state)
    write_json(os.path.join(tmp, "metrics.json"), rows)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    for old in os.listdir(root):
        if not old.startswith("iter-") or old == os.path.basename(final):
            continue
        if keep_every and not old.endswith(".tmp") and checkpoint_iteration(old) % keep_every == 0:
            continue
        shutil.rmtree(os.path.join(root, old), ignore_errors=True)
    return final


def latest_checkpoint(run_dir: str) -> str | None:
    root = os.path.join(run_dir, CHECKPOINTS)
    if not os.path.isdir(root):
        return None
    done = sorted(d for d in os.listdir(root) if d.startswith("iter-") and not d.endswith(".tmp"))
    return os.path.join(root, done[-1]) if done else None


def branch_source(source: str) -> tuple[str, str]:
    """(run folder, checkpoint) named by ``--branch-from SOURCE``: a run folder (its newest checkpoint) or
    one of its ``checkpoints/iter-NNNN`` folders."""
    source = os.path.normpath(source)
    if os.path.basename(os.path.dirname(source)) == CHECKPOINTS:
        run, ckpt = os.path.dirname(os.path.dirname(source)), source
        if not os.path.isfile(os.path.join(ckpt, "state.npz")):
            ckpt = None
    else:
        run, ckpt = source, latest_checkpoint(source)
    if ckpt is None or not os.path.isfile(os.path.join(run, "config.json")):
        raise UserError(f"--branch-from {source}: no run checkpoint there; pass a run folder or one of its "
                        f"{CHECKPOINTS}/iter-NNNN folders")
    return run, ckpt


def branch(source_run: str, ckpt: str, run_dir: str) -> None:
    """Fill the new ``run_dir`` with the source run's config, data record and a copy of ``ckpt``, so that
    ``--resume`` continues from there; the source run is only read."""
    for name in ("config.json", DATA_INFO):
        if os.path.isfile(os.path.join(source_run, name)):
            shutil.copy2(os.path.join(source_run, name), os.path.join(run_dir, name))
    shutil.copytree(ckpt, os.path.join(run_dir, CHECKPOINTS, os.path.basename(ckpt)))
    write_json(os.path.join(run_dir, "branch.json"),
               {"source_run": os.path.abspath(source_run), "checkpoint": os.path.basename(ckpt)})


def checkpoint_iteration(ckpt: str) -> int:
    """The EM iteration a ``checkpoints/iter-NNNN`` folder holds."""
    return int(os.path.basename(ckpt)[len("iter-"):])


def completed_iterations(run_dir: str) -> int:
    """How many EM iterations the newest checkpoint in ``run_dir`` holds (0 without one)."""
    ckpt = latest_checkpoint(run_dir)
    return checkpoint_iteration(ckpt) if ckpt else 0


def load_networks(ckpt: str, networks: dict) -> None:
    for name, net in networks.items():
        net.load_weights(os.path.join(ckpt, f"{name}.weights.h5"))


def load_checkpoint(ckpt: str, networks: dict, optimizers: dict) -> tuple[dict, list[dict]]:
    """Restore networks and optimizer slots in place; return (EM state, metric rows)."""
    load_networks(ckpt, networks)
    for name, opt in optimizers.items():
        with np.load(os.path.join(ckpt, f"{name}.optimizer.npz")) as saved:
            arrays = [saved[k] for k in sorted(saved.files)]
        if len(arrays) != len(opt.variables):
            raise UserError(f"checkpoint {ckpt} does not match this model ({name} optimizer); start a new --out")
        for var, arr in zip(opt.variables, arrays):
            var.assign(arr)
    with np.load(os.path.join(ckpt, "state.npz")) as s:
        state = {k: s[k] for k in s.files}
    return state, read_json(os.path.join(ckpt, "metrics.json"))
