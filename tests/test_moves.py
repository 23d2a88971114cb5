"""The partition moves: the pure functions of gan_em/split_merge.py on hand-made soft labels, the schedule of
gan_em/moves.py, and the moves inside GAN-EM's EM iteration."""
import numpy as np
import pytest

from gan_em_tf.gan_em import split_merge
from gan_em_tf.gan_em.config import GrowthConfig, MoveConfig
from gan_em_tf.gan_em.moves import PartitionMoves


def test_split_scores_are_w_weighted_means_of_each_class_logit():
    w = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    logits = np.array([[2.0, 9.0], [9.0, -1.0], [0.0, 4.0]])
    # cluster 0: (1·2 + 0·9 + 0.5·0) / 1.5; cluster 1: (0·9 + 1·(−1) + 0.5·4) / 1.5
    np.testing.assert_allclose(split_merge.split_scores(w, logits), [2.0 / 1.5, 1.0 / 1.5])


def test_choose_move_splits_the_worst_covered_cluster_and_merges_the_most_correlated_other_pair():
    # 8 samples, K = 4. Clusters 2 and 3 share samples 4–7 (correlated); cluster 0 is also correlated
    # with 1 but is the split candidate (highest logit), so it may not be merged.
    w = np.array([[0.5, 0.5, 0, 0], [0.5, 0.5, 0, 0], [0.9, 0.1, 0, 0], [0, 1.0, 0, 0],
                  [0, 0, 0.6, 0.4], [0, 0, 0.5, 0.5], [0, 0, 0.7, 0.3], [0, 0, 1.0, 0]])
    logits = np.zeros((8, 4))
    logits[:, 0] = 3.0
    k, i, j = split_merge.choose_move(w, logits)
    assert k == 0 and (i, j) == (2, 3)  # 2 holds more mass than 3, so 3 is the freed column


def test_apply_move_keeps_every_row_a_distribution_and_moves_the_right_mass():
    rng = np.random.default_rng(0)
    w = rng.dirichlet(np.ones(4), size=10)
    second = np.zeros(10, bool)
    second[[1, 4, 7]] = True
    out = split_merge.apply_move(w, k=0, i=1, j=2, second_half=second)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    np.testing.assert_allclose(out[~second, 1], w[~second, 1] + w[~second, 2])  # merged
    np.testing.assert_allclose(out[second, 2], w[second, 0])  # the split half's w_k now in the freed column
    assert np.all(out[second, 0] == 0) and np.all(out[~second, 2] == 0)
    np.testing.assert_allclose(out[:, 3], w[:, 3])  # untouched
    with pytest.raises(ValueError):
        split_merge.apply_move(w, 0, 0, 2, second)


def test_halves_marks_the_smaller_of_two_separated_groups():
    rng = np.random.default_rng(1)
    feats = np.concatenate([rng.normal(0, 0.1, (5, 3)), rng.normal(5, 0.1, (3, 3))])
    np.testing.assert_array_equal(split_merge.halves(feats, seed=0), [False] * 5 + [True] * 3)


def test_whitened_halves_find_a_bimodal_direction_that_a_larger_spread_hides_from_raw_2_means():
    rng = np.random.default_rng(0)
    group = np.arange(200) < 80  # the smaller half
    feats = np.stack([rng.normal(0, 10, 200), np.where(group, 1.0, -1.0) + rng.normal(0, 0.1, 200)], axis=1)
    np.testing.assert_array_equal(split_merge.halves(feats, seed=0, whiten=2), group)
    raw = split_merge.halves(feats, seed=0)
    assert 0.3 < np.mean(raw == group) < 0.7  # raw 2-means cuts along the wide, unimodal axis


def test_pair_resplit_pools_the_most_correlated_pair_and_deals_it_out_again():
    # clusters 0 and 1 share their samples (a 4/9 pair); cluster 2 stands apart
    w = np.array([[0.6, 0.4, 0.0], [0.5, 0.5, 0.0], [0.4, 0.5, 0.1], [0.6, 0.3, 0.1], [0.0, 0.1, 0.9]])
    i, j = split_merge.pair_to_resplit(w)
    assert (i, j) == (0, 1)  # the larger of the pair first
    second = np.array([False, True, True, False, False])
    out = split_merge.resplit_pair(w, i, j, second)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    np.testing.assert_allclose(out[:, 2], w[:, 2])  # the other column is untouched
    np.testing.assert_allclose(out[[0, 3], 0], [1.0, 0.9])
    np.testing.assert_allclose(out[[1, 2], 1], [1.0, 0.9])
    assert out[[1, 2], 0].sum() == 0 and out[[0, 3], 1].sum() == 0
    with pytest.raises(ValueError):
        split_merge.resplit_pair(w, 1, 1, second)


def test_pair_resplit_that_agrees_with_the_pair_keeps_each_half_in_its_column():
    # clusters 0 and 1 already hold the two halves; 2-means returns the mask of cluster 0's samples
    w = np.array([[0.9, 0.1, 0.0], [0.8, 0.2, 0.0], [0.1, 0.9, 0.0], [0.3, 0.7, 0.0], [0.0, 0.1, 0.9]])
    second = np.array([True, True, False, False, False])
    out = split_merge.resplit_pair(w, 0, 1, second)
    np.testing.assert_array_equal(out.argmax(axis=1), w.argmax(axis=1))  # no swap of the two columns
    np.testing.assert_allclose(out[[0, 1], 0], [1.0, 1.0])
    np.testing.assert_allclose(out[[2, 3], 1], [1.0, 1.0])


@pytest.mark.parametrize("a_first", [True, False])
def test_aligned_pair_and_cross_mask_join_the_matching_halves_of_two_clusters_that_share_two_groups(a_first):
    """Clusters 0 and 1 each hold groups A and B (A at +5, B at -5 along feature 0; cluster 1 shifted along
    feature 1, as D's features shift each cluster); cluster 2 splits along feature 2. The re-pairing picks 0+1 and
    puts all of A in one column and all of B in the other, whichever half of each cluster is the smaller."""
    rng = np.random.default_rng(0)
    n_a0, n_b0, n_a1, n_b1 = (3, 5, 5, 3) if a_first else (3, 5, 3, 5)  # a_first: the smaller halves differ
    group = np.array(["A"] * n_a0 + ["B"] * n_b0 + ["A"] * n_a1 + ["B"] * n_b1 + ["C"] * 4 + ["D"] * 6)
    assign = np.array([0] * (n_a0 + n_b0) + [1] * (n_a1 + n_b1) + [2] * 10)
    feats = rng.normal(0, 0.05, (len(group), 3))
    feats[group == "A", 0] += 5
    feats[group == "B", 0] -= 5
    feats[assign == 1, 1] += 20
    feats[group == "C", 2] += 5
    feats[group == "D", 2] -= 5
    i, j, cos, smaller_half = split_merge.aligned_pair(assign, feats, 3, seed=0)
    second = split_merge.cross_mask(assign, smaller_half, i, j, cos)
    assert (i, j) == (0, 1)
    assert not second[assign == 2].any()
    in_pair = assign < 2
    assert len(set(second[in_pair & (group == "A")])) == 1 and len(set(second[in_pair & (group == "B")])) == 1
    assert second[in_pair & (group == "A")][0] != second[in_pair & (group == "B")][0]
    w = np.eye(3)[assign]
    moved = split_merge.resplit_pair(w, i, j, second).argmax(axis=1)
    assert len(set(moved[in_pair & (group == "A")])) == 1 and len(set(moved[in_pair & (group == "B")])) == 1
    np.testing.assert_array_equal(moved[assign == 2], 2)


def test_graph_halves_parts_two_long_chains_that_2_means_cuts_across():
    """Two parallel rows of points, each longer than the gap between them: 2-means cuts both rows in the middle,
    the cut of the 5-NN graph parts one row from the other."""
    rng = np.random.default_rng(0)
    along = rng.uniform(0, 10, 120)
    row = np.arange(120) % 2 == 0  # the class: which row a point lies on
    images = np.stack([along, np.where(row, 1.5, 0.0) + rng.normal(0, 0.05, 120)], axis=1).reshape(120, 2, 1)
    cut = split_merge.graph_halves(images, seed=0)
    assert np.array_equal(cut, row) or np.array_equal(cut, ~row)
    two_means = split_merge.halves(images.reshape(120, 2), seed=0)
    assert 0.35 < np.mean(two_means == row) < 0.65  # the baseline the graph cut beats


def test_aligned_pair_needs_two_clusters_with_two_members():
    assign = np.array([0, 0, 0, 1])
    feats = np.random.default_rng(0).normal(size=(4, 2))
    assert split_merge.aligned_pair(assign, feats, 2, seed=0) is None


def test_grow_splits_the_then_largest_cluster_into_each_empty_column():
    rng = np.random.default_rng(0)
    blobs = [(0, 0), (10, 0), (0, 50), (10, 50)]  # cluster 0 = blobs 0 + 1 (15 + 15), cluster 1 = blobs 2 + 3 (10 + 10)
    sizes = [15, 15, 10, 10]
    feats = np.concatenate([rng.normal(c, 0.3, (n, 2)) for c, n in zip(blobs, sizes)])
    blob = np.repeat(np.arange(4), sizes)
    w = np.zeros((50, 4), np.float32)
    w[blob < 2, 0], w[blob >= 2, 1] = 0.9, 0.8
    w[blob < 2, 1], w[blob >= 2, 0] = 0.1, 0.2
    grown, splits = split_merge.grow(w, feats, k_from=2, seed=0)
    assert splits == [(0, 2), (1, 3)]  # 30 > 20 first; then 20 > 15 = 15
    np.testing.assert_allclose(grown.sum(axis=1), w.sum(axis=1))  # mass moves between columns, none is made
    assign = grown.argmax(axis=1)
    for b in range(4):  # each blob lands whole in one column, and the four columns are four blobs
        assert len(set(assign[blob == b])) == 1
    assert sorted(set(assign)) == [0, 1, 2, 3]
    moved = grown[:, 2] > 0
    np.testing.assert_allclose(grown[moved, 2], 0.9)  # the parent's w moves with the samples; the rest stays
    np.testing.assert_allclose(grown[moved, 1], 0.1)


def test_grow_also_fills_a_column_that_emptied_before_the_growth():
    rng = np.random.default_rng(0)
    blobs = [(0, 0), (10, 0), (0, 50), (10, 50)]  # cluster 0 = blobs 0 + 1 (20 + 20); cluster 2 = blobs 2 + 3 (15 + 15)
    sizes = [20, 20, 15, 15]
    feats = np.concatenate([rng.normal(c, 0.3, (n, 2)) for c, n in zip(blobs, sizes)])
    blob = np.repeat(np.arange(4), sizes)
    w = np.zeros((70, 4), np.float32)  # column 1 lost its samples before the growth (no row's largest w)
    w[blob < 2] = [0.95, 0.01, 0.04, 0.0]
    w[blob >= 2] = [0.09, 0.01, 0.9, 0.0]
    grown, splits = split_merge.grow(w, feats, k_from=3, seed=0)
    assert splits == [(0, 1), (2, 3)]  # the emptied column first, from the largest cluster (40 > 30); then 30 > 20
    np.testing.assert_allclose(grown.sum(axis=1), w.sum(axis=1))
    assign = grown.argmax(axis=1)
    for b in range(4):  # each blob lands whole in one column, and the four columns are four blobs
        assert len(set(assign[blob == b])) == 1
    assert sorted(set(assign)) == [0, 1, 2, 3]
    np.testing.assert_allclose(grown[assign == 1, 1], 0.96)  # the parent's w added to the column's own


def test_copy_class_makes_a_class_draw_and_score_as_its_source():
    from test_models import _tiny_gan_em
    from gan_em_tf import networks

    model, x = _tiny_gan_em(clusters=3)
    networks.copy_class(model.generator, model.discriminator, model.enet, src=0, dst=2)
    z = np.random.default_rng(1).random((4, model.cfg.train.noise_dim), dtype=np.float32)
    eye = np.eye(3, dtype=np.float32)
    g0 = model.generator.predict([z, eye[[0] * 4]], verbose=0)
    np.testing.assert_allclose(model.generator.predict([z, eye[[2] * 4]], verbose=0), g0, atol=1e-6)
    assert not np.allclose(model.generator.predict([z, eye[[1] * 4]], verbose=0), g0, atol=1e-6)
    for net in (model.discriminator, model.enet):
        logits = net.predict(x, verbose=0)
        np.testing.assert_allclose(logits[:, 2], logits[:, 0], atol=1e-6)


def test_grow_by_graph_cut_parts_two_interleaved_groups_that_2_means_cuts_across():
    from sklearn.datasets import make_moons

    feats, moon = make_moons(200, noise=0.03, random_state=0)  # one cluster holding two half-moons
    w = np.zeros((200, 2), np.float32)
    w[:, 0] = 1.0
    grown, splits = split_merge.grow(w, feats, k_from=1, seed=0)
    assert splits == [(0, 1)]
    np.testing.assert_allclose(grown.sum(axis=1), 1.0)
    assert all(len(set(grown[moon == m].argmax(axis=1))) == 1 for m in (0, 1))
    two_means = split_merge.halves(feats, seed=0)
    assert 0.2 < np.mean(two_means == (moon == 1)) < 0.8  # the cut the graph beats


def _schedule(iterations=170, moves=MoveConfig(), growth=None, k=10):
    return PartitionMoves(moves, growth, k, iterations, seed=0)


def test_moves_alternate_from_start_every_n_then_one_cross_after_final_and_none_after():
    due = {it: kind for it in range(1, 171) if (kind := _schedule().due(it))}
    assert list(due) == list(range(40, 90, 4)) + [90]
    assert [due[it] for it in (40, 44, 48, 52)] == ["smem", "pair", "smem", "pair"] and due[90] == "cross"
    small = {it: kind for it in range(1, 8) if (kind := _schedule(7, MoveConfig(every=1, start=2, final=4)).due(it))}
    assert small == {2: "smem", 3: "pair", 4: "cross"}
    assert _schedule(4, MoveConfig(every=1, start=2, final=4)).due(4) is None  # never after the last iteration


def test_the_growth_replaces_the_move_due_at_its_iteration_and_k0_is_used_until_then():
    plan = _schedule(moves=MoveConfig(), growth=GrowthConfig(clusters=10, after=40, hold=4), k=20)
    assert plan.due(40) == "grow" and plan.due(44) == "pair"
    assert plan.active_clusters(39) == 10 and plan.active_clusters(40) == 20


def test_the_m_step_after_a_move_is_scaled_and_the_others_are_not():
    plan = _schedule(12, MoveConfig(every=2, start=3, final=9, m_step_scale=4.0))
    assert [plan.m_step_scale(done) for done in range(10)] == [1, 1, 1, 4, 1, 4, 1, 4, 1, 4]


def test_a_move_every_n_is_not_held_the_cross_move_is_held_final_hold_iterations():
    from test_models import _tiny_gan_em
    from gan_em_tf.config import ScheduleConfig

    model, x = _tiny_gan_em(ScheduleConfig(iterations=7, m_epochs=1, e_steps=2), clusters=3,
                            moves=MoveConfig(every=1, start=1, final=2, final_hold=2, whiten=0))
    spread = np.random.default_rng(0).dirichlet(np.ones(3), len(x)).astype(np.float32)
    model.w = spread  # a tiny run's w may sit on one cluster; spread it so the moves have something to move
    first = model.em_iteration(x, verbose=0)
    assert first.logs["move"] == "smem" and model.moves.hold_left == 0
    model.w = spread
    second = model.em_iteration(x, verbose=0)
    assert second.logs["move"] == "cross" and int(model.state()["sm_hold_left"]) == 2  # checkpointed
    moved = model.w.copy()
    for _ in range(2):
        held = model.em_iteration(x, verbose=0).logs
        assert held["w_held"] == 1.0 and "move" not in held
        np.testing.assert_array_equal(model.w, moved)
        assert held["e_agrees_held"] == pytest.approx(np.mean(model.posterior(x).argmax(1) == moved.argmax(1)))
    released = model.em_iteration(x, verbose=0)
    assert "w_held" not in released.logs
    np.testing.assert_allclose(model.w, model.posterior(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(released.assign, model.w.argmax(axis=1))


def test_growth_uses_k0_clusters_up_to_t_then_all_k_each_new_class_a_copy_of_its_parent():
    from test_models import _tiny_gan_em
    from gan_em_tf.config import ScheduleConfig

    model, x = _tiny_gan_em(ScheduleConfig(iterations=3, m_epochs=1, e_steps=2), clusters=4,
                            growth=GrowthConfig(clusters=2, after=1, hold=1))
    np.testing.assert_allclose(model.w, [[0.5, 0.5, 0.0, 0.0]] * len(x))  # Algorithm 1's uniform w over K0
    result = model.em_iteration(x, verbose=0)
    assert result.logs["move"] == "grow" and result.logs["grown_to"] == 4.0
    assert set(result.assign) <= {0, 1}  # scored before the growth: E(x) masked to the K0 columns
    assert np.all(model.w.sum(axis=0) > 0)  # after it every column holds a cut half
    np.testing.assert_allclose(model.w.sum(axis=1), 1.0, rtol=1e-5)
    grown = model.w.copy()
    assert model.em_iteration(x, verbose=0).logs["w_held"] == 1.0
    np.testing.assert_array_equal(model.w, grown)
    model.em_iteration(x, verbose=0)
    assert model.posterior(x)[:, 2:].sum() > 0  # all K columns in use after T


def test_a_config_of_the_flat_split_merge_fields_reads_as_one_moves_object_or_is_refused():
    """Run folders written before the moves were one object: the alternate moves with a final cross move become
    train.moves (the move M-step as a multiple of p); a removed variant is a one-line error."""
    from gan_em_tf.config import RunConfig
    from gan_em_tf.errors import UserError

    old = RunConfig().to_dict()
    old["schedule"]["m_epochs"] = 1.0
    old["train"] = {**{k: v for k, v in old["train"].items() if k not in ("moves", "growth")},
                    "preset": "authors", "split_merge_every": 4, "split_merge_start": 40,
                    "split_merge_mode": "alternate", "split_merge_whiten": 10, "split_merge_m_epochs": 2,
                    "split_merge_final": 90, "split_merge_final_mode": "cross", "split_merge_final_hold": 6,
                    "split_merge_hold": 0, "split_merge_protect_new": False, "grow_from": 10, "grow_after": 40,
                    "grow_hold": 4, "grow_split": "graph", "info_weight": 0.0, "d_fake_targets": "all"}
    cfg = RunConfig.from_dict(old)
    assert cfg.train.moves == MoveConfig() and cfg.train.growth == GrowthConfig()
    assert cfg.recipe_name == "authors"
    for change in ({"split_merge_mode": "smem"}, {"grow_split": "2means"}, {"info_weight": 1.0}):
        with pytest.raises(UserError, match="cannot be continued by this version"):
            RunConfig.from_dict({**old, "train": {**old["train"], **change}})
