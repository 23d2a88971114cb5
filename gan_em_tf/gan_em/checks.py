"""GAN-EM's run settings checked against each other and the data, before TensorFlow is imported.

Every contradiction is a one-line ``UserError`` naming the flag that fixes it. The CLI calls
``validate`` right after loading the data, so a bad flag fails in a second instead of after
TensorFlow's start-up; ``loop.run`` calls it again for library callers.
"""
from __future__ import annotations

import numpy as np

from gan_em_tf import data as data_lib
from gan_em_tf.config import FINAL_MOVE_MODES, GROW_SPLITS, SPLIT_MERGE_MODES, RunConfig, TrainConfig
from gan_em_tf.errors import UserError


def validate(cfg: RunConfig, ds) -> None:
    """All checks of a run of GAN-EM on ``ds`` (a ``data.Dataset``)."""
    k, n = cfg.clusters, len(ds)
    if k < 2:
        raise UserError(f"--clusters must be at least 2, got {k}")
    if k > n:
        raise UserError(f"--clusters {k} is larger than the {n} samples; lower --clusters")
    if not 0 < cfg.train.lr_decay <= 1:
        raise UserError(f"--lr-decay must be in (0, 1], got {cfg.train.lr_decay}")
    if cfg.train.lr_decay_start < 0:
        raise UserError(f"--lr-decay-start must be 0 (decay from the start) or positive, got {cfg.train.lr_decay_start}")
    if not cfg.train.net_width > 0:
        raise UserError(f"--net-width must be a positive multiplier, got {cfg.train.net_width}")
    if cfg.embed_dim < 0:
        raise UserError(f"--embed-dim must be positive, got {cfg.embed_dim}")
    if cfg.train.e_augment and len(ds.shape) != 3:
        raise UserError(f"--e-augment jitters images, but {ds.name} holds vectors of shape {tuple(ds.shape)}; "
                        f"drop --e-augment")
    if cfg.train.e_augment_start < 0:
        raise UserError(f"--e-augment-start must be 0 (jitter from the start) or positive, got "
                        f"{cfg.train.e_augment_start}")
    if cfg.train.e_augment_start and not cfg.train.e_augment:
        raise UserError(f"--e-augment-start {cfg.train.e_augment_start} says when --e-augment's jitter begins, but "
                        f"it is off; add --e-augment")
    split_merge_flags(cfg, k)
    growth_flags(cfg, k)
    supervision_flags(cfg, ds)


def supervision_flags(cfg: RunConfig, ds) -> None:
    """--labels, --epsilon, --label-steps, --label-lr (§5.3)."""
    if not 0 <= cfg.supervision.epsilon < 1:
        raise UserError(f"--epsilon must be in [0, 1), got {cfg.supervision.epsilon}")
    if cfg.supervision.max_steps < 1:
        raise UserError(f"--label-steps must be a positive integer, got {cfg.supervision.max_steps}")
    if cfg.supervision.lr is not None and not cfg.supervision.lr > 0:
        raise UserError(f"--label-lr must be a positive learning rate, got {cfg.supervision.lr}")
    if cfg.semi_supervised:
        data_lib.labelled_indices_of(ds, cfg.supervision.labels, cfg.runtime.seed)  # its errors, not its pick
        classes = np.unique(ds.y)
        if len(classes) != cfg.clusters or classes.max() != cfg.clusters - 1:
            raise UserError(f"--labels: the E-net's outputs are the class ids, so --clusters must equal the "
                            f"{len(classes)} classes; pass --clusters {len(classes)}")


def split_merge_flags(cfg: RunConfig, k: int) -> None:
    """One-line errors for --split-merge-* flags that contradict each other or the run."""
    t = cfg.train
    if t.split_merge_every < 0:
        raise UserError(f"--split-merge-every must be 0 (off) or positive, got {t.split_merge_every}")
    if t.split_merge_start < 0:
        raise UserError(f"--split-merge-start must be 0 or positive, got {t.split_merge_start}")
    if t.split_merge_whiten < 0:
        raise UserError(f"--split-merge-whiten must be 0 (raw features) or positive, "
                        f"got {t.split_merge_whiten}")
    if t.split_merge_mode not in SPLIT_MERGE_MODES:
        raise UserError(f"--split-merge-mode must be one of {', '.join(SPLIT_MERGE_MODES)}, "
                        f"got {t.split_merge_mode!r}")
    if t.split_merge_m_epochs < 0:
        raise UserError(f"--split-merge-m-epochs must be 0 (use --m-epochs) or positive, "
                        f"got {t.split_merge_m_epochs}")
    if t.split_merge_hold < 0:
        raise UserError(f"--split-merge-hold must be 0 (off) or positive, got {t.split_merge_hold}")
    if t.split_merge_hold and not t.split_merge_every:
        raise UserError("--split-merge-hold needs --split-merge-every N (no moves are made without it)")
    if t.split_merge_every and t.split_merge_hold >= t.split_merge_every:
        raise UserError(f"--split-merge-hold {t.split_merge_hold} must be smaller than --split-merge-every "
                        f"{t.split_merge_every} (E(x) would never update w between moves)")
    moves = t.split_merge_every or t.split_merge_final or t.grow_from
    if t.split_merge_m_epochs and not moves:
        raise UserError("--split-merge-m-epochs needs --split-merge-every N, --split-merge-final F or --grow-from "
                        "K0 (no moves are made without one)")
    if t.split_merge_protect_new and t.split_merge_mode != "smem":
        raise UserError("--split-merge-protect-new acts on smem moves (pair and cross moves free no column); "
                        "drop it or use --split-merge-mode smem")
    if t.split_merge_protect_new and not t.split_merge_every:
        raise UserError("--split-merge-protect-new needs --split-merge-every N (the moves are off without it)")
    if t.split_merge_start and not t.split_merge_every:
        raise UserError("--split-merge-start needs --split-merge-every N (the moves are off without it)")
    if t.split_merge_every and t.split_merge_mode in ("smem", "alternate") and k < 3:
        raise UserError(f"--split-merge-every needs --clusters of at least 3 (split one, merge two), got {k}; "
                        "--split-merge-mode pair or cross works with 2")
    if t.split_merge_every and cfg.semi_supervised:
        raise UserError("--split-merge-every is for clustering; with --labels the clusters are the classes, "
                        "drop one of the two flags")
    if t.split_merge_final < 0:
        raise UserError(f"--split-merge-final must be 0 (off) or an EM iteration, got {t.split_merge_final}")
    if t.split_merge_final_hold < 0:
        raise UserError(f"--split-merge-final-hold must be 0 (off) or positive, got {t.split_merge_final_hold}")
    if not t.split_merge_final:
        if t.split_merge_final_hold:
            raise UserError("--split-merge-final-hold needs --split-merge-final F (the last move it holds)")
        return
    if t.split_merge_final_mode not in FINAL_MOVE_MODES:
        raise UserError(f"--split-merge-final-mode must be one of {', '.join(FINAL_MOVE_MODES)}, "
                        f"got {t.split_merge_final_mode!r}")
    if t.split_merge_final_mode == "none" and (t.split_merge_final_hold or not t.split_merge_every):
        raise UserError("--split-merge-final-mode none makes no last move: it stops the moves of "
                        "--split-merge-every N at --split-merge-final F, so it needs --split-merge-every and no "
                        "--split-merge-final-hold")
    if t.split_merge_every and t.split_merge_final <= (t.split_merge_start or t.split_merge_every):
        raise UserError(f"--split-merge-final {t.split_merge_final} must come after the first move every N "
                        f"(--split-merge-start {t.split_merge_start}, --split-merge-every {t.split_merge_every})")
    if t.split_merge_final + t.split_merge_final_hold >= cfg.schedule.iterations:
        raise UserError(f"--split-merge-final {t.split_merge_final} plus --split-merge-final-hold "
                        f"{t.split_merge_final_hold} must be below --iterations {cfg.schedule.iterations} "
                        "(E(x) must update w after the last move)")
    if t.split_merge_final_mode == "smem" and k < 3:
        raise UserError(f"--split-merge-final-mode smem needs --clusters of at least 3, got {k}; use pair or cross")
    if cfg.semi_supervised:
        raise UserError("--split-merge-final is for clustering; with --labels the clusters are the classes, "
                        "drop one of the two flags")


def growth_flags(cfg: RunConfig, k: int) -> None:
    """One-line errors for --grow-* flags that contradict each other or the run."""
    t = cfg.train
    if not t.grow_from:
        if t.grow_after or t.grow_hold:
            raise UserError("--grow-after and --grow-hold need --grow-from K0 (the clusters to start with)")
        return
    if t.grow_split not in GROW_SPLITS:
        raise UserError(f"--grow-split must be one of {', '.join(GROW_SPLITS)}, got {t.grow_split!r}")
    if not 2 <= t.grow_from < k:
        raise UserError(f"--grow-from must be at least 2 and below --clusters {k}, got {t.grow_from}")
    if t.grow_hold < 0:
        raise UserError(f"--grow-hold must be 0 (off) or positive, got {t.grow_hold}")
    if not 1 <= t.grow_after or t.grow_after + t.grow_hold >= cfg.schedule.iterations:
        raise UserError(f"--grow-after must be an EM iteration from 1 with --grow-after + --grow-hold below "
                        f"--iterations {cfg.schedule.iterations}, got {t.grow_after} + {t.grow_hold}")
    if t.split_merge_mode in ("smem", "alternate") and t.split_merge_every and t.grow_from < 3:
        raise UserError(f"--split-merge-every needs at least 3 clusters (split one, merge two), but --grow-from "
                        f"{t.grow_from} starts with {t.grow_from}")
    if cfg.semi_supervised or t.init == "kmeans":
        raise UserError("--grow-from is for clustering from the uniform start; drop it, or --labels / --init kmeans")


def grow_split_change(cfg: RunConfig, grow_split: str | None, done: int) -> None:
    """A resume or branch may change --grow-split only while the growth is still to come (after ``done`` EM
    iterations of a run whose config is ``cfg``)."""
    t = cfg.train
    if grow_split is None or grow_split == t.grow_split or not t.grow_from or done < t.grow_after:
        return
    raise UserError(f"--grow-split acts on the growth after EM iteration {t.grow_after}, which this run made already "
                    f"(it has {done}); branch from an earlier checkpoint (--branch-from RUN/checkpoints/iter-NNNN)")


def lr_schedule_change(old: TrainConfig, new: TrainConfig, done: int) -> None:
    """A resume or branch may change --lr-decay and --lr-decay-start only where the rates of the ``done``
    completed EM iterations stay as they were: a run trained at constant rates so far may start a decay at
    ``done`` − 1 or later (iteration S itself runs at γ⁰); a run whose rates already decay keeps its decay."""
    if all(np.isclose(new.lr_factor(i), old.lr_factor(i)) for i in range(done)):
        return
    if all(old.lr_factor(i) == 1 for i in range(done)):
        raise UserError(f"--lr-decay-start {new.lr_decay_start} would decay the rates of EM iterations this run "
                        f"has completed ({done}); pass --lr-decay-start {done - 1} or later")
    raise UserError(f"this run's rates already decay (--lr-decay {old.lr_decay} from EM iteration "
                    f"{old.lr_decay_start}), so a resume or branch keeps them; drop --lr-decay and --lr-decay-start")


def labels_only_flags(ds, n_labels: int, steps: int, lr: float) -> None:
    """``gan-em baseline --method labels-only``: what ``labels_only.run`` cannot do, before anything is trained."""
    if steps < 1:
        raise UserError(f"--label-steps must be a positive integer, got {steps}")
    if not lr > 0:
        raise UserError(f"--lr must be positive, got {lr}")
    data_lib.labelled_indices_of(ds, n_labels, seed=0)  # labels exist, enough of them per class (no copy)
