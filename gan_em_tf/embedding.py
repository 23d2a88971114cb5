"""Dimensionality reduction (§5.4): layer r's features, a 2-D map of them, and its k-NN score.

The E-net's layer r (``--embed-dim k``) gives k features per image. For
display they are mapped to 2-D with t-SNE (scikit-learn) when k > 2, as in
Fig. 3; for k = 2 the features are plotted directly. The number reported for
such a picture is the 5-fold cross-validated accuracy of a k-NN classifier
(k = 5) on the 2-D points: near 1 when the classes form separated groups.
t-SNE alone already separates easy data (on the 8×8 digits a t-SNE of the raw
pixels scores ≈ 0.97), so runs also report the same score for the raw pixels
as the reference.
"""
from __future__ import annotations

import numpy as np

TSNE_MAX_POINTS = 3000  # t-SNE cost grows ~N log N; 3,000 points take ~20 s on 2 cores


def subsample(n: int, max_points: int, seed: int) -> np.ndarray:
    """Sorted indices of at most ``max_points`` of n samples (all of them when n is small)."""
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))


def project_2d(features: np.ndarray, seed: int = 0) -> np.ndarray:
    """[N, k] → [N, 2]: the features themselves for k ≤ 2, else t-SNE."""
    features = np.asarray(features, np.float32).reshape(len(features), -1)
    if features.shape[1] == 2:
        return features
    if features.shape[1] == 1:
        return np.concatenate([features, np.zeros_like(features)], axis=1)
    from sklearn.manifold import TSNE

    perplexity = float(min(30, max(5, (len(features) - 1) // 3)))
    return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(features)


def knn_accuracy(points: np.ndarray, labels: np.ndarray, k: int = 5, folds: int = 5, seed: int = 0) -> float | None:
    """Mean accuracy of a k-NN classifier over ``folds`` stratified folds of the 2-D points (fewer folds when the
    smallest class is smaller; None when a class has a single point)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    folds = min(folds, int(np.bincount(np.unique(labels, return_inverse=True)[1]).min()))
    if folds < 2:
        return None
    k = min(k, len(labels) - -(-len(labels) // folds))  # no more neighbours than a training fold holds
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return float(cross_val_score(KNeighborsClassifier(k), points, labels, cv=cv).mean())
