"""Clustering metrics against cases with known answers."""
import numpy as np
import pytest

from gan_em_tf import metrics


def test_permuted_labels_score_perfectly():
    y = np.array([0, 0, 1, 1, 2, 2])
    s = metrics.cluster_scores(y, np.array([2, 2, 0, 0, 1, 1]), 3)
    assert s["acc"] == 1.0 and s["nmi"] == pytest.approx(1.0) and s["ari"] == pytest.approx(1.0)
    assert s["error"] == 0.0 and s["purity"] == 1.0 and s["error_mapping"] == "hungarian"


def test_hungarian_uses_one_to_one_matching():
    y = np.array([0, 0, 0, 1, 1, 2])
    c = np.array([0, 0, 1, 1, 1, 1])  # cluster 1 = {0,1,1,2}
    assert metrics.hungarian_acc(y, c) == pytest.approx(4 / 6)
    assert metrics.purity(y, c) == pytest.approx(4 / 6)
    y2 = np.array([0, 0, 1, 1])
    c2 = np.array([0, 0, 0, 0])  # one cluster: one-to-one matches 2 of 4
    assert metrics.hungarian_acc(y2, c2) == pytest.approx(0.5)


def test_more_clusters_than_classes_uses_majority_mapping():
    y = np.array([0, 0, 1, 1, 0, 1])
    c = np.array([0, 1, 2, 3, 0, 3])  # four pure clusters for two classes
    s = metrics.cluster_scores(y, c, 4)
    assert s["error_mapping"] == "majority"
    assert s["error"] == pytest.approx(0.0)
    assert s["acc"] == pytest.approx(4 / 6)  # only two clusters can be matched one-to-one


def test_random_assignment_scores_near_chance():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 5000)
    s = metrics.cluster_scores(y, rng.integers(0, 10, 5000), 10)
    assert s["acc"] < 0.15 and abs(s["ari"]) < 0.01 and s["nmi"] < 0.01


def test_clusters_used_counts_only_clusters_that_hold_a_sample():
    c = np.array([4, 4, 0, 7])  # of eight columns, 0, 4 and 7 hold samples
    assert metrics.clusters_used(c) == 3
    s = metrics.cluster_scores(np.array([0, 0, 1, 1]), c)  # k from the assignment: 3 > 2 classes
    assert s["error_mapping"] == "majority"


def test_rand_index_and_geometric_nmi_on_a_hand_counted_case():
    """Labels 0 0 1 1, clusters 0 0 0 1: of the 6 pairs, one shares class and cluster (samples 1–2) and two differ
    in both (1–4, 2–4), so Rand = 3 / 6; NMI from the entropies by hand."""
    s = metrics.cluster_scores(np.array([0, 0, 1, 1]), np.array([0, 0, 0, 1]), 2)
    assert s["rand"] == pytest.approx(3 / 6)
    h_y, h_c = np.log(2), -(0.75 * np.log(0.75) + 0.25 * np.log(0.25))
    mi = 0.5 * np.log(0.5 / (0.5 * 0.75)) + 0.25 * np.log(0.25 / (0.5 * 0.75)) + 0.25 * np.log(0.25 / (0.5 * 0.25))
    assert s["nmi_geometric"] == pytest.approx(mi / np.sqrt(h_y * h_c))
    assert s["nmi"] == pytest.approx(mi / ((h_y + h_c) / 2))


def test_per_cluster_gives_each_clusters_majority_size_and_purity_and_an_empty_one():
    """The Mixture-of-GANs paper's Table 2 rows, by hand: cluster 0 holds labels 1, 1, 2; cluster 2 holds 0."""
    rows = metrics.per_cluster([1, 1, 2, 0], [0, 0, 0, 2], 3)
    assert rows == [{"cluster": 0, "label": 1, "size": 3, "purity": 2 / 3},
                    {"cluster": 1, "label": None, "size": 0, "purity": 0.0},
                    {"cluster": 2, "label": 0, "size": 1, "purity": 1.0}]


def test_a_baseline_fitted_on_the_first_rows_predicts_every_row():
    """fit_rows (Figs. 3-5 of the Mixture-of-GANs paper): fitted on one blob's rows only, k-means with K = 2
    still assigns all rows, and the blob it never saw lands in one cluster."""
    from gan_em_tf import baselines

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (50, 2)), rng.normal(0, 1, (50, 2)) + 20])
    full = baselines.fit_predict("kmeans", x, 2, seed=0)
    part = baselines.fit_predict("kmeans", x, 2, seed=0, fit_rows=50)
    assert len(part) == 100 and len(set(full[:50])) == 1 and full[0] != full[99]
    assert len(set(part[50:])) == 1  # the unseen blob goes to the nearer of the two centres fitted on the first


@pytest.mark.parametrize("scale", [1e-2, 1.0, 100.0])
def test_the_gmm_baseline_separates_blobs_at_any_scale(scale):
    """The diagonal GMM's variance floor follows the data's scale: three blobs of sd 0.1·scale, 1·scale apart,
    are recovered whether the features vary by 1e-4 or by 1e2 (an absolute floor of 1e-2 merged the small ones)."""
    from gan_em_tf import baselines, metrics

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 100)
    centres = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    x = (centres[y] + rng.normal(0, 0.1, (300, 2))) * scale
    assert metrics.purity(y, baselines.fit_predict("gmm", x, 3, seed=0)) >= 0.95
