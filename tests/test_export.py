"""The SavedModel loads with tf.saved_model.load in a process that never imports gan_em_tf
and gives the same outputs as the live networks."""
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import SAVED_MODEL_LOADER, cli_in_process, gan_em

def test_saved_model_round_trip(tiny_run, tmp_path, capsys):
    run_dir, _ = tiny_run
    saved = os.path.join(run_dir, "saved_model")
    assert os.path.isfile(os.path.join(saved, "saved_model.pb"))
    dest = str(tmp_path / "exported")
    code, err, _ = cli_in_process(capsys, ["export", run_dir, dest])
    assert code == 0, err[-2000:]
    code, err, _ = cli_in_process(capsys, ["export", run_dir, dest])
    assert code == 2 and "--overwrite" in err

    from gan_em_tf import data, runner
    from gan_em_tf.config import DataConfig

    x = data.load(DataConfig(dataset="digits")).x[:50]
    rng = np.random.default_rng(0)
    z = rng.random((6, 62), dtype=np.float32)
    c = np.array([0, 1, 2, 3, 9, 9], np.int32)
    for name, arr in (("x", x), ("z", z), ("c", c)):
        np.save(tmp_path / f"{name}.npy", arr)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = tmp_path / "out.npz"
    proc = subprocess.run([sys.executable, "-c", SAVED_MODEL_LOADER, dest, str(tmp_path / "x.npy"),
                           str(tmp_path / "z.npy"),
                           str(tmp_path / "c.npy"), str(out)], capture_output=True, text=True, timeout=300,
                          env=env, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []  # gan_em_tf was never imported
    served = np.load(out)

    _, method = runner.load_run(run_dir)
    generator, enet = method.generator, method.enet
    live_probs = np.asarray(enet(x, training=False))
    live_probs = np.exp(live_probs - live_probs.max(1, keepdims=True))
    live_probs /= live_probs.sum(1, keepdims=True)
    live_images = np.asarray(generator([z, np.eye(10, dtype=np.float32)[c]], training=False))
    assert served["probabilities"].shape == (50, 10) and served["images"].shape == (6, 8, 8, 1)
    np.testing.assert_allclose(served["probabilities"], live_probs, atol=1e-5)
    np.testing.assert_array_equal(served["cluster"], live_probs.argmax(1))
    np.testing.assert_allclose(served["images"], live_images, atol=1e-5)
    # the run's own assignments are the exported model's clusters on the same data
    run_assign = np.load(os.path.join(run_dir, "assignments.npy"))
    np.testing.assert_array_equal(run_assign[:50], served["cluster"])


def test_generate_refuses_cluster_ids_outside_0_to_k(tiny_run):
    import tensorflow as tf

    model = tf.saved_model.load(os.path.join(tiny_run[0], "saved_model"))
    z = tf.zeros((1, 62))
    assert model.generate(z, tf.constant([9], tf.int32))["images"].shape == (1, 8, 8, 1)
    for bad in (10, -1):
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"cluster ids must be in \[0, 10\)"):
            model.generate(z, tf.constant([bad], tf.int32))


def test_a_mixed_precision_run_exports_the_same_model_in_process_and_from_its_checkpoint(tmp_path):
    """The run's own export (its live bfloat16 networks) and `gan-em export` of its checkpoint give the same outputs,
    and the run leaves the process's precision policy as it found it."""
    import keras
    import tensorflow as tf

    from gan_em_tf import recipes, rundir, runner
    from gan_em_tf.config import DataConfig, RunConfig, RuntimeConfig, ScheduleConfig

    cfg = RunConfig(clusters=3, data=DataConfig(dataset="digits", limit=60),
                    runtime=RuntimeConfig(mixed_precision=True, verbose=0, jit_compile=False),
                    schedule=ScheduleConfig(iterations=1, m_epochs=1, e_steps=2))
    recipes.apply(cfg, "authors")
    cfg.train.batch_size = cfg.train.e_batch_size = 20
    run_dir = str(tmp_path / "run")
    rundir.prepare(run_dir, overwrite=False, resume=False)
    runner.run(cfg, run_dir, log=lambda *_: None)
    assert keras.mixed_precision.global_policy().name == "float32"
    proc = gan_em("export", run_dir, str(tmp_path / "again"))  # a fresh process: the policy it builds under
    assert proc.returncode == 0, proc.stderr[-2000:]
    x = tf.constant(np.random.default_rng(0).random((5, 8, 8, 1), dtype=np.float32))
    z = tf.constant(np.random.default_rng(1).random((5, 62), dtype=np.float32))
    c = tf.constant([0, 1, 2, 0, 1], tf.int32)
    live, again = (tf.saved_model.load(path)
                   for path in (os.path.join(run_dir, "saved_model"), str(tmp_path / "again")))
    np.testing.assert_array_equal(live.assign(x)["probabilities"], again.assign(x)["probabilities"])
    np.testing.assert_array_equal(live.generate(z, c)["images"], again.generate(z, c)["images"])


def test_assignments_are_what_the_exported_assign_gives_even_when_the_last_iteration_held_w(tmp_path, monkeypatch):
    """A run whose last EM iteration still holds a move's labels (the checks refuse such a schedule; forced here)
    writes assignments.npy and scores from E(x), as the exported `assign` endpoint gives them, not the held w."""
    import tensorflow as tf

    from gan_em_tf import data, recipes, rundir, runner
    from gan_em_tf.config import DataConfig, RunConfig, RuntimeConfig, ScheduleConfig
    from gan_em_tf.gan_em import checks
    from gan_em_tf.gan_em.config import MoveConfig

    monkeypatch.setattr(checks, "moves_fit", lambda cfg, k: None)
    cfg = RunConfig(clusters=4, data=DataConfig(dataset="digits", limit=120),
                    runtime=RuntimeConfig(verbose=0, jit_compile=False),
                    schedule=ScheduleConfig(iterations=3, m_epochs=1, e_steps=3))
    recipes.apply(cfg, "authors")
    cfg.train.batch_size = cfg.train.e_batch_size = 30
    cfg.train.moves = MoveConfig(every=1, start=1, final=2, final_hold=3, whiten=0)
    run_dir = str(tmp_path / "run")
    rundir.prepare(run_dir, overwrite=False, resume=False)
    summary = runner.run(cfg, run_dir, log=lambda *_: None)
    rows = list(csv.DictReader(open(os.path.join(run_dir, "metrics.csv"))))
    assert rows[-1]["w_held"] == "1.0"  # the last iteration kept the moved labels
    ds = data.load(cfg.data)
    model = tf.saved_model.load(os.path.join(run_dir, "saved_model"))
    served = model.assign(ds.x)["cluster"].numpy()
    np.testing.assert_array_equal(np.load(os.path.join(run_dir, "assignments.npy")), served)
    from gan_em_tf import metrics

    assert summary["acc"] == pytest.approx(metrics.hungarian_acc(ds.y, served))
