"""What a run is scored on: clustering, semi-supervised classification, or named binary attributes.

* clustering with labels: Hungarian ACC, NMI, ARI, purity and the error of GAN-EM's Eq. 17 of the
  assignment against y (:func:`metrics.cluster_scores`);
* semi-supervised (``--labels N``): N labelled examples picked from y, the method's predictions scored as
  class ids on the held-out data — the test split when given (:func:`data.load_heldout`), else the
  unlabelled rest;
* unlabelled data with named binary attributes (CelebA): the error against every attribute and their mean
  (GAN-EM's Table 1, column 5).
"""
from __future__ import annotations

import time
from typing import Callable, NamedTuple

import numpy as np

from gan_em_tf import data as data_lib
from gan_em_tf import metrics


class Labelled(NamedTuple):
    """The labelled examples of a semi-supervised run: images, class ids and their rows in the training data."""

    x: np.ndarray
    y: np.ndarray
    index: np.ndarray


class Task:
    def __init__(self, cfg, ds: data_lib.Dataset, heldout: data_lib.Dataset | None):
        self.labelled = None  # Labelled of a semi-supervised run
        self.heldout = heldout
        self.rest = None  # mask of the unlabelled training samples when they are the held-out data
        self.clusters = cfg.clusters
        if cfg.semi_supervised:
            split = data_lib.split_labelled(ds, cfg.supervision.labels, cfg.runtime.seed, heldout)
            self.labelled = Labelled(split.x_labelled, split.y_labelled, split.index)
            self.heldout, self.rest = split.heldout, split.rest

    @property
    def name(self) -> str:
        return "semi-supervised" if self.labelled is not None else "clustering"

    def scores(self, method, ds: data_lib.Dataset, assign: np.ndarray) -> dict:
        """Scores of ``assign`` (the cluster of every training sample); a separate test split is assigned by
        ``method.posterior``."""
        if self.labelled is not None:
            pred = assign[self.rest] if self.rest is not None else method.posterior(self.heldout.x).argmax(axis=1)
            return metrics.classification_scores(self.heldout.y, pred)
        if ds.y is not None:
            return metrics.cluster_scores(ds.y, assign, self.clusters)
        if ds.attributes:
            errors = metrics.attribute_errors(ds.attributes, assign)
            return {"mean_attribute_error": float(np.mean(list(errors.values()))), "attribute_errors": errors}
        return {}


def labelled_over_seeds(ds: data_lib.Dataset, heldout: data_lib.Dataset | None, n_labels: int, seeds: list[int],
                        predict: Callable[[data_lib.LabelledSplit, int], np.ndarray]) -> dict:
    """A semi-supervised reference row over seeds: for each seed the labelled examples a ``--labels n_labels``
    run would get (:func:`data.split_labelled`), ``predict(split, seed)``'s class ids for ``split.heldout``
    scored against its labels; the scores per seed and their mean ± sd."""
    per_seed = []
    for seed in seeds:
        split = data_lib.split_labelled(ds, n_labels, seed, heldout)
        t0 = time.time()
        predicted = predict(split, seed)
        per_seed.append({"seed": seed, "seconds": time.time() - t0, "n_heldout": len(split.heldout),
                         **metrics.classification_scores(split.heldout.y, predicted)})
    return {"n_samples": len(ds), "per_seed": per_seed, **metrics.mean_sd_over_seeds(per_seed)}
