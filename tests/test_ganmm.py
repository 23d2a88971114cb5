"""GANMM and GANMM (EM): the WGAN and classifier steps descend their losses, the σ_t schedule and the
augmented training sets, the critics' assignment, and that both learn a separable mixture."""
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import (SAVED_MODEL_LOADER, assert_one_line_errors, cli_in_process, resume_matches_uninterrupted,
                      tensorboard_events)
from gan_em_tf.ganmm import losses, networks
from gan_em_tf.ganmm.config import TrainConfig
from gan_em_tf.ganmm.models import ClassifierStep, WganStep


@pytest.mark.parametrize("shape,critic", [((28, 28, 1), "clip"), ((6,), "clip"), ((6,), "gp"), ((32, 32, 3), "gp")])
def test_one_wgan_step_descends_the_critic_then_the_generator_loss(shape, critic):
    """One update at a small rate lowers critic p's loss f(fake) − f(real) (+ the penalty) on its batch, then
    G_p's −f(G(z)) through it; the other pair is untouched."""
    keras.utils.set_random_seed(0)
    noise = networks.noise_dim(shape)
    gp = 10.0 if critic == "gp" else 0.0
    gens = [networks.build_generator(shape, noise, name=f"g{i}") for i in range(2)]
    crits = [networks.build_critic(shape, clip=1.0 if critic == "clip" else None, name=f"c{i}") for i in range(2)]
    step = WganStep(gens, crits, gp_weight=gp)
    step.compile([keras.optimizers.SGD(1e-3) for _ in gens], [keras.optimizers.SGD(1e-3) for _ in crits])
    rng = np.random.default_rng(0)
    real = tf.constant(rng.random((8,) + shape, dtype=np.float32))
    z = tf.constant(rng.standard_normal((8, noise)).astype(np.float32))
    mix = tf.constant(rng.random(8, dtype=np.float32))
    untouched = [v.numpy() for v in gens[0].weights + crits[0].weights]

    def d_loss(fakes):
        per = losses.critic_loss(crits[1](real, training=True), crits[1](fakes, training=True))
        if gp:
            per = per + gp * losses.gradient_penalty(crits[1], real, fakes, mix)
        return float(tf.reduce_mean(per))

    def g_loss():
        return float(tf.reduce_mean(losses.generator_loss(crits[1](gens[1](z, training=True), training=True))))

    fakes = gens[1](z, training=True)
    before = d_loss(fakes)
    step.critic_update(1, real, z, mix)
    assert d_loss(fakes) < before
    before = g_loss()
    step.generator_update(1, z)
    assert g_loss() < before
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(untouched, gens[0].weights + crits[0].weights))


@pytest.mark.parametrize("shape", [(28, 28, 1), (6,)])
def test_clipping_keeps_critic_kernels_and_biases_in_bounds_but_not_batchnorm(shape):
    keras.utils.set_random_seed(0)
    noise = networks.noise_dim(shape)
    gen, crit = networks.build_generator(shape, noise), networks.build_critic(shape, clip=0.01)
    step = WganStep([gen], [crit])
    step.compile([keras.optimizers.SGD(1e-3)], [keras.optimizers.SGD(10.0)])  # a step far past the bounds
    rng = np.random.default_rng(0)
    step.critic_update(0, tf.constant(rng.random((8,) + shape, dtype=np.float32)),
                       tf.constant(rng.standard_normal((8, noise)).astype(np.float32)), tf.zeros(8))
    for v in crit.trainable_variables:
        largest = float(np.abs(v.numpy()).max())
        if "gamma" in v.path or "beta" in v.path:
            assert "gamma" not in v.path or largest > 0.5, v.path  # BatchNorm's scale keeps its size
        else:
            assert largest <= 0.01 + 1e-7, (v.path, largest)


def test_the_classifier_step_learns_which_generator_drew_a_sample():
    keras.utils.set_random_seed(0)
    gens = [networks.build_generator((4,), 8, name=f"g{i}") for i in range(3)]
    for i, g in enumerate(gens):  # three generators that draw far apart
        last = g.layers[-3]
        last.bias.assign(np.full(4, 5.0 * i, np.float32))
    classifier = networks.build_classifier((4,), 3)
    step = ClassifierStep(gens, classifier)
    step.compile(keras.optimizers.Adam(1e-2))
    z = tf.constant(np.random.default_rng(0).standard_normal((32, 3, 8)).astype(np.float32))
    fakes = tf.concat([g(z[:, i]) for i, g in enumerate(gens)], axis=0)
    labels = np.repeat(np.arange(3), 32)
    step.fit(tf.data.Dataset.from_tensors({"z": z}).repeat(), epochs=1, steps_per_epoch=40, verbose=0)
    assert np.mean(classifier(fakes).numpy().argmax(axis=1) == labels) > 0.95


def test_sigma_falls_linearly_to_zero_and_the_first_m_step_has_none():
    t = TrainConfig(augment=0.5, augment_until=10)
    assert [t.augment_share(i) for i in (0, 5, 10, 20)] == [0.5, 0.25, 0.0, 0.0]
    assert TrainConfig(augment_until=0).augment_share(0) == 0.0


def _method(clusters=2, n=60, method="ganmm", **train):
    from gan_em_tf import recipes, runner
    from gan_em_tf.config import RunConfig, ScheduleConfig

    cfg = RunConfig(method=method, clusters=clusters)
    recipes.apply(cfg, "vectors")
    cfg.train.__dict__.update(batch_size=10, **train)
    cfg.schedule = ScheduleConfig(iterations=2, m_epochs=1, e_steps=2)
    return runner.build(cfg, (4,), n)


def test_each_pair_trains_on_its_cluster_plus_the_others_it_is_most_likely_to_own():
    model = _method(clusters=3, augment=0.5, augment_until=10)
    w = np.full((60, 3), 0.05, np.float32)
    w[:20, 0], w[20:40, 1], w[40:, 2] = 0.9, 0.9, 0.9
    w[40:50, 0] = 0.85 - 0.01 * np.arange(10)  # ten of cluster 2 lean toward cluster 0, 40 the most
    model.w, model.iteration = w, 1  # the first ε-EM M-step: σ = 0.5 of each cluster
    sets = model.training_sets()
    assert sorted(sets[0]) == list(range(20)) + list(range(40, 50))  # 20 own + 10 likeliest others
    model.iteration = 0
    assert [sorted(s) for s in model.training_sets()] == [list(range(i * 20, i * 20 + 20)) for i in range(3)]
    empty = np.zeros_like(w)
    empty[:, 0], empty[:, 1] = 0.6, 0.4  # no sample's argmax is cluster 2
    model.w = empty
    assert len(model.training_sets()[2]) == model.cfg.train.batch_size  # trains on its likeliest batch


def test_ganmm_em_assigns_each_instance_to_the_critic_that_scores_it_highest_after_standardising():
    model = _method(method="ganmm-em")
    assert model.classifier is None and "classifier" not in model.networks
    x = np.random.default_rng(0).random((60, 4), dtype=np.float32)
    scores = model.critic_scores(x)
    model.critic_stats = np.stack([scores.mean(axis=0), scores.std(axis=0)]).astype(np.float32)
    z = (scores - scores.mean(axis=0)) / scores.std(axis=0)
    np.testing.assert_array_equal(model.posterior(x).argmax(axis=1), z.argmax(axis=1))


def _blobs(tmp_path):
    rng = np.random.default_rng(0)
    centers = np.array([[0, 0, 0, 0], [6, 6, 0, 0], [0, 6, 6, 6]], float)
    y = np.repeat(np.arange(3), 200)
    np.savez(tmp_path / "blobs.npz", x=centers[y] + rng.normal(0, 1, (600, 4)), y=y)
    return str(tmp_path / "blobs.npz")


@pytest.mark.parametrize("method", ["ganmm", "ganmm-em"])
def test_ganmm_learns_three_separated_blobs_and_each_generator_draws_its_cluster(tmp_path, capsys, method):
    """Purity ≥ 0.95, and generator k's samples sit where the real samples of cluster k do. Measured when
    written: purity 1.000 / 1.000 (ganmm, seeds 0, 1) and 0.972 / 0.998 (ganmm-em); with the critic's loss
    negated 0.66 for ganmm — GANMM (EM) still parts the blobs then (its E-step only needs each critic to score
    the blobs differently), which the generators' place catches: each generator's mean sample must lie nearer its
    own cluster's mean than half the distance between two clusters (with the negated loss it lies ≈ 28 away).
    The SavedModel is read in a process that never imports gan_em_tf and gives the live model's outputs."""
    from gan_em_tf import data, runner

    path = _blobs(tmp_path)
    run = tmp_path / "run"
    code, err, out = cli_in_process(capsys, [
        "cluster", "--method", method, "--dataset", "file", "--data-file", path, "--clusters", "3", "--iterations",
        "4", "--m-epochs", "50", "--e-steps", "500", "--lr", "1e-3", "--seed", "0", "--quiet", "--out", str(run)])
    assert code == 0, err[-3000:]
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["purity"] >= 0.95, summary
    x = data.load_array_file(path).x
    assign = np.load(run / "assignments.npy")
    z = np.random.default_rng(0).standard_normal((200, 64)).astype(np.float32)
    c = np.repeat(np.arange(3, dtype=np.int32), 200)
    for name, arr in (("x", x), ("z", np.tile(z, (3, 1))), ("c", c)):
        np.save(tmp_path / f"{name}.npy", arr)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    files = [str(tmp_path / f"{n}.npy") for n in "xzc"]
    served = subprocess.run([sys.executable, "-c", SAVED_MODEL_LOADER, str(run / "saved_model"), *files,
                             str(tmp_path / "out.npz")], capture_output=True, text=True,
                            timeout=300, env=env, cwd=str(tmp_path))
    assert served.returncode == 0, served.stderr[-3000:]
    assert json.loads(served.stdout.strip().splitlines()[-1]) == []  # gan_em_tf was never imported
    served = np.load(tmp_path / "out.npz")
    np.testing.assert_array_equal(served["cluster"], assign)
    _, live = runner.load_run(str(run))
    np.testing.assert_allclose(served["probabilities"], live.posterior(x), atol=1e-5)
    means = np.stack([x[assign == k].mean(axis=0) for k in range(3)])
    apart = min(np.linalg.norm(means[i] - means[j]) for i in range(3) for j in range(i))
    for k in range(3):
        drawn = served["images"][c == k]
        np.testing.assert_allclose(drawn, live.generators[k].predict(z, verbose=0), atol=1e-5)
        distance = np.linalg.norm(means - drawn.mean(axis=0), axis=1)
        assert distance.argmin() == k and distance[k] < apart / 2, (k, distance, apart)


def test_a_finished_run_extended_with_resume_ends_where_an_uninterrupted_run_ends(tmp_path, capsys):
    args = ["cluster", "--method", "ganmm", "--dataset", "file", "--data-file", _blobs(tmp_path), "--clusters",
            "3", "--m-epochs", "1", "--e-steps", "20", "--seed", "2", "--deterministic", "--no-export", "--quiet"]
    part = resume_matches_uninterrupted(capsys, args, tmp_path)
    scalars, images = tensorboard_events(part)  # the resumed run appended its third iteration; vectors: no image
    assert {step for tag, step in scalars if tag == "purity"} == {1, 2, 3} and not images


def test_bad_ganmm_input_gives_one_line_and_exit_2(tmp_path, capsys):
    vectors = tmp_path / "v.npy"
    np.save(vectors, np.random.default_rng(0).random((40, 6)))
    data = ["--dataset", "file", "--data-file", str(vectors), "--iterations", "1", "--quiet"]
    cases = [
        (["--method", "ganmm", "--embed-dim", "2"], "--embed-dim"),
        (["--method", "ganmm", "--labels", "10"], "--labels"),
        (["--method", "ganmm", "--clusters", "1"], "--clusters"),
        (["--method", "ganmm-em", "--lr", "0"], "--lr"),
        (["--method", "ganmm", "--batch-size", "100"], "--batch-size"),
        (["--method", "ganmm", "--e-augment"], "--e-augment"),  # a GAN-EM flag
        (["--method", "gan-em", "--critic", "gp"], "--critic"),  # a GANMM flag
        (["--method", "nosuch"], "--method"),
    ]
    assert_one_line_errors(capsys, tmp_path, data, cases)


def test_ganmm_on_image_data_writes_the_whole_run_folder(tmp_path, capsys):
    """The bundled 8×8 digits (images, MLP networks) end to end with a tiny schedule: the same run folder as
    GAN-EM's, samples one row per cluster, a SavedModel whose generate gives images of the data's shape."""
    run = tmp_path / "digits"
    code, err, _ = cli_in_process(capsys, ["cluster", "--method", "ganmm", "--dataset", "digits", "--limit", "200",
                                           "--clusters", "3", "--iterations", "2", "--m-epochs", "1", "--e-steps", "5",
                                           "--quiet", "--no-tensorboard", "--out", str(run)])
    assert code == 0, err[-2000:]
    assert not (run / "tensorboard").exists()
    for name in ("config.json", "data.json", "metrics.csv", "summary.json", "assignments.npy", "samples.png",
                 "convergence.png"):
        assert (run / name).stat().st_size > 0, name
    assert json.load(open(run / "config.json"))["method"] == "ganmm"
    assert np.load(run / "assignments.npy").shape == (200,)
    model = tf.saved_model.load(str(run / "saved_model"))
    images = model.generate(np.zeros((3, 64), np.float32), np.array([0, 1, 2], np.int32))  # 64: MLP noise
    assert images["images"].shape == (3, 8, 8, 1)
