"""GAN-EM's EM loop (paper Algorithm 1) with checkpoints, resume and run outputs.

    w ← 1/K                                  (line 1)
    for iteration = 1..n:
        φ_i ← N_i / N = mean_x w_i(x)        (lines 3–4, §4.1)
        p epochs of the M-step GAN           (lines 5–8, Eq. 1–2)
        q steps of the E-net on G(z, c)      (lines 9–12, Eq. 5)
        w ← E(x_real)                        (line 13, Eq. 4)

Learning rates decay by ``lr_decay`` per EM iteration. After each iteration the
networks, optimizer slots, w, φ and the iteration number are checkpointed; all
noise and shuffling is drawn from stateless seeds of (seed, iteration), so a
resumed run continues exactly where the interrupted one stopped.
"""
from __future__ import annotations

import os
import time

import keras
import numpy as np
import tensorflow as tf

from gan_em_tf import data as data_lib
from gan_em_tf import metrics, networks, plots, rundir
from gan_em_tf.config import RunConfig
from gan_em_tf.distribute import make_strategy
from gan_em_tf.errors import UserError
from gan_em_tf.gan_em.models import EStep, MStep

SAMPLES_PER_ROW = 10


def _optimizer(train, lr):
    if train.optimizer == "adam":
        return keras.optimizers.Adam(lr, beta_1=train.adam_beta1, beta_2=0.999)
    if train.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(lr)
    raise UserError(f"unknown optimizer {train.optimizer!r}; use adam or rmsprop")


class GanEm:
    """The three networks, their two training phases and the EM state of one run."""

    def __init__(self, cfg: RunConfig, shape: tuple, n_samples: int, strategy=None):
        t, k = cfg.train, cfg.clusters
        self.cfg, self.shape, self.k = cfg, tuple(shape), k
        self.strategy = strategy or make_strategy(cfg.runtime.strategy)
        keras.utils.set_random_seed(cfg.runtime.seed)
        sync = self.strategy.num_replicas_in_sync > 1
        with self.strategy.scope():
            self.generator = networks.build_generator(self.shape, k, t.noise_dim, sync_bn=sync)
            self.discriminator = networks.build_discriminator(self.shape, k, sync_bn=sync)
            self.enet = networks.build_enet(self.shape, k, sync_bn=sync)
            self.optimizers = {"g": _optimizer(t, t.lr_g), "d": _optimizer(t, t.lr_d), "e": _optimizer(t, t.lr_e)}
            self.m_step = MStep(self.generator, self.discriminator, k, t.generator_loss, t.real_unit_weight,
                                t.d_fake_targets, enet=self.enet, info_weight=t.info_weight)
            self.m_step.compile(self.optimizers["g"], self.optimizers["d"], self.optimizers["e"],
                                jit_compile=cfg.runtime.jit_compile)
            self.e_step = EStep(self.generator, self.enet, k)
            self.e_step.compile(self.optimizers["e"], jit_compile=cfg.runtime.jit_compile)
        self.base_lr = {"g": t.lr_g, "d": t.lr_d, "e": t.lr_e}
        self.w = np.full((n_samples, k), 1.0 / k, np.float32)  # Algorithm 1, line 1
        self.phi = np.full(k, 1.0 / k, np.float64)
        self.iteration = 0  # completed EM iterations

    @property
    def networks(self) -> dict:
        return {"generator": self.generator, "discriminator": self.discriminator, "enet": self.enet}

    # ------------------------------------------------------------------ one EM iteration
    def set_learning_rates(self) -> None:
        decay = self.cfg.train.lr_decay ** self.iteration
        for key, opt in self.optimizers.items():
            opt.learning_rate.assign(self.base_lr[key] * decay)

    def m_step_fit(self, x: np.ndarray, verbose: int) -> dict:
        """p epochs of the M-step GAN on (x, w) (Algorithm 1, lines 3–8)."""
        t, s = self.cfg.train, self.cfg.schedule
        steps = len(x) // t.batch_size
        if steps < 1:
            raise UserError(f"only {len(x)} samples for a batch of {t.batch_size}; lower --batch-size")
        ds = data_lib.real_batches(x, self.w, t.batch_size, self.cfg.runtime.seed, self.iteration, t.noise_dim,
                                   self.k, epochs=s.m_epochs)
        # one fit "epoch" = the whole M-step (p passes), so it shows as one progress bar
        hist = self.m_step.fit(ds, epochs=1, steps_per_epoch=steps * s.m_epochs, verbose=verbose, shuffle=False)
        return {k: v[-1] for k, v in hist.history.items()}

    def e_step_fit(self, verbose: int) -> dict:
        """q E-net steps on generated batches, c ~ φ or balanced (lines 9–12, Eq. 5)."""
        t, s = self.cfg.train, self.cfg.schedule
        ds = data_lib.noise_batches(t.e_batch_size, s.e_steps, self.cfg.runtime.seed, self.iteration, t.noise_dim,
                                    self.phi, balanced=t.e_class_prior == "uniform")
        hist = self.e_step.fit(ds, epochs=1, steps_per_epoch=s.e_steps, verbose=verbose, shuffle=False)
        return {k: v[-1] for k, v in hist.history.items()}

    def posterior(self, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
        """w = softmax(E(x)) (Eq. 4)."""
        logits = self.enet.predict(x, batch_size=batch_size, verbose=0)
        return tf.nn.softmax(logits).numpy().astype(np.float32)

    def em_iteration(self, x: np.ndarray, verbose: int) -> dict:
        self.set_learning_rates()
        self.phi = self.w.mean(axis=0).astype(np.float64)  # φ_i = N_i / N
        m_logs = self.m_step_fit(x, verbose)
        e_logs = self.e_step_fit(verbose)
        self.w = self.posterior(x)  # line 13
        self.iteration += 1
        return {**m_logs, **e_logs}

    # ------------------------------------------------------------------ checkpoint state
    def state(self) -> dict:
        return {"w": self.w, "phi": self.phi, "iteration": np.int64(self.iteration)}

    def restore(self, ckpt: str) -> list[dict]:
        state, rows = rundir.load_checkpoint(ckpt, self.networks, self.optimizers)
        if state["w"].shape != self.w.shape:
            raise UserError(f"checkpoint {ckpt} holds w of shape {state['w'].shape}, but this run has "
                            f"{self.w.shape} (data or K changed); start a new --out")
        self.w, self.phi, self.iteration = state["w"], state["phi"], int(state["iteration"])
        return rows

    def sample_grid(self, per_cluster: int = SAMPLES_PER_ROW, seed: int = 0) -> np.ndarray:
        """[K, per_cluster, *shape] generated samples, one row per cluster."""
        rng = np.random.default_rng(seed)
        z = rng.random((self.k * per_cluster, self.cfg.train.noise_dim), dtype=np.float32)
        c = np.repeat(np.arange(self.k), per_cluster)
        imgs = self.generator.predict([z, np.eye(self.k, dtype=np.float32)[c]], verbose=0)
        return imgs.reshape((self.k, per_cluster) + self.shape)


def initial_w_from_kmeans(x: np.ndarray, k: int, seed: int, confidence: float = 0.9) -> np.ndarray:
    """An optional start for w (``--init kmeans``; the paper starts from uniform w):
    ``confidence`` on the k-means cluster of each sample, the rest spread evenly."""
    from gan_em_tf.baselines import fit_predict

    hard = fit_predict("kmeans", x, k, seed)
    w = np.full((len(x), k), (1.0 - confidence) / (k - 1), np.float32)
    w[np.arange(len(x)), hard] = confidence
    return w


def _log_line(it: int, n: int, row: dict) -> str:
    scores = " ".join(f"{k}={row[k]:.4f}" for k in ("acc", "nmi", "ari") if k in row)
    losses = " ".join(f"{k}={row[k]:.4f}" for k in ("d_loss", "g_loss", "info_loss", "e_loss", "e_acc") if k in row)
    return (f"[EM {it}/{n}] {scores} | phi min={row['phi_min']:.3f} max={row['phi_max']:.3f} "
            f"| {losses} | {row['seconds']:.1f}s")


def run(cfg: RunConfig, run_dir: str, resume: bool = False, dataset: data_lib.Dataset | None = None,
        export: bool = True, log=print) -> dict:
    """Train GAN-EM on the configured data, writing everything into ``run_dir``.

    ``rundir.prepare`` must have been called (the CLI does). Returns the summary.
    """
    ds = dataset if dataset is not None else data_lib.load(cfg.data)
    k, n = cfg.clusters, len(ds)
    if k < 2:
        raise UserError(f"--clusters must be at least 2, got {k}")
    if k > n:
        raise UserError(f"--clusters {k} is larger than the {n} samples; lower --clusters")
    if cfg.runtime.deterministic:
        tf.config.experimental.enable_op_determinism()
    if cfg.runtime.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = GanEm(cfg, ds.shape, n)
    rows: list[dict] = []
    ckpt = rundir.latest_checkpoint(run_dir) if resume else None
    if ckpt:
        rows = model.restore(ckpt)
        log(f"resumed from {ckpt} after EM iteration {model.iteration}")
    else:
        if cfg.train.init == "kmeans":
            model.w = initial_w_from_kmeans(ds.x, k, cfg.runtime.seed)
        rundir.write_json(os.path.join(run_dir, "config.json"), cfg.to_dict())
        rundir.write_json(os.path.join(run_dir, rundir.DATA_INFO),
                          {"name": ds.name, "shape": list(ds.shape), "n_samples": n})
    start = time.time() - sum(r["seconds"] for r in rows)
    total = cfg.schedule.iterations
    verbose = cfg.runtime.verbose
    while model.iteration < total:
        t0 = time.time()
        if verbose:
            log(f"EM iteration {model.iteration + 1}/{total}: M-step {cfg.schedule.m_epochs} epochs, "
                f"E-step {cfg.schedule.e_steps} steps")
        logs = model.em_iteration(ds.x, verbose=1 if verbose > 1 else 0)
        row = {"iteration": model.iteration}
        assign = model.w.argmax(axis=1)
        if ds.y is not None:
            sc = metrics.cluster_scores(ds.y, assign, k)
            row.update({key: sc[key] for key in ("acc", "nmi", "ari", "purity", "error")})
        row.update({key: float(v) for key, v in logs.items()})
        row.update(phi_min=float(model.phi.min()), phi_max=float(model.phi.max()),
                   clusters_used=int(len(np.unique(assign))), seconds=time.time() - t0)
        rows.append(row)
        rundir.save_checkpoint(run_dir, model.iteration, model.networks, model.optimizers, model.state(), rows)
        rundir.write_metrics_csv(run_dir, rows)
        log(_log_line(model.iteration, total, row))
    return finish(model, ds, rows, run_dir, time.time() - start, export=export)


def finish(model: GanEm, ds, rows: list[dict], run_dir: str, seconds: float, export: bool = True) -> dict:
    """Write summary.json, assignments.npy, samples.png, convergence.png and saved_model/."""
    cfg = model.cfg
    assign = model.w.argmax(axis=1)
    np.save(os.path.join(run_dir, "assignments.npy"), assign)
    summary = {"clusters": cfg.clusters, "n_samples": len(ds), "seconds": round(seconds, 1),
               "seed": cfg.runtime.seed, "dataset": ds.name, "iterations": model.iteration,
               "config": cfg.train.preset, "clusters_used": int(len(np.unique(assign)))}
    if ds.y is not None:
        summary.update(metrics.cluster_scores(ds.y, assign, cfg.clusters))
    else:
        summary.update({key: None for key in ("acc", "nmi", "ari", "purity", "error")})
    rundir.write_json(os.path.join(run_dir, "summary.json"), summary)
    title = f"GAN-EM {ds.name} K={cfg.clusters} seed={cfg.runtime.seed}"
    plots.sample_grid(model.sample_grid(), os.path.join(run_dir, "samples.png"), title)
    plots.convergence(rows, os.path.join(run_dir, "convergence.png"), title)
    if export:
        from gan_em_tf import export as export_lib

        export_lib.export_run(run_dir, os.path.join(run_dir, "saved_model"))
    return summary
