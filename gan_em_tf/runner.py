"""The method-neutral EM runner: iterations, checkpoints and resume, metrics.csv, the log line, summary,
figures and the SavedModel, around any :class:`~gan_em_tf.method.Method`.

After each EM iteration the networks, optimizer slots and the method's EM state are checkpointed
(:mod:`gan_em_tf.rundir`); methods draw all noise and shuffling from stateless seeds of (seed,
iteration), so a resumed run continues where the interrupted one stopped. The run ends by writing
``summary.json``, ``assignments.npy`` (what the exported ``assign`` endpoint gives), ``samples.png``,
``convergence.png``, ``embedding.*`` and ``saved_model/`` from the live networks.
"""
from __future__ import annotations

import os
import time

import numpy as np

from gan_em_tf import data as data_lib
from gan_em_tf import embedding, export, methods, metrics, plots, rundir
from gan_em_tf.config import RunConfig
from gan_em_tf.distribute import make_strategy, xla_supported
from gan_em_tf.scoring import Task
from gan_em_tf.tensorboard import Board
from gan_em_tf.training import runtime_scope

SAMPLES_PER_ROW = 10
SUMMARY_KEYS = ("task", "acc", "nmi", "ari", "purity", "error", "mean_attribute_error", "embedding_knn_acc",
                "clusters", "n_samples", "seconds", "seed")  # the summary line the CLI prints


def build(cfg: RunConfig, shape: tuple, n_samples: int, strategy=None):
    """The run's method object, networks built in ``strategy``'s scope (default: ``--strategy``)."""
    strategy = strategy or make_strategy(cfg.runtime.strategy)
    return methods.module(cfg.method, "method").build(cfg, tuple(shape), n_samples, strategy)


def run(cfg: RunConfig, run_dir: str, resume: bool = False, dataset: data_lib.Dataset | None = None,
        export_model: bool = True, log=print, heldout: data_lib.Dataset | None = None,
        stop_requested=lambda: False, tensorboard: bool = True) -> dict:
    """Train ``cfg.method`` on the configured data, writing everything into ``run_dir``.

    ``rundir.prepare`` must have been called (the CLI does). ``heldout`` is the labelled test data of a
    semi-supervised run (default: the unlabelled rest). ``tensorboard``: write RUN_DIR/tensorboard/
    (:mod:`gan_em_tf.tensorboard`). ``stop_requested()`` is asked after each checkpoint;
    True ends the run with KeyboardInterrupt (the CLI's answer to a stop signal TensorFlow swallowed).
    Returns the summary.
    """
    ds = dataset if dataset is not None else data_lib.load(cfg.data)
    methods.module(cfg.method, "checks").validate(cfg, ds)
    task = Task(cfg, ds, heldout)
    with runtime_scope(cfg.runtime):
        method = build(_without_xla(cfg, log) if not xla_supported(cfg.runtime.strategy) else cfg, ds.shape, len(ds))
        rows: list[dict] = []
        ckpt = rundir.latest_checkpoint(run_dir) if resume else None
        rundir.write_json(os.path.join(run_dir, "config.json"), cfg.to_dict())  # a resume may have changed it
        if ckpt:
            state, rows = rundir.load_checkpoint(ckpt, method.networks, method.optimizers)
            method.load_state(state)
            log(f"resumed from {ckpt} after EM iteration {method.iteration}")
        else:
            what = method.describe_start()
            if cfg.runtime.verbose and what:
                log(f"start: {what}")
            method.start(ds.x, task.labelled)
            rundir.write_json(os.path.join(run_dir, rundir.DATA_INFO),
                              {"name": ds.name, "shape": list(ds.shape), "n_samples": len(ds)})
        images = data_lib.hold(ds.x)  # the methods' pipelines and predictions read this one copy
        start = time.time() - sum(r["seconds"] for r in rows)
        total, verbose = cfg.schedule.iterations, cfg.runtime.verbose
        board = Board(run_dir) if tensorboard else None
        try:
            while method.iteration < total:
                t0 = time.time()
                if verbose:
                    log(f"EM iteration {method.iteration + 1}/{total}: {method.describe_next()}")
                result = method.em_iteration(images, verbose=1 if verbose > 1 else 0, labelled=task.labelled)
                scores = task.scores(method, ds, result.assign)
                row = {"iteration": method.iteration, **{k: v for k, v in scores.items() if isinstance(v, float)},
                       **result.logs, "clusters_used": metrics.clusters_used(result.assign),
                       "seconds": time.time() - t0}
                rows.append(row)
                rundir.save_checkpoint(run_dir, method.iteration, method.networks, method.optimizers,
                                       method.state(), rows, keep_every=cfg.runtime.keep_every)
                rundir.write_metrics_csv(run_dir, rows)
                log(log_line(method, total, row, majority=scores.get("error_mapping") == "majority"))
                if board is not None:
                    board.iteration(row, method.sample_grid(SAMPLES_PER_ROW, seed=0))
                if stop_requested():
                    raise KeyboardInterrupt
        finally:
            if board is not None:
                board.close()
        return finish(method, ds, images, rows, run_dir, time.time() - start, task, export_model)


def _without_xla(cfg: RunConfig, log) -> RunConfig:
    """A copy of ``cfg`` that builds its steps without XLA (config.json keeps the run's own choice, so a later
    resume on one process compiles again)."""
    import copy

    if cfg.runtime.jit_compile:
        log("XLA off: TensorFlow has no XLA collectives for CPUs, which --strategy multi-worker needs here")
    built = copy.deepcopy(cfg)
    built.runtime.jit_compile = False
    return built


def log_line(method, total: int, row: dict, majority: bool = False) -> str:
    """One EM iteration's log line; ``majority``: K > classes, so Eq. 17's error (each cluster mapped to its
    majority class) is shown too — Hungarian ACC matches only as many clusters as classes."""
    scores = " ".join(f"{k}={row[k]:.4f}" for k in ("acc", "nmi", "ari", "mean_attribute_error") if k in row)
    if majority:
        scores += f" error(majority)={row['error']:.4f}"
    return f"[EM {row['iteration']}/{total}] {scores} | {method.describe_logs(row)} | {row['seconds']:.1f}s"


def finish(method, ds, images, rows: list[dict], run_dir: str, seconds: float, task: Task,
           export_model: bool = True) -> dict:
    """Write summary.json, assignments.npy, samples.png, convergence.png, [embedding.*] and saved_model/.
    ``images``: ``ds.x`` as :func:`gan_em_tf.data.hold` holds it."""
    cfg = method.cfg
    assign = method.posterior(images).argmax(axis=1)  # what the exported assign endpoint gives
    np.save(os.path.join(run_dir, "assignments.npy"), assign)
    summary = {"method": cfg.method, "recipe": cfg.recipe_name, "task": task.name, "clusters": cfg.clusters,
               "n_samples": len(ds), "seconds": round(seconds, 1), "seed": cfg.runtime.seed, "dataset": ds.name,
               "iterations": method.iteration, "clusters_used": metrics.clusters_used(assign),
               **{key: None for key in ("acc", "nmi", "ari", "purity", "error")},
               **task.scores(method, ds, assign)}
    if task.labelled is not None:
        summary.update(labels=cfg.supervision.labels, epsilon=cfg.supervision.epsilon,
                       heldout_samples=len(task.heldout))
    elif ds.y is not None:
        summary["per_cluster"] = metrics.per_cluster(ds.y, assign, cfg.clusters)
    title = f"{cfg.method} {ds.name} K={cfg.clusters} seed={cfg.runtime.seed}"
    features = method.embed(images)
    if features is not None:
        summary.update(write_embedding(features, ds, run_dir, title, cfg.runtime.seed))
    rundir.write_json(os.path.join(run_dir, "summary.json"), summary)
    plots.sample_grid(method.sample_grid(SAMPLES_PER_ROW, seed=0), os.path.join(run_dir, "samples.png"), title)
    plots.convergence(rows, os.path.join(run_dir, "convergence.png"), title)
    if export_model:
        export.write(*method.endpoints(), os.path.join(run_dir, "saved_model"))
    return summary


def write_embedding(features: np.ndarray, ds, run_dir: str, title: str, seed: int) -> dict:
    """embedding.npy (the features of every sample), embedding.png (GAN-EM Fig. 3) and its k-NN score.

    ``pixels_knn_acc`` is the same score for the raw pixels of the same samples (t-SNE of the pixels): the
    reference the learned features should beat.
    """
    np.save(os.path.join(run_dir, "embedding.npy"), features)
    idx = embedding.subsample(len(ds), embedding.TSNE_MAX_POINTS, seed)
    points = embedding.project_2d(features[idx], seed)
    labels = None if ds.y is None else ds.y[idx]
    how = "features" if features.shape[1] <= 2 else "t-SNE of the features"
    plots.embedding_scatter(points, labels, os.path.join(run_dir, "embedding.png"),
                            f"{title} k={features.shape[1]} ({how})")
    out = {"embed_dim": int(features.shape[1]), "embedding_points": int(len(idx))}
    if labels is not None and len(np.unique(labels)) > 1:
        out["embedding_knn_acc"] = embedding.knn_accuracy(points, labels)
        out["pixels_knn_acc"] = embedding.knn_accuracy(embedding.project_2d(ds.x[idx], seed), labels)
    return out


def load_run(run_dir: str):
    """(config, method with the newest checkpoint's weights and state) of a run, built outside any distribution
    strategy under the run's own precision policy — call it inside ``runtime_scope(cfg.runtime)``."""
    from gan_em_tf.errors import UserError

    cfg_path = os.path.join(run_dir, "config.json")
    if not os.path.isfile(cfg_path):
        raise UserError(f"{run_dir} holds no run (no config.json); pass the --out folder of a cluster run")
    cfg = RunConfig.from_dict(rundir.read_json(cfg_path))
    ckpt = rundir.latest_checkpoint(run_dir)
    if ckpt is None:
        raise UserError(f"{run_dir} has no completed EM iteration to export yet; run or --resume it first")
    info = rundir.read_json(os.path.join(run_dir, rundir.DATA_INFO))
    import tensorflow as tf

    method = build(cfg, tuple(info["shape"]), info["n_samples"], strategy=tf.distribute.get_strategy())
    state, _ = rundir.load_checkpoint(ckpt, method.networks, method.optimizers)
    method.load_state(state)
    return cfg, method


def export_run(run_dir: str, dest: str, overwrite: bool = True) -> list[str]:
    """Export the newest checkpoint of ``run_dir`` as a SavedModel at ``dest``; returns the endpoint names."""
    from gan_em_tf.errors import UserError

    if os.path.exists(dest) and not overwrite:
        raise UserError(f"{dest} already exists; pass --overwrite to replace it")
    cfg = RunConfig.from_dict(rundir.read_json(os.path.join(run_dir, "config.json"))) \
        if os.path.isfile(os.path.join(run_dir, "config.json")) else None
    with runtime_scope(cfg.runtime if cfg else RunConfig().runtime):
        _, method = load_run(run_dir)
        return export.write(*method.endpoints(), dest)
