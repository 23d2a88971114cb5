"""GAN-EM's EM loop (paper Algorithm 1) with checkpoints, resume and run outputs.

    w ← 1/K                                  (line 1)
    for iteration = 1..n:
        φ_i ← N_i / N = mean_x w_i(x)        (lines 3–4, §4.1)
        p epochs of the M-step GAN           (lines 5–8, Eq. 1–2)
        q steps of the E-net on G(z, c)      (lines 9–12, Eq. 5)
        [semi-supervised, §5.3: train E on the labelled reals until error < ε]
        w ← E(x_real)                        (line 13, Eq. 4)

Learning rates decay by ``lr_decay`` per EM iteration (from ``lr_decay_start`` on). After each iteration the
networks, optimizer slots, w, φ and the iteration number are checkpointed; all
noise and shuffling is drawn from stateless seeds of (seed, iteration), so a
resumed run continues exactly where the interrupted one stopped.
"""
from __future__ import annotations

import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from gan_em_tf import data as data_lib
from gan_em_tf import embedding, metrics, networks, plots, rundir
from gan_em_tf.config import SUPERVISION_CHECK, RunConfig
from gan_em_tf.distribute import make_strategy
from gan_em_tf.errors import UserError
from gan_em_tf.gan_em import checks, split_merge
from gan_em_tf.gan_em.models import EStep, LabelStep, MStep

SAMPLES_PER_ROW = 10


def make_optimizer(train, lr):
    """The optimizer of one network: Adam (β1 from the preset) or RMSprop at ``lr``."""
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
            nets = networks.build_networks(self.shape, k, t, embed_dim=cfg.embed_dim, sync_bn=sync)
            self.generator, self.discriminator, self.enet = nets["generator"], nets["discriminator"], nets["enet"]
            self.optimizers = {"g": make_optimizer(t, t.lr_g), "d": make_optimizer(t, t.lr_d),
                               "e": make_optimizer(t, t.lr_e)}
            self.m_step = MStep(self.generator, self.discriminator, k, t.generator_loss, t.real_unit_weight,
                                t.d_fake_targets, enet=self.enet, info_weight=t.info_weight)
            self.m_step.compile(self.optimizers["g"], self.optimizers["d"], self.optimizers["e"],
                                jit_compile=cfg.runtime.jit_compile)
            self.e_step = EStep(self.generator, self.enet, k)
            # --e-augment's affine warp (ImageProjectiveTransformV3) has no XLA kernel, so that E-step runs without
            self.e_step.compile(self.optimizers["e"], jit_compile=cfg.runtime.jit_compile and not t.e_augment)
            self.label_step = None
            if cfg.semi_supervised:
                self.label_step = LabelStep(self.enet)
                self.label_step.compile(self.optimizers["e"], jit_compile=cfg.runtime.jit_compile)
        self.base_lr = {"g": t.lr_g, "d": t.lr_d, "e": t.lr_e}
        self.iteration = 0  # completed EM iterations
        a = self.active_clusters  # K, or K0 with --grow-from
        self.w = np.zeros((n_samples, k), np.float32)
        self.w[:, :a] = 1.0 / a  # Algorithm 1, line 1
        self.phi = self.w[0].astype(np.float64)
        self.sm_filled = -1  # the column the last split/merge move filled with a split half (-1: none yet)
        self.sm_hold_left = 0  # EM iterations left in which w keeps the last move's labels (--split-merge-hold)

    @property
    def active_clusters(self) -> int:
        """The columns of w in use: K, or K0 up to EM iteration T with ``--grow-from K0 --grow-after T``."""
        t = self.cfg.train
        return t.grow_from if t.grow_from and self.iteration < t.grow_after else self.k

    @property
    def networks(self) -> dict:
        return {"generator": self.generator, "discriminator": self.discriminator, "enet": self.enet}

    # ------------------------------------------------------------------ one EM iteration
    def set_learning_rates(self) -> None:
        """lr × γ^max(0, iteration − S) (``--lr-decay``, ``--lr-decay-start``); with ``reset_optimizers`` also zero
        each optimizer's step count and slots."""
        decay = self.cfg.train.lr_factor(self.iteration)
        for key, opt in self.optimizers.items():
            if self.cfg.train.reset_optimizers:
                for v in opt.variables:  # the learning rate too; it is set just below
                    v.assign(tf.zeros_like(v))
            opt.learning_rate.assign(self.base_lr[key] * decay)

    def m_epochs(self) -> float:
        """p for the coming EM iteration (passes over the data; may be a fraction): ``first_m_epochs`` for the
        first one and ``split_merge_m_epochs`` for one that follows a split/merge move, when set."""
        s, after_move = self.cfg.schedule, self.cfg.train.split_merge_m_epochs
        if self.iteration == 0 and s.first_m_epochs:
            return s.first_m_epochs
        if after_move and (self.split_merge_due() or self.growth_due()):  # the move just made
            return after_move
        return s.m_epochs

    def m_step_fit(self, x: np.ndarray, verbose: int) -> dict:
        """p epochs of the M-step GAN on (x, w) (Algorithm 1, lines 3–8).

        A fractional p runs that share of a pass (at least one batch), on a
        different shuffle of the data every EM iteration.
        """
        t, epochs = self.cfg.train, self.m_epochs()
        per_pass = len(x) // t.batch_size
        if per_pass < 1:
            raise UserError(f"only {len(x)} samples for a batch of {t.batch_size}; lower --batch-size")
        ds = data_lib.real_batches(x, self.w, t.batch_size, self.cfg.runtime.seed, self.iteration, t.noise_dim,
                                   self.active_clusters, epochs=math.ceil(epochs))
        # one fit "epoch" = the whole M-step (p passes), so it shows as one progress bar
        hist = self.m_step.fit(ds, epochs=1, steps_per_epoch=max(1, round(per_pass * epochs)), verbose=verbose,
                               shuffle=False)
        return {k: v[-1] for k, v in hist.history.items()}

    @property
    def e_jitter(self) -> bool:
        """Whether the coming E-step jitters G's samples: ``--e-augment``, from EM iteration S + 1 on with
        ``--e-augment-start S``."""
        t = self.cfg.train
        return t.e_augment and self.iteration >= t.e_augment_start

    def e_step_fit(self, verbose: int) -> dict:
        """q E-net steps on generated batches, c ~ φ or balanced (lines 9–12, Eq. 5); jittered with
        ``--e-augment`` (:attr:`e_jitter`)."""
        t, s = self.cfg.train, self.cfg.schedule
        ds = data_lib.noise_batches(t.e_batch_size, s.e_steps, self.cfg.runtime.seed, self.iteration, t.noise_dim,
                                    self.phi[:self.active_clusters], balanced=t.e_class_prior == "uniform",
                                    jitter=self.e_jitter)
        hist = self.e_step.fit(ds, epochs=1, steps_per_epoch=s.e_steps, verbose=verbose, shuffle=False)
        return {k: v[-1] for k, v in hist.history.items()}

    def supervise(self, x_l: np.ndarray, y_l: np.ndarray) -> dict:
        """§5.3: train the E-net on the labelled reals until its error on them is below ε.

        The error is measured in inference mode before training and then every
        ``SUPERVISION_CHECK`` steps (at least one pass over the labelled set);
        training stops once it is below ``--epsilon`` or once ``--label-steps``
        (rounded up to whole checks) have run. The steps run at ``--label-lr`` when
        given (the E-step's rate otherwise), which is put back afterwards.
        """
        sup, batch = self.cfg.supervision, min(self.cfg.train.batch_size, len(x_l))
        error = _error(self.enet, x_l, y_l)
        steps = 0
        if error >= sup.epsilon:
            rate = self.optimizers["e"].learning_rate
            e_step_rate = float(rate.numpy())
            if sup.lr is not None:  # --label-lr, decayed like the E-step's rate
                rate.assign(sup.lr * self.cfg.train.lr_factor(self.iteration))
            per_round = max(SUPERVISION_CHECK, len(x_l) // batch)
            ds = data_lib.labelled_batches(x_l, y_l, batch, self.cfg.runtime.seed, self.iteration).repeat()
            stop = _StopBelowError(self.enet, x_l, y_l, sup.epsilon)
            rounds = -(-sup.max_steps // per_round)
            self.label_step.fit(ds, epochs=rounds, steps_per_epoch=per_round, verbose=0, shuffle=False,
                                callbacks=[stop])
            rate.assign(e_step_rate)
            error, steps = stop.error, stop.rounds * per_round
        return {"label_error": error, "label_steps": steps}

    def posterior(self, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
        """w = softmax(E(x)) (Eq. 4), over the columns in use (:attr:`active_clusters`; the others get 0)."""
        logits = self.enet.predict(x, batch_size=batch_size, verbose=0)
        logits[:, self.active_clusters:] = -np.inf
        return tf.nn.softmax(logits).numpy().astype(np.float32)

    def em_iteration(self, x: np.ndarray, verbose: int, labelled: tuple | None = None) -> dict:
        """One pass of Algorithm 1's loop; ``labelled`` = (x_l, y_l) for semi-supervised runs."""
        self.set_learning_rates()
        self.phi = self.w.mean(axis=0).astype(np.float64)  # φ_i = N_i / N
        self.m_step.g_class_weight.assign(1.0 if self.iteration + 1 >= self.cfg.train.g_class_start else 0.0)
        m_logs = self.m_step_fit(x, verbose)
        e_logs = self.e_step_fit(verbose)
        if labelled is not None:
            e_logs.update(self.supervise(*labelled))
        if self.sm_hold_left > 0:  # --split-merge-hold: G and D go on training on the moved labels
            self.sm_hold_left -= 1
            e_logs["w_held"] = 1.0  # the row's scores are the moved labels'
            # label-free sign of whether G and the E-net take the move: rising when they do, flat when it will
            # be undone at release (RESULTS.md, fourteenth session)
            e_logs["e_agrees_held"] = float(np.mean(self.posterior(x).argmax(axis=1) == self.w.argmax(axis=1)))
        else:
            self.w = self.posterior(x)  # line 13
        self.iteration += 1
        return {**m_logs, **e_logs}

    def split_merge_due(self) -> bool:
        """Whether a split/merge move follows the iteration just completed: after S, S + N, ... and, with
        ``--split-merge-final F``, before F and once after F unless its mode is ``none`` (never after the last
        iteration)."""
        t, it = self.cfg.train, self.iteration
        if it >= self.cfg.schedule.iterations:
            return False
        if t.split_merge_final and it >= t.split_merge_final:
            return it == t.split_merge_final and t.split_merge_final_mode != "none"
        first = t.split_merge_start or t.split_merge_every  # S, or N when S = 0
        return bool(t.split_merge_every) and it >= first and (it - first) % t.split_merge_every == 0

    def move_mode(self) -> str:
        """The kind of the move due after the iteration just completed: ``--split-merge-mode``, or for ``alternate``
        smem at the 1st, 3rd, ... move and pair at the 2nd, 4th, ..."""
        t = self.cfg.train
        if _is_final_move(t, self.iteration):
            return t.split_merge_final_mode
        if t.split_merge_mode != "alternate":
            return t.split_merge_mode
        move_index = (self.iteration - (t.split_merge_start or t.split_merge_every)) // t.split_merge_every
        return "smem" if move_index % 2 == 0 else "pair"

    def make_due_move(self, x: np.ndarray, row: dict) -> bool:
        """Make the split/merge move due after the iteration just completed, unless ``row`` (that iteration's
        metrics) records it already, and record it there. Called after each iteration, and on resume, where a
        checkpoint written before --split-merge-* was given holds an iteration whose move was never made."""
        if self.growth_due():  # the growth replaces any move due at T
            if "grown_to" in row:
                return False
            row.update(self.grow_clusters(x))
            return True
        if not self.split_merge_due() or "sm_split" in row or "sm_declined" in row:
            return False
        row.update(self.split_merge_move(x))
        return True

    def growth_due(self) -> bool:
        """Whether the K0 clusters are split into K after the iteration just completed (``--grow-after T``)."""
        return bool(self.cfg.train.grow_from) and self.iteration == self.cfg.train.grow_after

    def d_features(self, x: np.ndarray, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
        """D's penultimate features and its K + 1 logits on x (what the moves split and score by)."""
        disc = self.discriminator
        penultimate = keras.Model(disc.inputs, [disc.layers[-2].output, disc.output])
        return penultimate.predict(x, batch_size=batch_size, verbose=0)

    def grow_clusters(self, x: np.ndarray) -> dict:
        """Split the K0 clusters until all K columns are used (``--grow-from``; :func:`split_merge.grow`); each
        new class starts as a copy of its parent in G, D and the E-net."""
        t = self.cfg.train
        features, _ = self.d_features(x)
        self.w, splits = split_merge.grow(self.w, features, t.grow_from, self.cfg.runtime.seed, split=t.grow_split,
                                          whiten=t.split_merge_whiten)
        for parent, new in splits:
            networks.copy_class(self.generator, self.discriminator, self.enet, parent, new)
        self.sm_hold_left = t.grow_hold
        return {"grown_from": float(t.grow_from), "grown_to": float(self.k)}

    def split_merge_move(self, x: np.ndarray, batch_size: int = 500) -> dict:
        """One split-and-merge move on w (``--split-merge-every``; not in the paper; see :mod:`split_merge`), among
        the columns in use."""
        features, logits = self.d_features(x, batch_size)
        used = self.active_clusters
        w = self.w[:, :used]
        assign = w.argmax(axis=1)
        mode, seed, whiten = self.move_mode(), self.cfg.runtime.seed, self.cfg.train.split_merge_whiten
        if mode in ("cross", "cross-if-correlated", "cross-graph"):
            pair = split_merge.aligned_pair(assign, features, used, seed, whiten)
            if pair is None:  # w has collapsed onto one cluster: no move
                return {}
            i, j, cos, smaller_half = pair
            k = i  # logged like a pair re-split
            if mode == "cross-if-correlated" and {i, j} != set(split_merge.pair_to_resplit(w)):
                # the two label-free choosers disagree: on MNIST-test such cross moves were wrong (RESULTS.md)
                return {"sm_declined": 1.0, "sm_merge_into": float(i), "sm_freed": float(j)}
            if mode == "cross-graph":  # the same pair, dealt out again by a cut of its images' k-NN graph
                members = np.flatnonzero((assign == i) | (assign == j))
                second = _members_mask(len(x), members, split_merge.graph_halves(x[members], seed))
            else:
                second = split_merge.cross_mask(assign, smaller_half, i, j, cos)
        else:
            if mode == "pair":
                i, j = split_merge.pair_to_resplit(w)
                k = i  # the pooled pair is what gets split
                members = np.flatnonzero((assign == i) | (assign == j))
            else:
                protect = (self.sm_filled,) if self.cfg.train.split_merge_protect_new and self.sm_filled >= 0 else ()
                k, i, j = split_merge.choose_move(w, logits[:, :used], protect=protect)
                members = np.flatnonzero(assign == k)
            second = _members_mask(len(x), members, split_merge.halves(features[members], seed, whiten=whiten))
        if mode == "smem":
            w = split_merge.apply_move(w, k, i, j, second)
            self.sm_filled = j
        else:
            w = split_merge.resplit_pair(w, i, j, second)
        self.w = np.concatenate([w, self.w[:, used:]], axis=1)
        t = self.cfg.train
        self.sm_hold_left = t.split_merge_final_hold if _is_final_move(t, self.iteration) else t.split_merge_hold
        return {"sm_split": float(k), "sm_merge_into": float(i), "sm_freed": float(j), "sm_moved": float(second.sum())}

    def embed(self, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
        """Layer r's activations for x (§5.4); needs ``embed_dim`` > 0."""
        return networks.embedding_model(self.enet).predict(x, batch_size=batch_size, verbose=0)

    # ------------------------------------------------------------------ checkpoint state
    def state(self) -> dict:
        return {"w": self.w, "phi": self.phi, "iteration": np.int64(self.iteration),
                "sm_filled": np.int64(self.sm_filled), "sm_hold_left": np.int64(self.sm_hold_left)}

    def restore(self, ckpt: str) -> list[dict]:
        state, rows = rundir.load_checkpoint(ckpt, self.networks, self.optimizers)
        if state["w"].shape != self.w.shape:
            raise UserError(f"checkpoint {ckpt} holds w of shape {state['w'].shape}, but this run has "
                            f"{self.w.shape} (data or K changed); start a new --out")
        self.w, self.phi, self.iteration = state["w"], state["phi"], int(state["iteration"])
        self.sm_filled = int(state.get("sm_filled", -1))  # checkpoints before --split-merge-protect-new lack it
        # older checkpoints lack it; a branch or resume with a shorter --split-merge-hold holds no longer than that
        t = self.cfg.train
        # the hold of the last move this run's schedule made by now; the checkpoint of iteration F is written after
        # the final move, so from F on that move's hold is the one that counts
        own_hold = t.split_merge_final_hold if t.split_merge_final and self.iteration >= t.split_merge_final \
            else t.split_merge_hold
        if t.grow_from and self.iteration >= t.grow_after:
            own_hold = max(own_hold, t.grow_hold)  # a cap: the growth's hold may be the one still running
        self.sm_hold_left = min(int(state.get("sm_hold_left", 0)), own_hold)
        return rows

    def sample_grid(self, per_cluster: int = SAMPLES_PER_ROW, seed: int = 0) -> np.ndarray:
        """[K, per_cluster, *shape] generated samples, one row per cluster."""
        rng = np.random.default_rng(seed)
        z = rng.random((self.k * per_cluster, self.cfg.train.noise_dim), dtype=np.float32)
        c = np.repeat(np.arange(self.k), per_cluster)
        imgs = self.generator.predict([z, np.eye(self.k, dtype=np.float32)[c]], verbose=0)
        return imgs.reshape((self.k, per_cluster) + self.shape)


def _members_mask(n: int, members: np.ndarray, half: np.ndarray) -> np.ndarray:
    """[n] bool mask of the images ``members[half]``: the half of a split that moves to the other column."""
    mask = np.zeros(n, bool)
    mask[members[half]] = True
    return mask


def _is_final_move(train, iteration: int) -> bool:
    """Whether the move after EM iteration ``iteration`` is ``--split-merge-final``'s last one."""
    return bool(train.split_merge_final) and iteration == train.split_merge_final


def _error(enet, x, y, batch_size: int = 500) -> float:
    """Classification error of the E-net (inference mode) on labelled images."""
    pred = np.concatenate([np.asarray(enet(x[i:i + batch_size], training=False)).argmax(axis=1)
                           for i in range(0, len(x), batch_size)])
    return float(np.mean(pred != y))


class _StopBelowError(keras.callbacks.Callback):
    """Stops a LabelStep fit once the E-net's error on the labelled set is below ε (§5.3)."""

    def __init__(self, enet, x, y, epsilon: float):
        super().__init__()
        self.enet, self.x, self.y, self.epsilon = enet, x, y, epsilon
        self.error, self.rounds = 1.0, 0

    def on_epoch_end(self, epoch, logs=None):
        self.rounds = epoch + 1
        self.error = _error(self.enet, self.x, self.y)
        if self.error < self.epsilon:
            self.model.stop_training = True


def initial_w_from_kmeans(x: np.ndarray, k: int, seed: int, confidence: float = 0.9) -> np.ndarray:
    """An optional start for w (``--init kmeans``; the paper starts from uniform w):
    ``confidence`` on the k-means cluster of each sample, the rest spread evenly."""
    from gan_em_tf.baselines import fit_predict

    hard = fit_predict("kmeans", x, k, seed)
    w = np.full((len(x), k), (1.0 - confidence) / (k - 1), np.float32)
    w[np.arange(len(x)), hard] = confidence
    return w


def _log_line(it: int, n: int, row: dict, majority_error: bool = False) -> str:
    """One EM iteration's log line; ``majority_error``: K > classes, so the Eq. 17 error (each cluster
    mapped to its majority class) is shown too — Hungarian ACC matches only as many clusters as classes."""
    scores = " ".join(f"{k}={row[k]:.4f}" for k in ("acc", "nmi", "ari", "mean_attribute_error") if k in row)
    if majority_error:
        scores += f" error(majority)={row['error']:.4f}"
    losses = " ".join(f"{k}={row[k]:.4f}" for k in ("d_loss", "g_loss", "info_loss", "e_loss", "e_acc", "label_error")
                      if k in row)
    held = f" | w held (E agrees {row['e_agrees_held']:.3f})" if row.get("w_held") else ""
    return (f"[EM {it}/{n}] {scores} | phi min={row['phi_min']:.3f} max={row['phi_max']:.3f} "
            f"| {losses}{held}{_move_text(row)} | {row['seconds']:.1f}s")


def _move_text(row: dict) -> str:
    """The split/merge move recorded in a metrics row, as the log shows it ('' when the row has none)."""
    if "grown_to" in row:  # --grow-from
        return f" | grew {row['grown_from']:.0f} → {row['grown_to']:.0f} clusters (2-means splits of the largest)"
    if "sm_declined" in row:  # --split-merge-final-mode cross-if-correlated
        return (f" | no move: the cross pair {row['sm_merge_into']:.0f}+{row['sm_freed']:.0f} is not the pair whose "
                "posteriors correlate most")
    if "sm_split" in row and row["sm_split"] == row["sm_merge_into"]:  # --split-merge-mode pair or cross
        return (f" | re-split {row['sm_merge_into']:.0f}+{row['sm_freed']:.0f} "
                f"({row['sm_moved']:.0f} to {row['sm_freed']:.0f})")
    if "sm_split" in row:
        return (f" | split {row['sm_split']:.0f} ({row['sm_moved']:.0f} to {row['sm_freed']:.0f}), "
                f"merged {row['sm_freed']:.0f} into {row['sm_merge_into']:.0f}")
    return ""


class _Task:
    """What a run is scored on: clustering, semi-supervised classification (§5.3), or CelebA attributes.

    * clustering with labels: Hungarian ACC etc. of argmax w against y (Eq. 17);
    * semi-supervised (``--labels N``): N labelled examples picked from y, the
      E-net's predictions scored as class ids on the held-out data (the test
      split when given, else the unlabelled rest);
    * unlabelled data with named binary attributes (CelebA): the error against
      every attribute and their mean (Table 1, column 5).
    """

    def __init__(self, cfg: RunConfig, ds: data_lib.Dataset, heldout: data_lib.Dataset | None):
        self.labelled = None
        self.heldout = heldout
        self.rest = None  # mask of the unlabelled training samples when they are the held-out data
        if cfg.semi_supervised:
            split = data_lib.split_labelled(ds, cfg.supervision.labels, cfg.runtime.seed, heldout)
            self.labelled = (split.x_labelled, split.y_labelled)
            self.heldout, self.rest = split.heldout, split.rest

    def scores(self, model: "GanEm", ds: data_lib.Dataset, assign: np.ndarray) -> dict:
        """Scores of ``assign`` = argmax w (E on the training data, just computed by the loop)."""
        if self.labelled is not None:
            # the unlabelled rest is already scored by w; only a separate test split needs E run again
            pred = assign[self.rest] if self.rest is not None else model.posterior(self.heldout.x).argmax(axis=1)
            return metrics.classification_scores(self.heldout.y, pred)
        if ds.y is not None:
            return metrics.cluster_scores(ds.y, assign, model.k)
        if ds.attributes:
            errors = metrics.attribute_errors(ds.attributes, assign)
            return {"mean_attribute_error": float(np.mean(list(errors.values()))), "attribute_errors": errors}
        return {}


def run(cfg: RunConfig, run_dir: str, resume: bool = False, dataset: data_lib.Dataset | None = None,
        export: bool = True, log=print, heldout: data_lib.Dataset | None = None,
        stop_requested=lambda: False) -> dict:
    """Train GAN-EM on the configured data, writing everything into ``run_dir``.

    ``rundir.prepare`` must have been called (the CLI does). ``heldout`` is the
    labelled test data of a semi-supervised run (default: the unlabelled rest).
    ``stop_requested()`` is asked after each checkpoint; True ends the run with
    KeyboardInterrupt (the CLI's answer to a stop signal TensorFlow swallowed).
    Returns the summary.
    """
    ds = dataset if dataset is not None else data_lib.load(cfg.data)
    k, n = cfg.clusters, len(ds)
    checks.validate(cfg, ds)
    task = _Task(cfg, ds, heldout)
    if cfg.runtime.deterministic:
        tf.config.experimental.enable_op_determinism()
    if cfg.runtime.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = GanEm(cfg, ds.shape, n)
    rows: list[dict] = []
    ckpt = rundir.latest_checkpoint(run_dir) if resume else None
    rundir.write_json(os.path.join(run_dir, "config.json"), cfg.to_dict())  # checked above; a resume may change it
    if ckpt:
        rows = model.restore(ckpt)
        log(f"resumed from {ckpt} after EM iteration {model.iteration}")
        if rows and model.make_due_move(ds.x, rows[-1]):  # moves switched on at S = this checkpoint's iteration
            log(f"split/merge after EM iteration {model.iteration}{_move_text(rows[-1])}")
    else:
        if cfg.train.init == "kmeans":
            model.w = initial_w_from_kmeans(ds.x, k, cfg.runtime.seed)
        rundir.write_json(os.path.join(run_dir, rundir.DATA_INFO),
                          {"name": ds.name, "shape": list(ds.shape), "n_samples": n})
    start = time.time() - sum(r["seconds"] for r in rows)
    total = cfg.schedule.iterations
    verbose = cfg.runtime.verbose
    while model.iteration < total:
        t0 = time.time()
        if verbose:
            log(f"EM iteration {model.iteration + 1}/{total}: M-step {model.m_epochs():g} epochs, "
                f"E-step {cfg.schedule.e_steps} steps")
        logs = model.em_iteration(ds.x, verbose=1 if verbose > 1 else 0, labelled=task.labelled)
        row = {"iteration": model.iteration}
        assign = model.w.argmax(axis=1)
        sc = task.scores(model, ds, assign)
        row.update({key: v for key, v in sc.items() if isinstance(v, float)})
        row.update({key: float(v) for key, v in logs.items()})
        model.make_due_move(ds.x, row)  # scores above are the E-step's w; a move changes w for the next M-step
        phi = model.phi[:cfg.train.grow_from] if "grown_to" in row else model.phi[:model.active_clusters]
        row.update(phi_min=float(phi.min()), phi_max=float(phi.max()),
                   clusters_used=metrics.clusters_used(assign), seconds=time.time() - t0)
        rows.append(row)
        rundir.save_checkpoint(run_dir, model.iteration, model.networks, model.optimizers, model.state(), rows,
                               keep_every=cfg.runtime.keep_every)
        rundir.write_metrics_csv(run_dir, rows)
        log(_log_line(model.iteration, total, row, majority_error=sc.get("error_mapping") == "majority"))
        if stop_requested():
            raise KeyboardInterrupt
    return finish(model, ds, rows, run_dir, time.time() - start, export=export, task=task)


def finish(model: GanEm, ds, rows: list[dict], run_dir: str, seconds: float, export: bool = True,
           task: _Task | None = None) -> dict:
    """Write summary.json, assignments.npy, samples.png, convergence.png, [embedding.*] and saved_model/."""
    cfg = model.cfg
    task = task or _Task(cfg, ds, None)
    assign = model.w.argmax(axis=1)
    np.save(os.path.join(run_dir, "assignments.npy"), assign)
    summary = {"clusters": cfg.clusters, "n_samples": len(ds), "seconds": round(seconds, 1),
               "seed": cfg.runtime.seed, "dataset": ds.name, "iterations": model.iteration,
               "config": cfg.train.preset, "clusters_used": metrics.clusters_used(assign)}
    summary.update({key: None for key in ("acc", "nmi", "ari", "purity", "error")})
    summary.update(task.scores(model, ds, assign))
    if task.labelled is not None:
        summary.update(task="semi-supervised", labels=cfg.supervision.labels, epsilon=cfg.supervision.epsilon,
                       heldout_samples=len(task.heldout))
    else:
        summary["task"] = "clustering"
    title = f"GAN-EM {ds.name} K={cfg.clusters} seed={cfg.runtime.seed}"
    if cfg.embed_dim:
        summary.update(_write_embedding(model, ds, run_dir, title))
    rundir.write_json(os.path.join(run_dir, "summary.json"), summary)
    plots.sample_grid(model.sample_grid(), os.path.join(run_dir, "samples.png"), title)
    plots.convergence(rows, os.path.join(run_dir, "convergence.png"), title)
    if export:
        from gan_em_tf import export as export_lib

        export_lib.export_run(run_dir, os.path.join(run_dir, "saved_model"))
    return summary


def _write_embedding(model: GanEm, ds, run_dir: str, title: str) -> dict:
    """embedding.npy (layer r for every sample), embedding.png (Fig. 3) and its k-NN score.

    ``pixels_knn_acc`` is the same score for the raw pixels of the same samples
    (t-SNE of the pixels): the reference the layer-r picture should beat.
    """
    feats = model.embed(ds.x)
    np.save(os.path.join(run_dir, "embedding.npy"), feats)
    seed = model.cfg.runtime.seed
    idx = embedding.subsample(len(ds), embedding.TSNE_MAX_POINTS, seed)
    points = embedding.project_2d(feats[idx], seed)
    labels = None if ds.y is None else ds.y[idx]
    how = "layer r" if feats.shape[1] <= 2 else "t-SNE of layer r"
    plots.embedding_scatter(points, labels, os.path.join(run_dir, "embedding.png"),
                            f"{title} k={feats.shape[1]} ({how})")
    out = {"embed_dim": int(feats.shape[1]), "embedding_points": int(len(idx))}
    if labels is not None and len(np.unique(labels)) > 1:
        out["embedding_knn_acc"] = embedding.knn_accuracy(points, labels)
        out["pixels_knn_acc"] = embedding.knn_accuracy(embedding.project_2d(ds.x[idx], seed), labels)
    return out
