"""The interface the runner (:mod:`gan_em_tf.runner`) drives, one object per run.

A method subpackage's ``method.build(cfg, shape, n_samples, strategy)`` returns a :class:`Method`: its
networks and optimizers built in the strategy's scope, and its EM state. The runner owns everything
around it — iterations, checkpoints and resume, metrics.csv, the log line, scores, summary, figures
and the SavedModel — so each method only says how one EM iteration trains and what it can serve.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


@dataclass
class Iteration:
    """What one EM iteration hands the runner: its logged values (floats; a move's record) and the cluster of
    every training sample to score for it."""

    logs: dict
    assign: np.ndarray


@dataclass
class BenchPhase:
    """One training phase ``gan-em bench`` times (a method module's ``bench_phases``)."""

    name: str
    model: Any  # the compiled keras.Model whose custom train_step the Keras path fits
    batches: Any  # tf.data.Dataset: the cached input of the warm-up and timed steps
    batch: int  # images per step, the table's batch column
    update: Callable  # the update train_step calls, timed bare in a tf.function
    macs_per_image: int | None = None  # multiply-adds per image, where counted (GFLOP/s and fraction of matmul)


class Method:
    """Base class of a method: the runner reads these attributes and calls these methods."""

    name = ""
    iteration = 0  # completed EM iterations
    clusters = 0  # K
    networks: dict = {}  # name → keras.Model, checkpointed as NAME.weights.h5
    optimizers: dict = {}  # name → optimizer, checkpointed

    def start(self, x: np.ndarray, labelled=None) -> None:
        """Once, before the first EM iteration of a new run (not on resume): e.g. the initial soft labels.
        ``labelled``: the :class:`~gan_em_tf.scoring.Labelled` examples of a semi-supervised run, or None."""

    def describe_start(self) -> str:
        """What :meth:`start` does, for a log line before it ('' when it does nothing worth saying)."""
        return ""

    def describe_next(self) -> str:
        """The coming EM iteration in a few words, for its first log line."""
        raise NotImplementedError

    def em_iteration(self, x, verbose: int, labelled=None) -> Iteration:
        """Train one EM iteration on ``x``, the training samples as the runner holds them (one host tensor,
        :func:`gan_em_tf.data.hold`; gather from it rather than converting it) (``labelled``: a semi-supervised
        run's :class:`~gan_em_tf.scoring.Labelled`)."""
        raise NotImplementedError

    def describe_logs(self, logs: dict) -> str:
        """The method's part of an iteration's log line."""
        return ""

    def posterior(self, x: np.ndarray) -> np.ndarray:
        """[N, K] cluster probabilities of ``x``: what the exported ``assign`` endpoint gives."""
        raise NotImplementedError

    def state(self) -> dict:
        """The EM state to checkpoint besides networks and optimizers (NumPy arrays)."""
        return {}

    def load_state(self, state: dict) -> None:
        """Restore :meth:`state` from a checkpoint."""

    def sample_grid(self, per_cluster: int, seed: int) -> np.ndarray:
        """[K, per_cluster, *shape] generated samples, one row per cluster (samples.png)."""
        raise NotImplementedError

    def embed(self, x: np.ndarray) -> np.ndarray | None:
        """Learned features of ``x`` for embedding.npy / .png, or None when the run has none."""
        return None

    def endpoints(self) -> tuple[list, dict]:
        """(models to track, {name: tf.function}) of the SavedModel (:mod:`gan_em_tf.export`)."""
        raise NotImplementedError
