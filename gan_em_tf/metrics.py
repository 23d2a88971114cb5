"""Clustering scores: Hungarian ACC, the paper's error (Eq. 17), NMI, ARI, purity.

* ``acc``: the best one-to-one matching of clusters to classes (Hungarian
  algorithm on the contingency table), as a fraction of all samples. With more
  clusters than classes only min(K, C) clusters can be matched.
* ``error`` (Eq. 17): 1 − acc when K ≤ number of classes. When K is larger,
  one-to-one matching is impossible, so -- as for Table 1's K = 20 and 30 --
  each cluster is mapped to its majority class and error = 1 − purity;
  ``error_mapping`` says which was used.
* ``purity``: Σ_k max_c n_kc / N.  ``nmi``, ``ari``: scikit-learn's (NMI with today's arithmetic mean).
* ``rand``: the plain Rand index (m11 + m00) / (pairs) — what the Mixture-of-GANs paper calls "ARI";
  ``nmi_geometric``: NMI normalised by the geometric mean, scikit-learn's before version 0.22 (that paper's).
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, rand_score


def contingency(labels, clusters, shape: tuple[int, int] | None = None) -> np.ndarray:
    """n[k, c] = number of samples in cluster k with true class c; ``shape`` (clusters, classes) keeps the rows
    and columns of clusters and classes that hold no sample (default: up to the largest id seen)."""
    labels = np.asarray(labels, np.int64)
    clusters = np.asarray(clusters, np.int64)
    table = np.zeros(shape or (clusters.max() + 1, labels.max() + 1), np.int64)
    np.add.at(table, (clusters, labels), 1)
    return table


def hungarian_acc(labels, clusters) -> float:
    table = contingency(labels, clusters)
    rows, cols = linear_sum_assignment(-table)
    return float(table[rows, cols].sum() / len(labels))


def purity(labels, clusters) -> float:
    return float(contingency(labels, clusters).max(axis=1).sum() / len(labels))


def per_cluster(labels, clusters, n_clusters: int) -> list[dict]:
    """Each cluster's majority class, size and purity (the Mixture-of-GANs paper's Table 2); an empty cluster
    has label None and purity 0."""
    table = contingency(labels, clusters)
    table = np.pad(table, ((0, max(0, n_clusters - len(table))), (0, 0)))  # clusters after the last used one
    sizes = table.sum(axis=1)
    return [{"cluster": k, "label": int(table[k].argmax()) if sizes[k] else None, "size": int(sizes[k]),
             "purity": float(table[k].max() / sizes[k]) if sizes[k] else 0.0} for k in range(n_clusters)]


def clusters_used(clusters) -> int:
    """How many different clusters an assignment puts at least one sample in."""
    return int(len(np.unique(clusters)))


def cluster_scores(labels, clusters, n_clusters: int | None = None) -> dict:
    """All scores of one assignment against the true labels."""
    labels = np.asarray(labels)
    clusters = np.asarray(clusters)
    n_classes = len(np.unique(labels))
    k = n_clusters if n_clusters is not None else clusters_used(clusters)
    acc = hungarian_acc(labels, clusters)
    pur = purity(labels, clusters)
    majority = k > n_classes
    return {
        "acc": acc,
        "nmi": float(normalized_mutual_info_score(labels, clusters)),
        "ari": float(adjusted_rand_score(labels, clusters)),
        "purity": pur,
        "error": 1.0 - (pur if majority else acc),
        "error_mapping": "majority" if majority else "hungarian",
        "rand": float(rand_score(labels, clusters)),
        "nmi_geometric": float(normalized_mutual_info_score(labels, clusters, average_method="geometric")),
    }


def classification_scores(labels, predicted) -> dict:
    """Scores of a classifier whose outputs are the class ids (semi-supervised, §5.3): no matching.

    ``error`` is the plain classification error; the other keys match
    :func:`cluster_scores` so both kinds of run report the same columns.
    """
    labels = np.asarray(labels)
    predicted = np.asarray(predicted)
    acc = float(np.mean(labels == predicted))
    return {
        "acc": acc,
        "nmi": float(normalized_mutual_info_score(labels, predicted)),
        "ari": float(adjusted_rand_score(labels, predicted)),
        "purity": purity(labels, predicted),
        "error": 1.0 - acc,
        "error_mapping": "identity",
        "rand": float(rand_score(labels, predicted)),
        "nmi_geometric": float(normalized_mutual_info_score(labels, predicted, average_method="geometric")),
    }


def attribute_errors(attributes: dict, clusters) -> dict:
    """Eq. 17 error of one K-cluster assignment against each binary attribute (CelebA, Table 1 col. 5).

    Each attribute is scored as if it were the class label (Hungarian matching
    for K = 2, majority mapping for larger K).
    """
    return {name: cluster_scores(y, clusters)["error"] for name, y in attributes.items()}


SCORES = ("acc", "nmi", "ari", "purity", "error", "rand", "nmi_geometric")


def mean_sd_over_seeds(per_seed: list[dict], keys=SCORES) -> dict:
    """{key: {"mean", "sd"}} over the rows of ``per_seed`` (sample sd; 0 for a single seed)."""
    out = {}
    for key in keys:
        vals = np.array([r[key] for r in per_seed], dtype=float)
        out[key] = {"mean": float(vals.mean()), "sd": float(vals.std(ddof=1)) if len(vals) > 1 else 0.0}
    return out
