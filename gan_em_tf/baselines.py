"""k-means and GMM baselines from scikit-learn, scored like GAN-EM."""
from __future__ import annotations

import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from gan_em_tf import metrics
from gan_em_tf.errors import UserError

METHODS = ("kmeans", "gmm")


def fit_predict(method: str, x: np.ndarray, k: int, seed: int, fit_rows: int | None = None) -> np.ndarray:
    """Cluster ids of every sample from k-means (n_init=10) or a diagonal GMM on flattened x, fitted
    on all of x or on its first ``fit_rows`` samples."""
    flat = x.reshape(len(x), -1)
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
