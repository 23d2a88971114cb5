"""Semi-supervised classification (§5.3), dimensionality reduction (§5.4), K > classes, CelebA attributes."""
import csv
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import TINY, cli_captured, cli_in_process
from gan_em_tf import data, embedding, metrics
from gan_em_tf.errors import UserError
from gan_em_tf.config import LABELS_ONLY_LR


def test_labelled_indices_are_balanced_and_fixed_by_the_seed():
    y = np.repeat(np.arange(4), 25)
    idx = data.labelled_indices(y, 10, seed=1)
    assert len(idx) == 10 and len(np.unique(idx)) == 10
    assert sorted(np.bincount(y[idx]).tolist()) == [2, 2, 3, 3]
    np.testing.assert_array_equal(idx, data.labelled_indices(y, 10, seed=1))
    assert not np.array_equal(idx, data.labelled_indices(y, 10, seed=2))
    with pytest.raises(UserError, match="--labels"):
        data.labelled_indices(y, 3, seed=0)  # fewer labels than classes


def test_split_labelled_scores_the_rest_or_the_given_test_split():
    ds = data.Dataset("toy", np.zeros((40, 2), np.float32), np.repeat(np.arange(4), 10))
    split = data.split_labelled(ds, 8, seed=0)
    idx = data.labelled_indices(ds.y, 8, seed=0)
    np.testing.assert_array_equal(split.y_labelled, ds.y[idx])
    assert len(split.heldout) == 32 and not split.rest[idx].any() and split.rest.sum() == 32
    test = data.Dataset("toy-test", np.ones((5, 2), np.float32), np.arange(5) % 4)
    given = data.split_labelled(ds, 8, seed=0, heldout=test)
    assert given.heldout is test and given.rest is None
    with pytest.raises(UserError, match="--labels needs class labels"):
        data.split_labelled(data.Dataset("x", ds.x, None), 8, seed=0)


def test_labels_only_baseline_trains_on_the_labels_and_scores_the_rest(tmp_path, capsys):
    out = tmp_path / "lo.json"
    code, err, printed = cli_in_process(capsys, ["baseline", "--dataset", "digits", "--method", "labels-only",
                                                 "--labels", "100", "--label-steps", "150", "--seeds", "0", "1",
                                                 "--out", str(out)])
    assert code == 0, err[-2000:]
    (res,) = json.load(open(out))["results"]
    assert res["method"] == "labels-only" and res["labels"] == 100 and res["steps"] == 150
    assert res["lr"] == pytest.approx(LABELS_ONLY_LR) and res["recipe"] == "authors"
    assert [r["n_heldout"] for r in res["per_seed"]] == [1697, 1697]  # 1,797 digits minus the 100 labelled
    # chance is 0.9; the E-net on 100 labelled digits alone gets ~0.1-0.2 here
    assert res["error"]["mean"] < 0.4 and "labels-only" in printed


@pytest.mark.parametrize("args,needle", [
    (["--method", "labels-only"], "--labels"),
    (["--method", "kmeans", "--labels", "100"], "--labels"),
    (["--labels", "5"], "--labels"),  # fewer labels than the 10 classes
    (["--method", "labels-only", "--labels", "100", "--label-steps", "0"], "--label-steps"),
    (["--method", "labels-only", "--labels", "100", "--lr", "0"], "--lr"),
])
def test_labels_only_bad_input_is_one_line(args, needle, capsys):
    code, err, _ = cli_in_process(capsys, ["baseline", "--dataset", "digits", "--seeds", "0", *args])
    msg = [ln for ln in err.splitlines() if ln.startswith("gan-em: error:")]
    assert code == 2 and len(msg) == 1 and needle in msg[0], err[-1500:]


def test_classification_and_attribute_scores():
    y = np.array([0, 0, 1, 1, 2, 2])
    s = metrics.classification_scores(y, np.array([0, 0, 1, 2, 2, 2]))
    assert s["acc"] == pytest.approx(5 / 6) and s["error"] == pytest.approx(1 / 6)
    # a permuted but perfect prediction is wrong for a classifier (no matching)
    assert metrics.classification_scores(y, (y + 1) % 3)["error"] == 1.0
    attrs = {"a": np.array([0, 0, 1, 1]), "b": np.array([1, 0, 1, 0])}
    errors = metrics.attribute_errors(attrs, np.array([1, 1, 0, 0]))
    assert errors == {"a": 0.0, "b": 0.5}


def test_k_larger_than_classes_maps_each_cluster_to_its_majority():
    y = np.array([0, 0, 0, 1, 1, 1])
    s = metrics.cluster_scores(y, np.array([0, 1, 2, 3, 3, 2]), 4)
    assert s["error_mapping"] == "majority" and s["error"] == pytest.approx(1 / 6)
    # the EM log line shows that error beside Hungarian ACC (which matches only as many clusters as classes)
    from types import SimpleNamespace

    from gan_em_tf import runner

    method = SimpleNamespace(describe_logs=lambda logs: "")
    row = {**s, "iteration": 1, "seconds": 1.0}
    assert "error(majority)=0.1667" in runner.log_line(method, 2, row, majority=True)
    assert "error(majority)" not in runner.log_line(method, 2, row)


def test_knn_accuracy_on_separated_and_mixed_points():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 30)
    separated = rng.normal(size=(90, 2)) * 0.1 + labels[:, None] * 5.0
    assert embedding.knn_accuracy(separated, labels) == 1.0
    assert embedding.knn_accuracy(rng.normal(size=(90, 2)), labels) < 0.7
    assert embedding.project_2d(separated).shape == (90, 2)


@pytest.fixture(scope="module")
def semi_run(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("semi") / "run")
    code, err, out = cli_captured(["cluster", "--dataset", "digits", "--out", run_dir, "--labels", "30", "--embed-dim",
                                   "2", *TINY])
    assert code == 0, err[-3000:]
    return run_dir, json.loads(out.strip().splitlines()[-1])


def test_semi_supervised_run_scores_the_heldout_data(semi_run):
    run_dir, printed = semi_run
    summary = json.load(open(os.path.join(run_dir, "summary.json")))
    assert summary["task"] == "semi-supervised" and summary["labels"] == 30
    assert summary["heldout_samples"] == 300 - 30  # scored on the unlabelled rest
    assert summary["error_mapping"] == "identity" and summary["error"] == pytest.approx(1 - summary["acc"])
    assert printed["error"] == summary["error"]
    header = open(os.path.join(run_dir, "metrics.csv")).readline().strip().split(",")
    assert {"label_error", "label_steps"} <= set(header)


def test_a_resumed_semi_supervised_run_takes_a_new_epsilon_label_steps_and_e_augment(semi_run, tmp_path, capsys):
    """--resume --epsilon --label-steps --no-e-augment: the labels act with the new ε and cap, and the E-step stops
    jittering its fakes, on the iterations still to come."""
    run_dir, _ = semi_run
    copy = str(tmp_path / "run")
    shutil.copytree(run_dir, copy)
    before = open(os.path.join(copy, "config.json")).read()
    code, err, _ = cli_in_process(capsys, ["cluster", "--out", copy, "--resume", "--epsilon", "1.5"])
    assert code == 2 and "--epsilon" in err
    assert open(os.path.join(copy, "config.json")).read() == before  # not written
    assert json.loads(before)["train"]["e_augment"] is True  # small-semi's own
    code, err, _ = cli_in_process(capsys, ["cluster", "--out", copy, "--resume", "--iterations", "3", "--label-steps",
                                           "40", "--no-e-augment", "--quiet"])
    assert code == 0, err[-3000:]
    config = json.load(open(os.path.join(copy, "config.json")))
    assert config["supervision"] == {"labels": 30, "epsilon": 0.0, "max_steps": 40}
    assert config["train"]["e_augment"] is False
    code, err, _ = cli_in_process(capsys, ["cluster", "--out", copy, "--resume", "--iterations", "4", "--epsilon",
                                           "0.5", "--quiet"])
    assert code == 0, err[-3000:]
    summary = json.load(open(os.path.join(copy, "summary.json")))
    assert summary["epsilon"] == 0.5 and summary["iterations"] == 4
    # ε = 0 is never reached: the cap ends the labelled training (1000 steps, then the new 40); ε = 0.5 is met at once
    rows = list(csv.DictReader(open(os.path.join(copy, "metrics.csv"))))
    assert [float(r["label_steps"]) for r in rows] == [1000, 1000, 40, 0]


def test_embedding_outputs_and_the_embed_endpoint(semi_run, tmp_path):
    run_dir, _ = semi_run
    feats = np.load(os.path.join(run_dir, "embedding.npy"))
    assert feats.shape == (300, 2) and np.isfinite(feats).all()
    assert os.path.getsize(os.path.join(run_dir, "embedding.png")) > 1000
    summary = json.load(open(os.path.join(run_dir, "summary.json")))
    assert summary["embed_dim"] == 2 and summary["embedding_points"] == 300
    assert summary["pixels_knn_acc"] > 0.8  # t-SNE of the raw digits already separates them
    from gan_em_tf.config import DataConfig

    labels = data.load(DataConfig(dataset="digits", limit=300)).y
    assert summary["embedding_knn_acc"] == pytest.approx(embedding.knn_accuracy(feats, labels))  # k = 2: the map
    x = data.load(DataConfig(dataset="digits")).x[:300]
    np.save(tmp_path / "x.npy", x)
    loader = textwrap.dedent('''
        import sys, numpy as np, tensorflow as tf
        m = tf.saved_model.load(sys.argv[1])
        np.save(sys.argv[3], m.embed(tf.constant(np.load(sys.argv[2])))["embedding"].numpy())
    ''')
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", loader, os.path.join(run_dir, "saved_model"),
                           str(tmp_path / "x.npy"), str(tmp_path / "e.npy")], capture_output=True, text=True,
                          timeout=300, env=env, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "e.npy"), feats, atol=1e-4)


@pytest.mark.parametrize("args,message", [
    (["--labels", "30", "--clusters", "5"], "--clusters 10"),
    (["--labels", "5"], "--labels 5 is fewer"),
    (["--labels", "-1"], "--labels"),
    (["--labels", "30", "--epsilon", "1.5"], "--epsilon"),
    (["--labels", "30", "--label-steps", "0"], "--label-steps must be a positive integer"),
    (["--epsilon", "0.1"], "add --labels N"),
    (["--label-lr", "1e-3"], "--label-lr was removed"),
    (["--attribute", "Smiling"], "--attribute applies to celeb_a"),
])
def test_bad_semi_supervised_input(tmp_path, args, message, capsys):
    code, err, _ = cli_in_process(capsys, ["cluster", "--dataset", "digits", "--out", str(tmp_path / "r"), *TINY,
                                           *args])
    assert code == 2, err[-2000:]
    msg = [ln for ln in err.splitlines() if ln.startswith("gan-em: error:")]
    assert len(msg) == 1 and message in msg[0], err[-1000:]


def test_celeba_clustering_is_scored_per_attribute(tmp_path):
    """K = 2 on (mock) CelebA: summary.json has an error for each of the 40 attributes and their mean."""
    import tensorflow_datasets as tfds

    from gan_em_tf import recipes, rundir, runner
    from gan_em_tf.config import DataConfig, RunConfig, RuntimeConfig, ScheduleConfig

    cfg = RunConfig(clusters=2, data=DataConfig(dataset="celeb_a", image_size=32),
                    schedule=ScheduleConfig(iterations=1, m_epochs=1, e_steps=2),
                    runtime=RuntimeConfig(verbose=0, strategy="default"))
    recipes.apply(cfg, "authors")
    cfg.train = dataclasses.replace(cfg.train, batch_size=8, e_batch_size=8)
    with tfds.testing.mock_data(num_examples=24):
        ds = data.load(cfg.data)
    run_dir = str(tmp_path / "celeba")
    rundir.prepare(run_dir, overwrite=False, resume=False)
    summary = runner.run(cfg, run_dir, dataset=ds, export_model=False, log=lambda *_: None)
    assert len(summary["attribute_errors"]) == 40
    assert all(0.0 <= e <= 0.5 for e in summary["attribute_errors"].values())  # K = 2: the better of two matchings
    assert summary["mean_attribute_error"] == pytest.approx(np.mean(list(summary["attribute_errors"].values())))
    assert json.load(open(os.path.join(run_dir, "summary.json")))["mean_attribute_error"] == \
        pytest.approx(summary["mean_attribute_error"])


def test_config_json_from_before_label_steps_still_loads():
    """config.json files written before --label-steps held the cap as max_epochs rounds of 20 steps."""
    from gan_em_tf.config import RunConfig

    old = RunConfig().to_dict()
    old["supervision"] = {"labels": 100, "epsilon": 0.05, "max_epochs": 50}
    assert RunConfig.from_dict(old).supervision.max_steps == 1000
