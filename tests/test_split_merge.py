"""The optional split-and-merge move (gan_em/split_merge.py) on hand-made soft labels, and inside the EM loop."""
import numpy as np
import pytest

from gan_em_tf.gan_em import split_merge


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


def test_a_protected_column_is_left_out_of_the_merge_unless_no_pair_would_remain():
    # K = 5: 2 and 3 share samples 2–3 (the most correlated pair), 1 and 4 share samples 5 and 7
    w = np.array([[1, 0, 0, 0, 0], [1, 0, 0, 0, 0], [0, 0, 0.5, 0.5, 0], [0, 0, 0.6, 0.4, 0], [0, 0, 1, 0, 0],
                  [0, 0.7, 0, 0, 0.3], [0, 1, 0, 0, 0], [0, 0.4, 0, 0, 0.6], [0, 0, 0, 0, 1]])
    logits = np.zeros((len(w), 5))
    logits[:, 0] = 3.0
    assert split_merge.choose_move(w, logits) == (0, 2, 3)
    assert split_merge.choose_move(w, logits, protect=(3,)) == (0, 1, 4)  # 1 holds 2.1, 4 holds 1.9
    # K = 3: leaving out 2 would leave only column 1 beside the split 0, so the protection is dropped
    w3 = np.array([[1, 0, 0], [0, 0.5, 0.5], [0, 0.6, 0.4], [0, 1, 0]])
    assert split_merge.choose_move(w3, np.tile([3.0, 0, 0], (4, 1)), protect=(2,)) == (0, 1, 2)


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


@pytest.mark.parametrize("mode, clusters", [("smem", 3), ("pair", 3), ("pair", 2), ("cross", 3), ("cross", 2),
                                            ("alternate", 3)])
def test_the_loop_applies_a_move_between_iterations_but_not_after_the_last(mode, clusters):
    from test_models import _tiny_gan_em
    from gan_em_tf.config import ScheduleConfig

    model, x = _tiny_gan_em(ScheduleConfig(iterations=2, m_epochs=1, e_steps=2), clusters=clusters,
                            split_merge_every=1, split_merge_mode=mode)
    model.em_iteration(x, verbose=0)
    assert model.split_merge_due()
    # a tiny run's w may sit on one cluster; spread it so every mode has a move to make
    model.w = np.random.default_rng(0).dirichlet(np.ones(clusters), len(x)).astype(np.float32)
    before = model.w.copy()
    logs = model.split_merge_move(x)
    k, i, j = (int(logs[key]) for key in ("sm_split", "sm_merge_into", "sm_freed"))
    smem = mode in ("smem", "alternate")  # alternate's first move is smem
    assert len({k, i, j}) == (3 if smem else 2) and logs["sm_moved"] >= 0
    assert int(model.state()["sm_filled"]) == (j if smem else -1)  # checkpointed for the next move
    np.testing.assert_allclose(model.w.sum(axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(model.w, before)
    model.em_iteration(x, verbose=0)
    assert not model.split_merge_due()  # the run's final w is the E-step's, unmoved


def test_split_merge_hold_keeps_the_moved_labels_through_h_iterations_then_e_x_takes_over():
    from test_models import _tiny_gan_em
    from gan_em_tf.config import ScheduleConfig
    from gan_em_tf.gan_em import loop

    model, x = _tiny_gan_em(ScheduleConfig(iterations=5, m_epochs=1, e_steps=2), clusters=3,
                            split_merge_every=3, split_merge_mode="pair", split_merge_hold=2)
    model.em_iteration(x, verbose=0)
    model.w = np.random.default_rng(0).dirichlet(np.ones(3), len(x)).astype(np.float32)
    model.split_merge_move(x)
    moved = model.w.copy()
    assert int(model.state()["sm_hold_left"]) == 2  # checkpointed, so a resumed run holds as long
    for _ in range(2):
        row = model.em_iteration(x, verbose=0)
        assert row["w_held"] == 1.0  # marked in metrics.csv and the log
        np.testing.assert_array_equal(model.w, moved)
        agree = np.mean(model.posterior(x).argmax(axis=1) == moved.argmax(axis=1))  # E as it ends the iteration
        assert row["e_agrees_held"] == pytest.approx(agree)
        assert f"w held (E agrees {agree:.3f})" in loop._log_line(3, 5, {**row, "phi_min": 0.0, "phi_max": 1.0,
                                                                           "seconds": 1.0})
    assert "w_held" not in model.em_iteration(x, verbose=0)
    assert not np.allclose(model.w, moved)
    np.testing.assert_allclose(model.w, model.posterior(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("every, start, moves", [(2, 0, [2, 4, 6]), (2, 3, [3, 5]), (3, 5, [5]), (0, 0, [])])
def test_moves_follow_iterations_start_then_every_n_but_never_the_last(every, start, moves):
    from types import SimpleNamespace
    from gan_em_tf.config import RunConfig, ScheduleConfig, TrainConfig
    from gan_em_tf.gan_em.loop import GanEm

    cfg = RunConfig(train=TrainConfig(split_merge_every=every, split_merge_start=start),
                    schedule=ScheduleConfig(iterations=7))
    due = [it for it in range(1, 8) if GanEm.split_merge_due(SimpleNamespace(cfg=cfg, iteration=it))]
    assert due == moves


@pytest.mark.parametrize("every, start, final, moves", [(2, 2, 7, [2, 4, 6, 7]), (2, 0, 5, [2, 4, 5]),
                                                        (0, 0, 3, [3]), (3, 0, 6, [3, 6])])
def test_a_final_move_follows_iteration_f_and_no_move_comes_after_it(every, start, final, moves):
    from types import SimpleNamespace
    from gan_em_tf.config import RunConfig, ScheduleConfig, TrainConfig
    from gan_em_tf.gan_em.loop import GanEm

    cfg = RunConfig(train=TrainConfig(split_merge_every=every, split_merge_start=start, split_merge_mode="alternate",
                                      split_merge_final=final, split_merge_final_mode="cross"),
                    schedule=ScheduleConfig(iterations=12))
    due, kinds = [], []
    for it in range(1, 13):
        model = SimpleNamespace(cfg=cfg, iteration=it)
        if GanEm.split_merge_due(model):
            due.append(it)
            kinds.append(GanEm.move_mode(model))
    assert due == moves
    assert kinds[-1] == "cross" and "cross" not in kinds[:-1]  # the moves every N keep --split-merge-mode


@pytest.mark.parametrize("every, start, final, moves", [(2, 2, 7, [2, 4, 6]), (4, 40, 90, list(range(40, 90, 4)))])
def test_final_mode_none_stops_the_moves_before_f_and_makes_no_last_move(every, start, final, moves):
    from types import SimpleNamespace
    from gan_em_tf.config import RunConfig, ScheduleConfig, TrainConfig
    from gan_em_tf.gan_em.checks import split_merge_flags
    from gan_em_tf.gan_em.loop import GanEm

    cfg = RunConfig(train=TrainConfig(split_merge_every=every, split_merge_start=start, split_merge_final=final,
                                      split_merge_final_mode="none"),
                    schedule=ScheduleConfig(iterations=final + 40))
    split_merge_flags(cfg, k=10)
    due = [it for it in range(1, final + 40) if GanEm.split_merge_due(SimpleNamespace(cfg=cfg, iteration=it))]
    assert due == moves


@pytest.mark.parametrize("every, final_hold", [(0, 0), (4, 6)])
def test_final_mode_none_needs_moves_to_stop_and_no_hold(every, final_hold):
    from gan_em_tf.config import RunConfig, ScheduleConfig, TrainConfig
    from gan_em_tf.errors import UserError
    from gan_em_tf.gan_em.checks import split_merge_flags

    cfg = RunConfig(train=TrainConfig(split_merge_every=every, split_merge_final=20, split_merge_final_mode="none",
                                      split_merge_final_hold=final_hold),
                    schedule=ScheduleConfig(iterations=40))
    with pytest.raises(UserError, match="--split-merge-final-mode none"):
        split_merge_flags(cfg, k=10)


@pytest.mark.parametrize("cross_pair, moved", [((1, 2), True), ((2, 1), True), ((0, 1), False)])
def test_cross_if_correlated_moves_only_where_the_cross_pair_is_the_most_correlated_pair(monkeypatch, cross_pair,
                                                                                          moved):
    from test_models import _tiny_gan_em
    from gan_em_tf.config import ScheduleConfig
    from gan_em_tf.gan_em import loop

    model, x = _tiny_gan_em(ScheduleConfig(iterations=6, m_epochs=1, e_steps=2), clusters=3, split_merge_every=1,
                            split_merge_mode="pair", split_merge_final=2, split_merge_final_hold=3,
                            split_merge_final_mode="cross-if-correlated")
    w = np.zeros((16, 3), np.float32)  # clusters 1 and 2 share every image half and half: the most correlated pair
    w[:4, 0], w[4:, 1], w[4:, 2] = 1.0, 0.5, 0.5
    model.w, model.iteration = w, 2
    second = np.arange(16) % 2 == 0
    monkeypatch.setattr(loop.split_merge, "aligned_pair", lambda *args: (*cross_pair, 0.9, {}))
    monkeypatch.setattr(loop.split_merge, "cross_mask", lambda *args: second)
    row = {}
    assert model.make_due_move(x, row)
    assert ("sm_declined" not in row) == moved and int(model.state()["sm_hold_left"]) == (3 if moved else 0)
    assert (np.array_equal(model.w, w)) != moved  # a declined move leaves w as it was
    assert not model.make_due_move(x, row)  # recorded: a resume does not try it again
    assert ("no move" in loop._move_text(row)) != moved


def test_the_final_move_is_held_for_split_merge_final_hold_iterations():
    from test_models import _tiny_gan_em
    from gan_em_tf.config import ScheduleConfig

    model, x = _tiny_gan_em(ScheduleConfig(iterations=6, m_epochs=1, e_steps=2), clusters=3, split_merge_every=1,
                            split_merge_mode="pair", split_merge_final=2, split_merge_final_hold=3)
    model.em_iteration(x, verbose=0)
    model.w = np.random.default_rng(0).dirichlet(np.ones(3), len(x)).astype(np.float32)
    model.split_merge_move(x)
    assert int(model.state()["sm_hold_left"]) == 0  # a move every N, --split-merge-hold 0
    model.em_iteration(x, verbose=0)
    assert model.split_merge_due() and model.move_mode() == "cross"
    model.split_merge_move(x)
    assert int(model.state()["sm_hold_left"]) == 3


@pytest.mark.parametrize("iteration, saved, hold, final, final_hold, restored", [
    (5, 3, 0, 0, 0, 0),  # branched with --split-merge-hold 0: w is not held
    (5, 3, 2, 0, 0, 2),  # a shorter hold than the checkpoint's
    (5, 3, 6, 0, 0, 3),  # a longer one: only what was left
    (5, 3, 1, 4, 6, 3),  # after the final move: its hold is the one that counts
    (5, 3, 6, 4, 1, 1),
    (4, 6, 1, 4, 6, 6),  # the checkpoint of iteration F itself, written after the final move (was 1: the hold lost)
    (3, 3, 1, 4, 6, 1),  # before it: the hold of the moves every N
])
def test_restore_holds_w_no_longer_than_the_runs_own_hold(monkeypatch, iteration, saved, hold, final, final_hold,
                                                          restored):
    from types import SimpleNamespace
    from gan_em_tf.config import RunConfig, ScheduleConfig, TrainConfig
    from gan_em_tf.gan_em import loop

    w = np.full((4, 3), 1 / 3, np.float32)
    state = {"w": w, "phi": w.mean(axis=0), "iteration": np.int64(iteration), "sm_hold_left": np.int64(saved)}
    monkeypatch.setattr(loop.rundir, "load_checkpoint", lambda *args: (state, []))
    cfg = RunConfig(train=TrainConfig(split_merge_every=8 if hold else 0, split_merge_hold=hold,
                                      split_merge_final=final, split_merge_final_hold=final_hold),
                    schedule=ScheduleConfig(iterations=20))
    model = SimpleNamespace(cfg=cfg, w=np.zeros_like(w), networks=None, optimizers=None)
    loop.GanEm.restore(model, "checkpoint")
    assert model.sm_hold_left == restored and model.iteration == iteration


@pytest.mark.parametrize("every, start, kinds", [(2, 14, {14: "smem", 16: "pair", 18: "smem", 20: "pair"}),
                                                 (1, 0, {1: "smem", 2: "pair", 3: "smem"}),
                                                 (3, 0, {3: "smem", 6: "pair", 9: "smem"})])
def test_alternate_mode_takes_smem_and_pair_moves_in_turn(every, start, kinds):
    from types import SimpleNamespace
    from gan_em_tf.config import RunConfig, ScheduleConfig, TrainConfig
    from gan_em_tf.gan_em.loop import GanEm

    cfg = RunConfig(train=TrainConfig(split_merge_every=every, split_merge_start=start, split_merge_mode="alternate"),
                    schedule=ScheduleConfig(iterations=30))
    for it, kind in kinds.items():
        model = SimpleNamespace(cfg=cfg, iteration=it)
        assert GanEm.split_merge_due(model) and GanEm.move_mode(model) == kind, it


def test_the_m_step_after_a_move_runs_split_merge_m_epochs_and_the_others_p():
    import functools
    from types import SimpleNamespace
    from gan_em_tf.config import RunConfig, ScheduleConfig, TrainConfig
    from gan_em_tf.gan_em.loop import GanEm

    cfg = RunConfig(train=TrainConfig(split_merge_every=2, split_merge_start=3, split_merge_m_epochs=4),
                    schedule=ScheduleConfig(iterations=9, m_epochs=1, first_m_epochs=3))
    epochs = []
    for done in range(9):  # p of EM iteration done + 1, asked before it runs
        model = SimpleNamespace(cfg=cfg, iteration=done)
        model.split_merge_due = functools.partial(GanEm.split_merge_due, model)
        model.growth_due = functools.partial(GanEm.growth_due, model)
        epochs.append(GanEm.m_epochs(model))
    assert epochs == [3, 1, 1, 4, 1, 4, 1, 4, 1]  # moves after iterations 3, 5 and 7


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
    the cut of the 5-NN graph parts one row from the other (``--split-merge-final-mode cross-graph``)."""
    rng = np.random.default_rng(0)
    along = rng.uniform(0, 10, 120)
    row = np.arange(120) % 2 == 0  # the class: which row a point lies on
    images = np.stack([along, np.where(row, 1.5, 0.0) + rng.normal(0, 0.05, 120)], axis=1).reshape(120, 2, 1)
    cut = split_merge.graph_halves(images, seed=0)
    assert np.array_equal(cut, row) or np.array_equal(cut, ~row)
    two_means = split_merge.halves(images.reshape(120, 2), seed=0)
    assert 0.35 < np.mean(two_means == row) < 0.65  # the baseline the graph cut beats


def test_cross_graph_final_move_deals_the_cross_pair_out_by_the_graph_cut(monkeypatch):
    from test_models import _tiny_gan_em
    from gan_em_tf.config import ScheduleConfig
    from gan_em_tf.gan_em import loop

    model, x = _tiny_gan_em(ScheduleConfig(iterations=6, m_epochs=1, e_steps=2), clusters=3, split_merge_every=1,
                            split_merge_mode="pair", split_merge_final=2, split_merge_final_hold=3,
                            split_merge_final_mode="cross-graph")
    n = len(x)
    w = np.zeros((n, 3), np.float32)
    w[:4, 0], w[4:10, 1], w[10:, 2] = 1.0, 1.0, 1.0
    model.w, model.iteration = w, 2
    monkeypatch.setattr(loop.split_merge, "aligned_pair", lambda *args: (1, 2, 0.9, {}))
    seen = {}

    def cut(images, seed):  # the first three images of the pooled pair form one side of the cut
        seen["images"] = len(images)
        return np.arange(len(images)) < 3
    monkeypatch.setattr(loop.split_merge, "graph_halves", cut)
    row = {}
    assert model.make_due_move(x, row)
    assert seen["images"] == n - 4  # the images of clusters 1 and 2 only
    assign = model.w.argmax(axis=1)
    np.testing.assert_array_equal(assign[:4], 0)
    assert len(set(assign[4:7])) == 1 and set(assign[7:]) == {3 - assign[4]}  # images 4-6 on one side, the rest
    assert int(model.state()["sm_hold_left"]) == 3


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
    grown, splits = split_merge.grow(w, feats, k_from=2, seed=0, split="2means")
    assert splits == [(0, 2), (1, 3)]  # 30 > 20 first; then 20 > 15 = 15
    np.testing.assert_allclose(grown.sum(axis=1), w.sum(axis=1))  # mass moves between columns, none is made
    assign = grown.argmax(axis=1)
    for b in range(4):  # each blob lands whole in one column, and the four columns are four blobs
        assert len(set(assign[blob == b])) == 1
    assert sorted(set(assign)) == [0, 1, 2, 3]
    moved = grown[:, 2] > 0
    np.testing.assert_allclose(grown[moved, 2], 0.9)  # the parent's w moves with the samples; the rest stays
    np.testing.assert_allclose(grown[moved, 1], 0.1)


def test_grow_split_graph_parts_two_interleaved_groups_that_2_means_cuts_across():
    from sklearn.datasets import make_moons

    from gan_em_tf.config import GROW_SPLITS

    feats, moon = make_moons(200, noise=0.03, random_state=0)  # one cluster holding two half-moons
    w = np.zeros((200, 2), np.float32)
    w[:, 0] = 1.0
    cases = (("graph", True), ("2means", False))
    assert {split for split, _ in cases} == set(GROW_SPLITS)  # grow's splitters are the ones --grow-split offers
    for split, parts_moons in cases:
        grown, splits = split_merge.grow(w, feats, k_from=1, seed=0, split=split)
        assert splits == [(0, 1)]
        np.testing.assert_allclose(grown.sum(axis=1), 1.0)
        same = [len(set(grown[moon == m].argmax(axis=1))) == 1 for m in (0, 1)]
        assert all(same) == parts_moons, split
    with pytest.raises(ValueError, match="split must be one of 2means, graph"):
        split_merge.grow(w, feats, k_from=1, seed=0, split="spectral")


def test_grow_also_fills_a_column_that_emptied_before_the_growth():
    rng = np.random.default_rng(0)
    blobs = [(0, 0), (10, 0), (0, 50), (10, 50)]  # cluster 0 = blobs 0 + 1 (20 + 20); cluster 2 = blobs 2 + 3 (15 + 15)
    sizes = [20, 20, 15, 15]
    feats = np.concatenate([rng.normal(c, 0.3, (n, 2)) for c, n in zip(blobs, sizes)])
    blob = np.repeat(np.arange(4), sizes)
    w = np.zeros((70, 4), np.float32)  # column 1 lost its samples before the growth (no row's largest w)
    w[blob < 2] = [0.95, 0.01, 0.04, 0.0]
    w[blob >= 2] = [0.09, 0.01, 0.9, 0.0]
    grown, splits = split_merge.grow(w, feats, k_from=3, seed=0, split="2means")
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


def test_growth_uses_k0_clusters_up_to_t_then_all_k():
    from test_models import _tiny_gan_em
    from gan_em_tf.config import ScheduleConfig

    model, x = _tiny_gan_em(ScheduleConfig(iterations=3, m_epochs=1, e_steps=2), clusters=4, grow_from=2,
                            grow_after=1, grow_hold=1)
    np.testing.assert_allclose(model.w, [[0.5, 0.5, 0.0, 0.0]] * len(x))  # Algorithm 1's uniform w over K0
    model.em_iteration(x, verbose=0)
    assert model.active_clusters == 4 and model.growth_due()
    assert np.all(model.w[:, 2:] == 0.0)  # E(x) was masked to the K0 columns
    row = {}
    assert model.make_due_move(x, row) and row["grown_to"] == 4.0
    assert not model.make_due_move(x, row)  # recorded in the row: a resume does not grow twice
    assert np.all(model.w.sum(axis=0) > 0)  # every column holds a split half
    np.testing.assert_allclose(model.w.sum(axis=1), 1.0, rtol=1e-5)
    grown = model.w.copy()
    assert model.em_iteration(x, verbose=0)["w_held"] == 1.0  # --grow-hold 1
    np.testing.assert_array_equal(model.w, grown)
    model.em_iteration(x, verbose=0)
    assert model.posterior(x)[:, 2:].sum() > 0  # all K columns in use after T


def test_a_resume_may_change_grow_split_only_before_the_growth():
    from gan_em_tf.config import RunConfig, TrainConfig
    from gan_em_tf.errors import UserError
    from gan_em_tf.gan_em import checks

    cfg = RunConfig(clusters=30, train=TrainConfig(grow_from=10, grow_after=40, grow_hold=4, grow_split="2means"))
    for done in (12, 39):  # the growth after 40 is still to come
        checks.grow_split_change(cfg, "graph", done)
    checks.grow_split_change(cfg, "2means", 80)  # the run's own splitter, or none given: nothing changes
    checks.grow_split_change(cfg, None, 80)
    with pytest.raises(UserError, match="--grow-split acts on the growth after EM iteration 40"):
        checks.grow_split_change(cfg, "graph", 40)


def test_a_config_written_before_grow_split_existed_reads_as_2_means_growth():
    """Runs made when the growth split only by 2-means resume as they were made, not with today's default."""
    from gan_em_tf.config import RunConfig, TrainConfig

    d = RunConfig(clusters=30, train=TrainConfig(grow_from=10, grow_after=40)).to_dict()
    assert d["train"]["grow_split"] == "graph"  # today's default
    del d["train"]["grow_split"]
    assert RunConfig.from_dict(d).train.grow_split == "2means"
