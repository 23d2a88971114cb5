"""TensorBoard logs of a run, in ``RUN_DIR/tensorboard/`` (``tensorboard --logdir RUN_DIR``).

After every EM iteration: each number of that iteration's metrics.csv row as a scalar at step = the
iteration — the scores (ACC, NMI, ARI, purity, error), each phase's losses and trackers over its last epoch
(e.g. ``d_loss``, ``g_loss``, ``e_loss``, ``e_acc``), the method's own values (GAN-EM's φ range and moves,
GANMM's σ and cluster shares) and the seconds — and, for image data, the samples grid (one row per
cluster, as samples.png) as an image. Written with ``tf.summary``; a resumed run appends to the same folder.
"""
from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

FOLDER = "tensorboard"


def tile(samples: np.ndarray) -> np.ndarray:
    """[K, n, H, W, C] samples → one [1, K·H, n·W, C] image in [0, 1] (row k = cluster k)."""
    k, n, h, w, c = samples.shape
    grid = np.clip(samples, 0.0, 1.0).transpose(0, 2, 1, 3, 4).reshape(k * h, n * w, c)
    return grid[None].astype(np.float32)


class Board:
    """The run's event writer."""

    def __init__(self, run_dir: str):
        self.writer = tf.summary.create_file_writer(os.path.join(run_dir, FOLDER))

    def iteration(self, row: dict, samples: np.ndarray | None = None) -> None:
        """One EM iteration: the numbers of ``row`` (its ``iteration`` is the step) and the samples grid."""
        step = int(row["iteration"])
        with self.writer.as_default(step=step):
            for name, value in row.items():
                if name != "iteration" and isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
                    tf.summary.scalar(name, float(value))
            if samples is not None and samples.ndim == 5:
                tf.summary.image("samples", tile(samples))
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
