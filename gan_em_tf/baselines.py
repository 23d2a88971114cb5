"""k-means, GMM, Ward and t-SNE + Ward baselines from scikit-learn, scored like GAN-EM."""
from __future__ import annotations

import time

import numpy as np
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.metrics import pairwise_distances_argmin
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import KNeighborsClassifier

from gan_em_tf import data, metrics, scoring
from gan_em_tf.errors import UserError

METHODS = ("kmeans", "gmm", "ward", "tsne-ward")
PAPER_ROWS = ("kmeans", "gmm")  # the baselines of the papers' tables: what `gan-em baseline` runs by default
FIT_ROWS = 10_000  # rows Ward (its merge tree holds all pairwise distances: 0.4 GB) and t-SNE are fitted on
PCA_DIMS = 50  # principal components Ward merges in and t-SNE maps
TSNE_PERPLEXITY = 30.0  # scikit-learn's default and van der Maaten & Hinton's usual value
SPREAD_NEIGHBOURS = 5  # labelled map neighbours whose distance-weighted vote names a row (tsne_label_spread)


def _principal_components(fit: np.ndarray, seed: int) -> PCA:
    return PCA(min(PCA_DIMS, fit.shape[1], len(fit) - 1), random_state=seed).fit(fit)


def ward(flat: np.ndarray, k: int, seed: int, fit_rows: int | None = None) -> np.ndarray:
    """Ward's agglomerative clustering (each merge the one that adds least within-cluster variance) on the
    first ``PCA_DIMS`` principal components of the first min(fit_rows, ``FIT_ROWS``) rows; every later row
    goes to the nearest cluster mean there. The seed fixes PCA's randomized solver; the merges amplify small
    differences, so the seed, and even BLAS's thread count, can change the partition (paper_repro/RESULTS.md)."""
    fit = flat[:min(fit_rows or len(flat), FIT_ROWS)]
    pca = _principal_components(fit, seed)
    codes = pca.transform(fit)
    fitted = AgglomerativeClustering(k).fit_predict(codes)
    if len(fit) == len(flat):
        return fitted
    means = np.stack([codes[fitted == c].mean(axis=0) for c in range(k)])
    return np.concatenate([fitted, pairwise_distances_argmin(pca.transform(flat[len(fit):]), means)])


def tsne_map(flat: np.ndarray, seed: int, fit_rows: int | None = None, keep: np.ndarray | None = None):
    """A 2-D t-SNE map (van der Maaten & Hinton 2008; Barnes-Hut, perplexity 30, started from PCA) of the first
    ``PCA_DIMS`` principal components of the first min(fit_rows, ``FIT_ROWS``) rows and the rows ``keep``;
    returns (the mapped rows, the fitted PCA, their components, their map points). The seed fixes PCA and
    t-SNE; 10,000 rows take a few minutes on 2 cores."""
    rows = np.arange(min(fit_rows or len(flat), FIT_ROWS))
    if keep is not None:
        rows = np.union1d(rows, keep)
    pca = _principal_components(flat[rows], seed)
    codes = pca.transform(flat[rows])
    perplexity = min(TSNE_PERPLEXITY, (len(rows) - 1) / 3)  # t-SNE needs 3 × perplexity neighbours per row
    points = TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(codes)
    return rows, pca, codes, points


def _to_every_row(flat: np.ndarray, rows: np.ndarray, pca: PCA, codes: np.ndarray, fitted: np.ndarray) -> np.ndarray:
    """Ids of the mapped ``rows`` (``fitted``) extended to every row: an unmapped row takes the id of its
    nearest mapped row in the principal components."""
    if len(rows) == len(flat):
        return fitted
    out = np.empty(len(flat), fitted.dtype)
    out[rows] = fitted
    others = np.setdiff1d(np.arange(len(flat)), rows)
    out[others] = fitted[pairwise_distances_argmin(pca.transform(flat[others]), codes)]
    return out


def tsne_ward(flat: np.ndarray, k: int, seed: int, fit_rows: int | None = None) -> np.ndarray:
    """Ward's clustering of the 2-D t-SNE map (:func:`tsne_map`) of the first min(fit_rows, ``FIT_ROWS``) rows;
    every later row takes the cluster of its nearest fitted row in those components. t-SNE keeps each
    sample's near neighbours together, so a class spread along a curve (1s of every slant) stays one cluster,
    where Ward on the components cuts it by the widest spread (MNIST 0-6: 0.956 against Ward's 0.788;
    paper_repro/RESULTS.md)."""
    rows, pca, codes, points = tsne_map(flat, seed, fit_rows)
    return _to_every_row(flat, rows, pca, codes, AgglomerativeClustering(k).fit_predict(points))


def tsne_label_spread(flat: np.ndarray, seed: int, index: np.ndarray, y: np.ndarray,
                      fit_rows: int | None = None) -> np.ndarray:
    """Class ids of every row from labelled rows ``index`` (classes ``y``): each row of the 2-D t-SNE map
    (:func:`tsne_map` of the first min(fit_rows, ``FIT_ROWS``) rows and the labelled ones) takes the class of its
    ``SPREAD_NEIGHBOURS`` nearest labelled rows on the map, each weighted by 1 / distance (so a class with few
    labels still names the rows beside them), a labelled row its own class. Where Ward parts the map into K
    clusters and a class's images form two groups, one beside another class, Ward can join that group to the
    other class whatever the labels say; the labelled rows inside the group name it here (MNIST 0-6, 10 %
    labelled, seed 10: 0.971 against Ward's clusters named by the labels' 0.859; paper_repro/RESULTS.md)."""
    rows, pca, codes, points = tsne_map(flat, seed, fit_rows, keep=index)
    on_map = np.searchsorted(rows, index)
    vote = KNeighborsClassifier(min(SPREAD_NEIGHBOURS, len(index)), weights="distance").fit(points[on_map], y)
    fitted = vote.predict(points)
    fitted[on_map] = y
    return _to_every_row(flat, rows, pca, codes, fitted)


def fit_predict(method: str, x: np.ndarray, k: int, seed: int, fit_rows: int | None = None) -> np.ndarray:
    """Cluster ids of every sample from k-means (n_init=10), a diagonal GMM, Ward (:func:`ward`) or t-SNE +
    Ward (:func:`tsne_ward`) on flattened x, fitted on all of x or on its first ``fit_rows`` samples."""
    flat = x.reshape(len(x), -1)
    if method in ("ward", "tsne-ward"):
        return (ward if method == "ward" else tsne_ward)(flat, k, seed, fit_rows)
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


def start_description(method: str, n_samples: int, labelled: bool = False) -> str:
    """In words, for a run's log line: the clustering ``method`` of ``n_samples`` that :func:`start_memberships`
    makes (``labelled``: a semi-supervised run's)."""
    if method != "tsne-ward":
        return method
    what = "the labelled images' classes spread over" if labelled else "Ward's clustering of"
    return (f"{what} a t-SNE map of the first {min(n_samples, FIT_ROWS):,} samples (about a minute per 5,000 on 2 "
            "cores)")


def start_memberships(method: str, x: np.ndarray, k: int, seed: int, confidence: float = 1.0,
                      labelled=None) -> np.ndarray:
    """[N, K] memberships that start EM from the classical clustering ``method`` (:func:`fit_predict`):
    ``confidence`` on each sample's cluster, the rest spread evenly over the other K − 1. With ``labelled``
    examples (``.y`` class ids at rows ``.index``; the t-SNE start only) their classes are spread over the
    t-SNE map instead of Ward's clusters (:func:`tsne_label_spread`)."""
    if labelled is None:
        hard = fit_predict(method, x, k, seed)
    elif method == "tsne-ward":
        hard = tsne_label_spread(x.reshape(len(x), -1), seed, labelled.index, labelled.y)
    else:
        raise ValueError(f"only the tsne-ward start uses labels, not {method}")
    out = np.full((len(x), k), (1.0 - confidence) / (k - 1), np.float32)
    out[np.arange(len(x)), hard] = confidence
    return out


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


def run_label_spread(ds: data.Dataset, heldout: data.Dataset | None, n_labels: int, seeds: list[int]) -> dict:
    """The start of a semi-supervised DNN-MM run alone (``gan-em baseline --method tsne-ward --labels N``): the
    labelled examples that run would get (:func:`data.split_labelled`, same seed) spread their classes over the
    t-SNE map (:func:`tsne_label_spread`), scored as that run is: a classifier on its held-out data, the
    unlabelled rest or the test split (each test row takes the class of its nearest mapped training row in the
    principal components). Classification scores per seed and their mean ± sd."""
    flat = ds.x.reshape(len(ds), -1)

    def predict(split: data.LabelledSplit, seed: int) -> np.ndarray:
        test_rows = [] if split.rest is not None else [split.heldout.x.reshape(len(split.heldout), -1)]
        rows = np.concatenate([flat, *test_rows])
        predicted = tsne_label_spread(rows, seed, split.index, split.y_labelled, fit_rows=len(ds))
        return predicted[:len(ds)][split.rest] if split.rest is not None else predicted[len(ds):]

    return {"method": "tsne-ward", "labels": n_labels,
            **scoring.labelled_over_seeds(ds, heldout, n_labels, seeds, predict)}
