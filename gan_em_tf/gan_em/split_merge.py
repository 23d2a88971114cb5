"""The partition moves on GAN-EM's soft labels w as pure functions (not in the paper; :mod:`.moves` schedules them).

EM for mixtures can settle in a local optimum where one component covers two
classes while two components share one (on MNIST-test: a 3/5 or 4/9 cluster next
to two clusters of 1s). Split-and-merge EM (Ueda et al., Neural Computation 2000)
leaves such optima by merging two components and splitting a third, keeping K.
This module adapts one such move to GAN-EM, using the discriminator where SMEM
uses densities:

* split candidate: the cluster k whose real images D's class unit k still tells
  apart from G's class-k fakes the most, i.e. the largest w-weighted mean of the
  class-unit logit on the reals (σ(logit) = D_k(x) of Eq. 2; a density-ratio
  estimate of how badly G covers the cluster, SMEM's local-KL criterion);
* merge candidate: the pair (i, j), both ≠ k, whose posteriors correlate most
  over the data, wᵢ·wⱼ / |wᵢ||wⱼ| (SMEM's criterion);
* the move: w_i ← w_i + w_j; cluster k's members are split in two by k-means on
  D's penultimate features (on their whitened top principal components, ``MoveConfig.whiten``),
  and the w_k of one half moves to the freed column j.

The next M-step then trains G's class j and D's unit j on that half.

A pair re-split pools the most correlated pair (i, j) and splits it in two again by the same 2-means, one
half to each column: it targets two clusters that share the same two classes half and half.

A cross re-pairing targets such a pair differently. D's features code the current cluster, so a 2-means of
the pooled pair mostly finds the boundary already there; but each cluster's own 2-means does part its two
classes. So every cluster is split in two, the pair whose split directions (difference of the halves'
centroids) align most, |cos|, is chosen, and each half of i is joined with the half of j on the same side of
j's split: the 7s of both clusters in one, the 9s in the other.

The growth (:func:`grow`) fills empty columns by cutting the then largest cluster by a spectral cut of its
members' k-NN graph (:func:`graph_halves`), which follows chains of near neighbours rather than the widest
spread; on MNIST K = 20 and 30 ended lower with it than with 2-means cuts (RESULTS.md).

All functions here are pure NumPy on (w, logits, features) so they can be tested on hand-made cases;
:class:`~gan_em_tf.gan_em.moves.PartitionMoves` feeds them the networks' outputs.
"""
from __future__ import annotations

import warnings

import numpy as np


def split_scores(w: np.ndarray, class_logits: np.ndarray) -> np.ndarray:
    """[K] w-weighted mean over the reals of D's class-unit logit (higher: G covers the cluster worse)."""
    mass = w.sum(axis=0)
    return (w * class_logits).sum(axis=0) / np.maximum(mass, 1e-12)


def merge_scores(w: np.ndarray) -> np.ndarray:
    """[K, K] posterior correlation wᵢ·wⱼ / |wᵢ||wⱼ| over the data, −1 on the diagonal."""
    unit = w / np.maximum(np.linalg.norm(w, axis=0, keepdims=True), 1e-12)
    corr = unit.T @ unit
    np.fill_diagonal(corr, -1.0)
    return corr


def choose_move(w: np.ndarray, class_logits: np.ndarray) -> tuple[int, int, int]:
    """(split k, merge i, merge j): the most badly covered cluster and, among the others, the most correlated pair.

    i is the larger of the pair (it keeps the merged mass), j the column freed for k's second half.
    """
    k = int(np.argmax(split_scores(w, class_logits)))
    corr = merge_scores(w)
    corr[k, :] = corr[:, k] = -np.inf
    i, j = np.unravel_index(int(np.argmax(corr)), corr.shape)
    mass = w.sum(axis=0)
    if mass[j] > mass[i]:
        i, j = j, i
    return k, int(i), int(j)


def apply_move(w: np.ndarray, k: int, i: int, j: int, second_half: np.ndarray) -> np.ndarray:
    """The moved soft labels: column j merged into i, then ``second_half`` (a mask of samples) moves its w_k to j."""
    if len({k, i, j}) != 3:
        raise ValueError(f"split {k} and merge {i}+{j} must be three different clusters")
    out = w.copy()
    _move_mass(out, slice(None), j, i)
    _move_mass(out, second_half, k, j)
    return out


def _move_mass(w: np.ndarray, rows: np.ndarray | slice, src: int, dst: int) -> None:
    """In place: the ``rows`` (a mask, indices or a slice) add their w of cluster ``src`` to ``dst`` and drop it
    from ``src`` (each row keeps its sum)."""
    w[rows, dst] += w[rows, src]
    w[rows, src] = 0.0


def pair_to_resplit(w: np.ndarray) -> tuple[int, int]:
    """(i, j) for a pair re-split (a ``pair`` move): the two clusters whose posteriors correlate most,
    i the larger."""
    corr = merge_scores(w)
    i, j = np.unravel_index(int(np.argmax(corr)), corr.shape)
    mass = w.sum(axis=0)
    return (int(i), int(j)) if mass[i] >= mass[j] else (int(j), int(i))


def resplit_pair(w: np.ndarray, i: int, j: int, second_half: np.ndarray) -> np.ndarray:
    """Pool clusters i and j and deal them out again: samples in one half get w_i + w_j in column j, all others
    in column i (every row keeps its sum; the other columns are untouched).

    Each half goes to the column that already holds more of its mass, so a split that agrees with the current
    pair leaves it as it is instead of swapping the two columns: G's class i keeps drawing what it drew, and
    the M-step after the move does not have to teach G's two classes each other's digits.
    """
    if i == j:
        raise ValueError(f"a pair re-split needs two different clusters, got {i} twice")
    kept = w[second_half, j].sum() + w[~second_half, i].sum()
    swapped = w[second_half, i].sum() + w[~second_half, j].sum()
    if swapped > kept:
        second_half = ~second_half
    out = w.copy()
    pooled = out[:, i] + out[:, j]
    out[:, i] = np.where(second_half, 0.0, pooled)
    out[:, j] = np.where(second_half, pooled, 0.0)
    return out


def split_direction(features: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Unit vector from the centroid of the other half to the centroid of ``half`` (a mask of rows)."""
    d = features[half].mean(axis=0) - features[~half].mean(axis=0)
    return d / max(float(np.linalg.norm(d)), 1e-12)


def most_aligned_pair(directions: dict[int, np.ndarray]) -> tuple[int, int, float]:
    """(i, j, cos) over the clusters in ``directions``: the pair whose split directions are most nearly parallel or
    antiparallel (largest |cos|), i < j; cos keeps its sign, which says which half of j goes with which of i."""
    best = None
    for i in sorted(directions):
        for j in sorted(directions):
            if j > i:
                cos = float(directions[i] @ directions[j])
                if best is None or abs(cos) > abs(best[2]):
                    best = (i, j, cos)
    if best is None:
        raise ValueError("a cross re-pairing needs at least two clusters with two members each")
    return best


def cross_mask(assign: np.ndarray, smaller_half: dict[int, np.ndarray], i: int, j: int, cos: float) -> np.ndarray:
    """The samples a cross re-pairing of (i, j) deals to one column (:func:`resplit_pair`'s ``second``): i's
    smaller half (``smaller_half[c]``: its sample indices) and the half of j on the same side of j's split."""
    second = np.zeros(len(assign), bool)
    j_half = np.zeros(len(assign), bool)
    j_half[smaller_half[j]] = True
    second[smaller_half[i]] = True
    second |= (j_half if cos > 0 else ~j_half) & (assign == j)
    return second


def aligned_pair(assign: np.ndarray, features: np.ndarray, k: int, seed: int,
                 whiten: int = 0) -> tuple[int, int, float, dict[int, np.ndarray]] | None:
    """The pair a cross re-pairing (a ``cross`` move) deals out again: (i, j, cos, smaller_half).

    Each cluster with two or more members is split by :func:`halves` (``smaller_half[c]``: the sample indices of
    c's smaller half); (i, j, cos) is their :func:`most_aligned_pair`, and :func:`cross_mask` the new parting.
    None when fewer than two clusters have two members (nothing to re-pair)."""
    smaller_half, directions = {}, {}
    for c in range(k):
        members = np.flatnonzero(assign == c)
        if len(members) >= 2:
            half = halves(features[members], seed, whiten=whiten)
            smaller_half[c] = members[half]
            directions[c] = split_direction(features[members], half)
    if len(directions) < 2:
        return None
    return (*most_aligned_pair(directions), smaller_half)


def halves(features: np.ndarray, seed: int, whiten: int = 0) -> np.ndarray:
    """Boolean mask of the smaller of two k-means (k = 2) groups of ``features``.

    ``whiten`` > 0: cluster the features' top ``whiten`` principal components, each scaled to unit variance
    (a Mahalanobis-like 2-means, so the directions of largest within-cluster variance, e.g. stroke width and
    slant, do not decide the split alone); 0: the raw features.
    """
    from sklearn.cluster import KMeans

    if len(features) < 2:
        return np.zeros(len(features), bool)
    return _smaller_group(KMeans(2, n_init=5, random_state=seed).fit_predict(split_space(features, seed, whiten)))


def graph_halves(points: np.ndarray, seed: int, neighbors: int = 5, dims: int = 50) -> np.ndarray:
    """Boolean mask of the smaller of two groups that spectral clustering finds in the ``neighbors``-NN graph of
    ``points`` (D's features for :func:`grow`; flattened, then projected on their top ``dims`` principal
    components).

    2-means cuts a group along its widest spread; a graph cut follows the chains of near neighbours, so it parts
    two classes that each vary more in style than they differ from each other, as long as a point's nearest
    neighbours mostly share its class.
    """
    from sklearn.cluster import SpectralClustering

    flat = points.reshape(len(points), -1)
    if len(flat) <= neighbors + 1:
        return np.zeros(len(flat), bool)
    points = principal_components(flat, dims, seed, unit_variance=False)
    with warnings.catch_warnings():  # a graph in two pieces is the easiest case of all, not a problem
        warnings.filterwarnings("ignore", message="Graph is not fully connected")
        labels = SpectralClustering(2, affinity="nearest_neighbors", n_neighbors=neighbors,
                                    random_state=seed).fit_predict(points)
    return _smaller_group(labels)


def _smaller_group(labels: np.ndarray) -> np.ndarray:
    """Boolean mask of the rarer of two labels 0/1 (label 0 on a tie)."""
    return labels == int(np.bincount(labels, minlength=2).argmin())


def grow(w: np.ndarray, features: np.ndarray, k_from: int, seed: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Fill w's empty columns by splitting clusters: first any of columns 0..k_from-1 that no sample's w picks (a
    cluster that emptied before the growth), then k_from..K-1 (empty until now). Each takes the samples in the
    smaller group of the then largest cluster among the columns filled so far (:func:`graph_halves` of the
    members' features), with their w of that cluster.

    Returns the new w (every row keeps its sum) and the (parent, j) of each split, in order.
    """
    out, splits = w.copy(), []
    filled = np.zeros(w.shape[1], bool)
    filled[:k_from] = np.bincount(w[:, :k_from].argmax(axis=1), minlength=k_from) > 0
    for j in np.flatnonzero(~filled):
        assign = np.where(filled, out, -np.inf).argmax(axis=1)
        parent = int(np.bincount(assign, minlength=len(filled)).argmax())
        members = np.flatnonzero(assign == parent)
        moved = members[graph_halves(features[members], seed)]
        _move_mass(out, moved, parent, j)
        filled[j] = True
        splits.append((parent, int(j)))
    return out, splits


def split_space(features: np.ndarray, seed: int, whiten: int = 0) -> np.ndarray:
    """The space :func:`halves` clusters in: the top ``whiten`` principal components of ``features``, each
    scaled to unit variance, or the features themselves for 0."""
    return principal_components(features, whiten, seed, unit_variance=True) if whiten > 0 else features


def principal_components(points: np.ndarray, dims: int, seed: int, unit_variance: bool) -> np.ndarray:
    """``points`` projected on their top ``dims`` principal components (at most one fewer than the rows and no
    more than the columns; the points themselves when that leaves none), each scaled to unit variance if asked."""
    from sklearn.decomposition import PCA

    dims = min(dims, len(points) - 1, points.shape[1])
    return PCA(dims, whiten=unit_variance, random_state=seed).fit_transform(points) if dims > 0 else points
