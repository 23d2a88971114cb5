"""GAN-EM's run settings checked against each other and the data, before TensorFlow is imported.

Every contradiction is a one-line ``UserError`` naming the flag (or recipe) that fixes it. The CLI calls
``validate`` right after loading the data, so a bad flag fails in a second instead of after TensorFlow's
start-up; the runner calls it again for library callers.
"""
from __future__ import annotations

import numpy as np

from gan_em_tf import data as data_lib
from gan_em_tf.checks import common, labels_fit
from gan_em_tf.errors import UserError
from gan_em_tf.gan_em.config import E_CLASS_PRIORS, GENERATOR_LOSSES, INITS, OPTIMIZERS, TrainConfig


def validate(cfg, ds) -> None:
    """All checks of a GAN-EM run on ``ds`` (a ``data.Dataset``)."""
    t, k, n = cfg.train, cfg.clusters, len(ds)
    common(cfg, ds)
    for name, value, allowed in (("--generator-loss", t.generator_loss, GENERATOR_LOSSES),
                                 ("--e-class-prior", t.e_class_prior, E_CLASS_PRIORS), ("--init", t.init, INITS),
                                 ("train.optimizer", t.optimizer, OPTIMIZERS)):
        if value not in allowed:
            raise UserError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    for name, value in (("--lr-g", t.lr_g), ("--lr-d", t.lr_d), ("--lr-e", t.lr_e), ("--net-width", t.net_width)):
        if not value > 0:
            raise UserError(f"{name} must be positive, got {value}")
    for name, value in (("--batch-size", t.batch_size), ("--e-batch-size", t.e_batch_size)):
        if value < 1:
            raise UserError(f"{name} must be a positive integer, got {value}")
    if n // t.batch_size < 1:
        raise UserError(f"only {n} samples for a batch of {t.batch_size}; lower --batch-size")
    if not 0 < t.lr_decay <= 1:
        raise UserError(f"--lr-decay must be in (0, 1], got {t.lr_decay}")
    if t.lr_decay_start < 0 or t.e_augment_start < 0 or t.g_class_start < 1:
        raise UserError("train.lr_decay_start and train.e_augment_start must be ≥ 0 and train.g_class_start ≥ 1 "
                        "(config.json)")
    if t.e_augment and len(ds.shape) != 3:
        raise UserError(f"--e-augment jitters images, but {ds.name} holds vectors of shape {tuple(ds.shape)}; "
                        "drop --e-augment")
    moves_fit(cfg, k)
    growth_fits(cfg, k)
    supervision_fits(cfg, ds)
    if t.init != "uniform" and (cfg.semi_supervised or t.growth):
        raise UserError(f"--init {t.init} starts w from a clustering into K clusters, not with --labels or "
                        "--grow-from; pass --init uniform")


def moves_fit(cfg, k: int) -> None:
    """The partition moves of a recipe (``train.moves``) against K, the labels and ``--iterations``."""
    m = cfg.train.moves
    if m is None:
        return
    source = f"--recipe {cfg.recipe_name}" if cfg.recipe_name else "train.moves"
    if cfg.semi_supervised:
        raise UserError(f"{source} moves clusters; with --labels the clusters are the classes: use --recipe "
                        "cpu-semi (or another recipe without moves)")
    if k < 3 or (cfg.train.growth and cfg.train.growth.clusters < 3):
        raise UserError(f"{source} makes split-and-merge moves, which need at least 3 clusters; raise --clusters "
                        "or use --recipe authors")
    if min(m.every, m.start, m.final) < 1 or m.final_hold < 0 or m.whiten < 0 or not m.m_step_scale > 0:
        raise UserError("train.moves: every, start and final must be ≥ 1, final_hold and whiten ≥ 0, "
                        "m_step_scale > 0 (config.json)")
    if m.final + m.final_hold >= cfg.schedule.iterations:
        raise UserError(f"{source} makes its last move after EM iteration {m.final} and holds it "
                        f"{m.final_hold} more, so E(x) must update w after it: pass --iterations "
                        f"{m.final + m.final_hold + 1} or more")


def growth_fits(cfg, k: int) -> None:
    """The growth from K0 to K clusters (``--grow-from K0`` or a recipe's ``train.growth``)."""
    g = cfg.train.growth
    if g is None:
        return
    if not 2 <= g.clusters < k:
        raise UserError(f"--grow-from {g.clusters}: the clusters grown into --clusters {k} must be at least 2 and "
                        f"fewer than {k}; raise --clusters or lower --grow-from")
    if cfg.semi_supervised:
        raise UserError("--grow-from grows clusters; with --labels the clusters are the classes: drop it")
    if g.after < 1 or g.hold < 0 or g.after + g.hold >= cfg.schedule.iterations:
        raise UserError(f"the growth after EM iteration {g.after}, held {g.hold} more, must end before the last "
                        f"iteration: pass --iterations {g.after + g.hold + 1} or more")


def supervision_fits(cfg, ds) -> None:
    """--labels, --epsilon, --label-steps (§5.3)."""
    labels_fit(cfg, ds)
    if not 0 <= cfg.supervision.epsilon < 1:
        raise UserError(f"--epsilon must be in [0, 1), got {cfg.supervision.epsilon}")
    if cfg.supervision.max_steps < 1:
        raise UserError(f"--label-steps must be a positive integer, got {cfg.supervision.max_steps}")


def lr_schedule_change(old: TrainConfig, new: TrainConfig, done: int) -> None:
    """A resume may change ``--lr-decay`` only where the rates of the ``done`` completed EM iterations stay as
    they were: a run trained at constant rates so far may start decaying them at ``done`` − 1 or later."""
    if all(np.isclose(new.lr_factor(i), old.lr_factor(i)) for i in range(done)):
        return
    raise UserError(f"--lr-decay {new.lr_decay} would change the rates of EM iterations this run has completed "
                    f"({done}); a resume keeps them (drop --lr-decay, or --branch-from an earlier checkpoint)")


def labels_only_flags(ds, n_labels: int, steps: int, lr: float) -> None:
    """``gan-em baseline --method labels-only``: what ``labels_only.run`` cannot do, before anything is trained."""
    if steps < 1:
        raise UserError(f"--label-steps must be a positive integer, got {steps}")
    if not lr > 0:
        raise UserError(f"--lr must be positive, got {lr}")
    data_lib.labelled_indices_of(ds, n_labels, seed=0)  # labels exist, enough of them per class (no copy)
