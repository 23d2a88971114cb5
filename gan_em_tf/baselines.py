"""k-means, GMM and Ward baselines from scikit-learn, scored like GAN-EM."""
from __future__ import annotations

import time

import numpy as np
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import pairwise_distances_argmin
from sklearn.mixture import GaussianMixture

from gan_em_tf import metrics
from gan_em_tf.errors import UserError

METHODS = ("kmeans", "gmm", "ward")
PAPER_ROWS = ("kmeans", "gmm")  # the baselines of the papers' tables: what `gan-em baseline` runs by default
WARD_ROWS = 10_000  # Ward's merge tree holds all pairwise distances: 10,000 rows take 0.4 GB
WARD_PCA = 50  # principal components Ward merges in


def ward(flat: np.ndarray, k: int, seed: int, fit_rows: int | None = None) -> np.ndarray:
    """Ward's agglomerative clustering (each merge the one that adds least within-cluster variance) on the
    first ``WARD_PCA`` principal components of the first min(fit_rows, ``WARD_ROWS``) rows; every later row
    goes to the nearest cluster mean there. The seed fixes PCA's randomized solver; the merges amplify small
    differences, so the seed, and even BLAS's thread count, can change the partition (paper_repro/RESULTS.md)."""
    fit = flat[:min(fit_rows or len(flat), WARD_ROWS)]
    pca = PCA(min(WARD_PCA, fit.shape[1], len(fit) - 1), random_state=seed).fit(fit)
    codes = pca.transform(fit)
    fitted = AgglomerativeClustering(k).fit_predict(codes)
    if len(fit) == len(flat):
        return fitted
    means = np.stack([codes[fitted == c].mean(axis=0) for c in range(k)])
    return np.concatenate([fitted, pairwise_distances_argmin(pca.transform(flat[len(fit):]), means)])


def fit_predict(method: str, x: np.ndarray, k: int, seed: int, fit_rows: int | None = None) -> np.ndarray:
    """Cluster ids of every sample from k-means (n_init=10), a diagonal GMM or Ward (:func:`ward`) on
    flattened x, fitted on all of x or on its first ``fit_rows`` samples."""
    flat = x.reshape(len(x), -1)
    if method == "ward":
        return ward(flat, k, seed, fit_rows)
    fit = flat[:fit_rows]
    if method == "kmeans":
        model = KMeans(k, n_init=10, random_state=seed)
    elif method == "gmm":
        # a variance floor of a tenth of the mean feature variance: scale-free (an absolute 1e-2 emptied all but
        # one component on min-max-scaled 10-D autoencoder codes, whose variances are ~0.01)
        model = GaussianMixture(k, covariance_type="diag", reg_covar=0.1 * float(fit.var(axis=0).mean()),
                                random_state=seed)
    else:
        raise UserError(f"unknown baseline {method!r}; choose one of: {', '.join(METHODS)}")
    return model.fit(fit).predict(flat)


def run(method: str, x: np.ndarray, y: np.ndarray | None, k: int, seeds: list[int]) -> dict:
    """Scores per seed and their mean ± sd."""
    if k < 2 or k > len(x):
        raise UserError(f"--clusters must be between 2 and the {len(x)} samples, got {k}")
    per_seed = []
    for seed in seeds:
        t0 = time.time()
        assign = fit_predict(method, x, k, seed)
        row = {"seed": seed, "seconds": time.time() - t0}
        if y is not None:
            row.update(metrics.cluster_scores(y, assign, k))
            row["per_cluster"] = metrics.per_cluster(y, assign, k)
        per_seed.append(row)
    out = {"method": method, "clusters": k, "n_samples": len(x), "per_seed": per_seed}
    return {**out, **metrics.mean_sd_over_seeds(per_seed)} if y is not None else out
