"""Checks every method's runs share, before TensorFlow is imported: one-line errors naming the flag to fix."""
from __future__ import annotations

import numpy as np

from gan_em_tf import data as data_lib
from gan_em_tf.errors import UserError


def common(cfg, ds) -> None:
    """The checks every method shares: K, the schedule, the embedding size."""
    k, n, s = cfg.clusters, len(ds), cfg.schedule
    if k < 2:
        raise UserError(f"--clusters must be at least 2, got {k}")
    if k > n:
        raise UserError(f"--clusters {k} is larger than the {n} samples; lower --clusters")
    if s.iterations < 1:
        raise UserError(f"--iterations must be a positive integer, got {s.iterations}")
    if s.e_steps < 1:
        raise UserError(f"--e-steps must be a positive integer, got {s.e_steps}")
    if s.m_epochs is not None and not s.m_epochs > 0:
        raise UserError(f"--m-epochs must be a positive number of passes (0.5 = half a pass), got {s.m_epochs}")
    if cfg.embed_dim < 0:
        raise UserError(f"--embed-dim must be positive, got {cfg.embed_dim}")
    if cfg.runtime.keep_every < 0:
        raise UserError(f"--keep-every must be a positive integer, got {cfg.runtime.keep_every}")


def labels_fit(cfg, ds) -> None:
    """``--labels N`` (or ``--label-fraction``): enough labelled examples per class, some left unlabelled, and
    one cluster per class — a semi-supervised run's cluster ids are the class ids."""
    if cfg.supervision.labels < 0:
        raise UserError(f"--labels must be 0 (unsupervised) or positive, got {cfg.supervision.labels}")
    if cfg.semi_supervised:
        data_lib.labelled_indices_of(ds, cfg.supervision.labels, cfg.runtime.seed)  # its errors, not its pick
        classes = np.unique(ds.y)
        if len(classes) != cfg.clusters or classes.max() != cfg.clusters - 1:
            raise UserError(f"--labels: the cluster ids are the class ids, so --clusters must equal the "
                            f"{len(classes)} classes; pass --clusters {len(classes)}")
