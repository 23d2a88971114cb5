"""The CLI end to end on digits, and every kind of bad input: one line, exit 2, no traceback."""
import argparse
import csv
import json
import os
import signal

import numpy as np
import pytest

from conftest import TINY, cli_in_process, ended, gan_em, stop_handlers_kept, tensorboard_events


def test_cluster_end_to_end_writes_the_run_folder(tiny_run):
    run_dir, printed = tiny_run
    for name in ("config.json", "data.json", "metrics.csv", "summary.json", "assignments.npy", "samples.png",
                 "convergence.png", "saved_model/saved_model.pb"):
        assert os.path.exists(os.path.join(run_dir, name)), name
    summary = json.load(open(os.path.join(run_dir, "summary.json")))
    for key in ("acc", "nmi", "ari", "purity", "error", "clusters", "n_samples", "seconds", "seed"):
        assert key in summary, key
    assert summary["n_samples"] == 300 and summary["clusters"] == 10 and summary["seed"] == 3
    assert summary["method"] == "gan-em" and summary["recipe"] == "small"  # the default for 8x8 images
    assert summary["error"] == pytest.approx(1 - summary["acc"])
    assert printed["acc"] == summary["acc"]
    rows = list(csv.DictReader(open(os.path.join(run_dir, "metrics.csv"))))
    assert [r["iteration"] for r in rows] == ["1", "2"]
    assert {"acc", "nmi", "ari", "d_loss", "g_loss", "e_loss", "phi_min", "seconds"} <= set(rows[0])
    assign = np.load(os.path.join(run_dir, "assignments.npy"))
    from gan_em_tf import data, metrics
    from gan_em_tf.config import DataConfig

    y = data.load(DataConfig(dataset="digits", limit=300)).y
    assert assign.shape == (300,) and metrics.hungarian_acc(y, assign) == pytest.approx(summary["acc"])
    assert os.listdir(os.path.join(run_dir, "checkpoints")) == ["iter-0002"]


def test_tensorboard_holds_every_iteration_s_scores_losses_and_samples(tiny_run):
    """RUN_DIR/tensorboard/: each EM iteration's metrics.csv numbers as scalars at its step, equal to the csv's,
    and the samples grid (one row of 10 per cluster) as an image."""
    run_dir, _ = tiny_run
    scalars, images = tensorboard_events(run_dir)
    rows = list(csv.DictReader(open(os.path.join(run_dir, "metrics.csv"))))
    for row in rows:
        for key in ("acc", "nmi", "ari", "d_loss", "g_loss", "e_loss", "phi_min", "seconds"):
            assert scalars[(key, int(row["iteration"]))] == pytest.approx(float(row[key]), rel=1e-5), key
    assert images == {1: (10 * 8, 10 * 8, 1), 2: (10 * 8, 10 * 8, 1)}


def test_existing_run_is_not_overwritten(tiny_run, capsys):
    run_dir, _ = tiny_run
    before = open(os.path.join(run_dir, "summary.json")).read()
    code, err, _ = cli_in_process(capsys, ["cluster", "--dataset", "digits", "--out", run_dir, *TINY])
    assert code == 2 and "--overwrite" in err
    assert open(os.path.join(run_dir, "summary.json")).read() == before


def test_a_run_still_going_is_not_resumed_or_overwritten_but_a_stale_lock_is_ignored(tiny_run, tmp_path, capsys):
    import shutil
    import socket
    import subprocess
    import sys

    from gan_em_tf import rundir

    run_dir = str(tmp_path / "run")
    shutil.copytree(tiny_run[0], run_dir)
    lock = os.path.join(run_dir, ".lock")
    before = open(os.path.join(run_dir, "summary.json")).read()
    with rundir.lock(run_dir):  # this pytest process trains there
        for extra in (["--resume"], ["--overwrite"]):
            code, err, _ = cli_in_process(capsys, ["cluster", "--dataset", "digits", "--out", run_dir, *TINY, *extra])
            msg = [ln for ln in err.splitlines() if ln.startswith("gan-em: error:")]
            assert code == 2 and len(msg) == 1 and "in use" in msg[0], err[-1500:]
            assert open(os.path.join(run_dir, "summary.json")).read() == before
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with open(lock, "w") as f:  # left by a killed run
        json.dump({"host": socket.gethostname(), "pid": dead.pid}, f)
    code, err, _ = cli_in_process(capsys, ["cluster", "--out", run_dir, "--resume", "--no-export", "--quiet"])
    assert code == 0, err[-1500:]
    assert not os.path.exists(lock)  # released at the end


def test_the_baseline_command_offers_every_baseline_of_the_library():
    """cli keeps its own list (it imports scikit-learn only when a baseline runs); it must name them all."""
    from gan_em_tf import baselines, cli

    sub = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    method = next(a for a in sub.choices["baseline"]._actions if a.dest == "method")
    assert set(method.choices) == {*baselines.METHODS, "labels-only", "dec", "all"}


@pytest.mark.parametrize("method,low,high", [("kmeans", 0.77, 0.81),  # ANCHORS.md: 0.792 on digits
                                             ("ward", 0.82, 0.86),  # 0.839 measured (RESULTS.md)
                                             ("tsne-ward", 0.92, 0.96)])  # 0.944 measured
def test_baseline_command(tmp_path, capsys, method, low, high):
    out = tmp_path / "b.json"
    code, err, _ = cli_in_process(capsys, ["baseline", "--dataset", "digits", "--method", method, "--seeds", "0",
                                           "--out", str(out)])
    assert code == 0, err
    res = json.load(open(out))["results"][0]
    assert res["method"] == method and low < res["acc"]["mean"] < high


@pytest.mark.parametrize("method", ["ward", "tsne-ward"])
def test_a_baseline_fitted_on_the_first_rows_sends_the_rest_to_the_nearest_cluster(monkeypatch, method):
    from gan_em_tf import baselines, metrics

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(c, 0.1, (30, 5)) for c in (0, 3, 6)])[rng.permutation(90)]
    truth = np.rint(x.mean(axis=1) / 3).astype(int)
    monkeypatch.setattr(baselines, "FIT_ROWS", 40)  # the first 40 rows fitted, 50 sent to the nearest cluster
    got = baselines.fit_predict(method, x, 3, seed=0)
    assert len(got) == 90 and metrics.hungarian_acc(truth, got) == 1.0


def test_label_spreading_maps_the_labelled_rows_beyond_the_fitted_ones_and_sends_the_rest_to_the_nearest(
        monkeypatch):
    """With the first 40 rows on the t-SNE map, labelled rows further on are mapped too (they name the map's
    rows) and every other row takes the class of its nearest mapped row; a labelled row keeps its class."""
    from gan_em_tf import baselines

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(c, 0.1, (30, 5)) for c in (0, 3, 6)])[rng.permutation(90)]
    truth = np.rint(x.mean(axis=1) / 3).astype(int)
    monkeypatch.setattr(baselines, "FIT_ROWS", 40)
    index = np.concatenate([np.flatnonzero(truth[40:] == c)[:2] + 40 for c in range(3)])  # none of the first 40
    y = truth[index].copy()
    got = baselines.tsne_label_spread(x, 0, index, y)
    assert len(got) == 90 and (got == truth).all()


def test_tsne_ward_with_labels_scores_dnnmm_s_start_alone_on_the_unlabelled_rest(tmp_path, capsys):
    """`baseline --method tsne-ward --labels α`: the labelled digits (the ones `cluster --labels α --seed S`
    picks) spread their classes over the t-SNE map; a classifier's accuracy on the other images, no matching."""
    out = tmp_path / "spread.json"
    code, err, printed = cli_in_process(capsys, ["baseline", "--dataset", "digits", "--classes", "0,1,2", "--limit",
                                                 "60", "--clusters", "3", "--method", "tsne-ward", "--labels", "0.1",
                                                 "--seeds", "0", "--out", str(out)])
    assert code == 0, err[-1500:]
    (res,) = json.load(open(out))["results"]
    (run,) = res["per_seed"]
    assert res["labels"] == 18 and run["n_heldout"] == 180 - 18 and run["error_mapping"] == "identity"
    assert res["acc"]["mean"] > 0.95 and "labels=18" in printed  # three digits apart on the map; chance 0.33


def test_label_spreading_scores_a_test_split_through_the_nearest_training_row(monkeypatch):
    from gan_em_tf import baselines, data

    mapped, tsne_map = [], baselines.tsne_map

    def recording_map(*args, **kwargs):
        out = tsne_map(*args, **kwargs)
        mapped.append(out[0])  # the rows on the map
        return out

    monkeypatch.setattr(baselines, "tsne_map", recording_map)
    rng = np.random.default_rng(0)

    def blobs(n):  # three classes; the samples in class order, as a data file may hold them
        return np.concatenate([rng.normal(c, 0.1, (n, 5)) for c in (0, 3, 6)]).astype(np.float32), np.repeat(
            np.arange(3), n)

    train, test = data.Dataset("blobs", *blobs(30)), data.Dataset("blobs-test", *blobs(10))
    res = baselines.run_label_spread(train, test, 6, seeds=[0])
    assert res["per_seed"][0]["n_heldout"] == 30 and res["acc"]["mean"] == 1.0
    assert mapped[0].max() < 90  # the map holds training rows only, as the run's start has


@pytest.mark.parametrize("command", [["baseline", "--dataset", "digits"], ["bench", "--steps", "1"]])
def test_unwritable_json_out_fails_first_in_one_line(tmp_path, command, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    for out in (blocker / "r.json", tmp_path):  # folder under a file; an existing folder
        code, err, out_text = cli_in_process(capsys, [*command, "--out", str(out)])
        msg = [ln for ln in err.splitlines() if ln.startswith("gan-em: error:")]
        assert code == 2 and len(msg) == 1 and "--out" in msg[0], err[-1500:]
        assert "steps/s" not in out_text  # nothing was run first


def test_help_explains_every_flag_everyday_ones_first_and_at_most_45(capsys):
    """`gan-em cluster --help`: every option has its own explanation, the everyday groups come before the
    advanced ones, and there are no more than 45 options."""
    from gan_em_tf import cli

    command = cli.build_parser()._subparsers._group_actions[0].choices["cluster"]
    shown = [a for a in command._actions if a.help != argparse.SUPPRESS]
    assert len([a for a in shown if a.option_strings]) <= 45
    assert all(a.help and len(a.help) > 15 for a in shown if a.option_strings and a.dest != "help"), \
        [a.dest for a in shown if not a.help or len(a.help) <= 15]
    titles = [g.title for g in command._action_groups if g._group_actions]
    advanced = [i for i, t in enumerate(titles) if t.startswith("advanced")]
    assert advanced and advanced == list(range(advanced[0], len(titles))), titles
    code, _, text = cli_in_process(capsys, ["cluster", "--help"])
    assert code == 0
    assert text.index("--recipe") < text.index("advanced")


def _bad(tmp_path):
    nan = tmp_path / "nan.npz"
    x = np.ones((20, 8, 8))
    x[0, 0, 0] = np.nan
    np.savez(nan, x=x)
    shape = tmp_path / "shape.npy"
    np.save(shape, np.ones((4, 2, 2, 2, 2)))
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b garbage")
    empty = tmp_path / "empty"
    empty.mkdir()
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    vectors = tmp_path / "vectors.npy"
    np.save(vectors, np.random.default_rng(0).random((40, 6)))
    return [
        (["--dataset", "file", "--data-file", str(vectors), "--e-augment"], "--e-augment"),
        (["--dataset", "mnist", "--data-dir", str(tmp_path / "missing")], "--data-dir"),
        (["--dataset", "mnist", "--data-dir", str(corrupt)], "--data-dir"),
        (["--dataset", "mnist", "--data-dir", str(empty)], "--data-dir"),
        (["--dataset", "file", "--data-file", str(nan)], "NaN/inf"),
        (["--dataset", "file", "--data-file", str(shape)], "shape"),
        (["--dataset", "file"], "--data-file"),
        (["--dataset", "nosuchset"], "--dataset"),
        (["--clusters", "1"], "--clusters"),
        (["--clusters", "400", "--limit", "300"], "--clusters"),
        (["--iterations", "0"], "--iterations"),
        (["--net-width", "0"], "--net-width"),
        (["--m-epochs", "0"], "--m-epochs"),
        (["--lr-decay", "1.5"], "--lr-decay"),
        (["--batch-size", "0"], "--batch-size"),
        (["--labels", "100", "--init", "tsne-ward"], "--init tsne-ward"),
        (["--recipe", "nosuch"], "--recipe"),
        (["--recipe", "cpu", "--clusters", "2"], "--clusters"),
        (["--recipe", "cpu", "--iterations", "50"], "--iterations 97"),
        (["--recipe", "cpu", "--labels", "100"], "--recipe cpu-semi"),
        (["--grow-from", "10"], "--grow-from 10"),
        (["--grow-from", "2", "--iterations", "5"], "--iterations 45"),
        (["--epsilon", "0.1"], "add --labels N"),
        (["--config", "paper"], "--config was replaced by --recipe"),
        (["--split-merge-every", "4"], "--split-merge-every was replaced by the recipe's moves"),
        (["--info-weight", "1"], "--info-weight was removed"),
        (["--out-subdir-of-file"], "--out"),
    ], blocker


def test_bad_input_gives_one_line_and_exit_2(tmp_path, capsys):
    """Every case through `cli.main` in-process (one interpreter start each would cost ~40 s); the console
    script's own exit code and clean stderr are checked once in a fresh interpreter below and by the
    offline-MNIST and unwritable-output tests."""
    cases, blocker = _bad(tmp_path)
    for i, (args, needle) in enumerate(cases):
        if args == ["--out-subdir-of-file"]:
            out, args = str(blocker / "run"), []
        else:
            out = str(tmp_path / f"run{i}")
        code, err, _ = cli_in_process(capsys, ["cluster", "--out", out, *TINY, *args])  # later flags win
        assert code == 2, (args, err[-1500:])
        msg = [ln for ln in err.strip().splitlines() if ln.startswith("gan-em: error:")]
        assert len(msg) == 1 and needle in msg[0], (args, err[-500:])
        assert not os.path.exists(out), (args, "a refused run must leave no --out folder behind")
    args, needle = cases[0]
    proc = gan_em("cluster", "--out", str(tmp_path / "fresh"), *TINY, *args)
    msg = [ln for ln in proc.stderr.splitlines() if ln.startswith("gan-em: error:")]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-1500:]
    assert len(msg) == 1 and needle in msg[0] and not (tmp_path / "fresh").exists(), proc.stderr[-1500:]


def test_flag_checks_do_not_import_tensorflow():
    """The CLI checks every flag before TensorFlow's start-up, so a bad one fails in about a second."""
    import subprocess
    import sys

    code = ("import sys, gan_em_tf.cli, gan_em_tf.gan_em.checks; "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr[-1000:]


def test_offline_mnist_without_data_dir_is_one_line(tmp_path):
    env_home = tmp_path / "home"
    env_home.mkdir()
    proc = gan_em("cluster", "--dataset", "kmnist", "--out", str(tmp_path / "r"), *TINY,
                  env=dict(os.environ, TFDS_DATA_DIR=str(env_home)))
    assert proc.returncode == 2 and "--data-dir" in proc.stderr and "Traceback" not in proc.stderr


def test_sigterm_ends_a_run_like_ctrl_c_releasing_its_lock(tmp_path):
    """`kill PID` (SIGTERM, what job schedulers send) stops a run between checkpoints with the --resume hint."""
    import subprocess
    import sys
    import time

    run_dir = tmp_path / "run"
    args = [*TINY, "--iterations", "50"]  # the last --iterations wins: still running when the signal comes
    child = subprocess.Popen([sys.executable, "-m", "gan_em_tf", "cluster", "--dataset", "digits", "--out",
                              str(run_dir), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore"),
                             preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))  # as from a shell
    deadline = time.time() + 300
    while time.time() < deadline and child.poll() is None and not (run_dir / "metrics.csv").exists():
        time.sleep(0.2)
    assert child.poll() is None, child.stderr.read()[-1500:]
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=300)
    assert child.returncode == 130, err[-1500:]
    assert "continue with --resume" in err and "Traceback" not in err
    assert not (run_dir / ".lock").exists()
    assert any(d.name.startswith("iter-") for d in (run_dir / "checkpoints").iterdir())


def test_a_stopped_bench_ends_as_interrupted_without_a_resume_hint():
    """`gan-em bench` has nothing to resume: stopped by SIGTERM it says it was interrupted and no more."""
    import subprocess
    import sys
    import time

    child = subprocess.Popen([sys.executable, "-m", "gan_em_tf", "bench", "--steps", "200", "--repeats", "1"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore"),
                             preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))
    time.sleep(15)  # TensorFlow started, timing under way
    assert child.poll() is None, child.stderr.read()[-1500:]
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 130 and "interrupted" in err, err[-1500:]
    assert "--resume" not in out + err and "Traceback" not in err


def test_a_stop_signal_that_tensorflow_turns_into_another_error_still_ends_as_interrupted(monkeypatch, capsys):
    """A signal landing in a callback from TensorFlow's C++ comes out as e.g. SystemError (the CI saw this once
    in the test above); it ends with the --resume hint and 130 all the same, while an error no signal caused
    still propagates."""
    from gan_em_tf import cli

    def tf_callback_hit_by(signum):
        def cmd(args):
            try:
                os.kill(os.getpid(), signum)  # the handler main() installed runs here and raises KeyboardInterrupt
                for _ in range(10 ** 6):  # the handler runs between bytecodes of the main thread
                    pass
            except KeyboardInterrupt:
                raise SystemError("<built-in function __import__> returned a result with an exception set")
            raise AssertionError("no handler interrupted the command")
        return cmd

    with stop_handlers_kept():
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a test runner started in the background may ignore these;
        signal.signal(signal.SIGINT, signal.default_int_handler)  # main() leaves an ignored signal ignored
        for signum in (signal.SIGTERM, signal.SIGINT):
            monkeypatch.setattr(cli, "cmd_cluster", tf_callback_hit_by(signum))
            assert cli.main(["cluster", "--out", "unused"]) == 130
            assert capsys.readouterr().err.strip() == "gan-em: interrupted; continue with --resume"
            monkeypatch.setattr(cli, "cmd_bench", tf_callback_hit_by(signum))
            assert cli.main(["bench"]) == 130
            assert capsys.readouterr().err.strip() == "gan-em: interrupted"  # a bench has nothing to resume
        monkeypatch.setattr(cli, "cmd_bench", lambda args: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            cli.main(["bench"])


def test_a_stop_signal_that_tensorflow_swallowed_ends_the_run_after_its_next_checkpoint(tmp_path, monkeypatch,
                                                                                         capsys):
    """If the interrupt never reaches `main` (swallowed inside TensorFlow), the remembered signal stops the EM
    loop after the checkpoint of the iteration it landed in."""
    from gan_em_tf import cli, runner

    log_line = runner.log_line

    def swallowed_during(*args, **kwargs):  # what a signal whose KeyboardInterrupt was swallowed leaves behind
        cli._stopped_by.append(signal.SIGTERM)
        return log_line(*args, **kwargs)

    monkeypatch.setattr(runner, "log_line", swallowed_during)
    run_dir = tmp_path / "run"
    argv = ["cluster", "--dataset", "digits", "--out", str(run_dir), "--no-export", *TINY, "--iterations", "3"]
    code, err, _ = cli_in_process(capsys, argv)
    assert code == 130 and "continue with --resume" in err
    assert sorted(os.listdir(run_dir / "checkpoints")) == ["iter-0001"] and not (run_dir / "summary.json").exists()
    assert not (run_dir / ".lock").exists()


def _config(argv):
    """The RunConfig `gan-em cluster ARGV` would train (data: digits), without training."""
    from gan_em_tf import cli

    parser = cli.build_parser()
    args = parser.parse_args(["cluster", "--out", "unused", *argv])
    args.given = cli._given_flags(parser, ["cluster", *argv])
    return cli._new_config(args)[0]


def test_each_recipe_resolves_to_its_documented_values_and_a_flag_overrides_one():
    from gan_em_tf.gan_em.config import GrowthConfig, MoveConfig

    paper = _config(["--recipe", "paper"])
    assert (paper.train.optimizer, paper.train.lr_g, paper.train.batch_size, paper.train.generator_loss,
            paper.train.e_class_prior, paper.train.init) == ("rmsprop", 2e-4, 64, "exp", "phi", "uniform")
    authors = _config(["--recipe", "authors"])
    assert (authors.train.optimizer, authors.train.lr_g, authors.train.lr_d, authors.train.lr_e,
            authors.train.batch_size, authors.train.e_batch_size, authors.train.generator_loss,
            authors.train.e_class_prior, authors.train.real_unit_weight) == (
        "adam", 6e-4, 2e-4, 6e-5, 70, 200, "onehot", "uniform", 2.0)
    cpu = _config(["--recipe", "cpu"])
    assert (cpu.train.net_width, cpu.schedule.m_epochs, cpu.schedule.m_steps, cpu.schedule.e_steps, cpu.train.lr_e,
            cpu.train.lr_decay, cpu.train.e_class_prior, cpu.schedule.iterations, cpu.train.optimizer) == (
        0.5, 1.0, 500, 50, 6e-4, 1.0, "phi", 170, "adam")
    assert cpu.schedule.m_batches(10_000, 70) == 142 and cpu.schedule.m_batches(70_000, 70) == 500
    assert cpu.train.moves == MoveConfig(every=4, start=40, final=90, final_hold=6, whiten=10, m_step_scale=2.0)
    grow = _config(["--recipe", "cpu-grow", "--clusters", "20"])
    assert grow.train.growth == GrowthConfig(clusters=10, after=40, hold=4) and grow.train.moves == cpu.train.moves
    fig3 = _config(["--recipe", "cpu-fig3", "--clusters", "20", "--embed-dim", "1000"])
    assert (fig3.train.lr_decay, fig3.train.lr_decay_start, fig3.train.e_augment, fig3.train.e_augment_start,
            fig3.embed_dim) == (0.95, 110, True, 110, 1000)
    semi = _config(["--recipe", "cpu-semi", "--labels", "100"])
    assert (semi.schedule.m_steps, semi.schedule.first_m_scale, semi.schedule.e_steps, semi.train.g_class_start,
            semi.supervision.epsilon, semi.train.e_augment, semi.schedule.iterations) == \
        (500, 3.0, 200, 2, 0.0, True, 20)
    small = _config([])
    assert small.recipe_name == "small" and (small.train.lr_g, small.train.init) == (1e-4, "tsne-ward")
    semi_small = _config(["--labels", "100"])
    assert semi_small.recipe_name == "small-semi" and (semi_small.train.lr_e, semi_small.supervision.epsilon,
                                                       semi_small.train.e_augment) == (6e-4, 0.0, True)
    # one flag overrides one value and leaves the rest of the recipe alone
    over = _config(["--recipe", "cpu", "--e-class-prior", "uniform", "--m-epochs", "2", "--lr-g", "1e-3"])
    assert (over.train.e_class_prior, over.schedule.m_epochs, over.schedule.m_steps, over.train.lr_g) == (
        "uniform", 2.0, None, 1e-3)
    assert over.train.moves == cpu.train.moves and over.train.lr_e == 6e-4
    assert over.recipe == cpu.recipe  # config.json records the recipe as named; the fields record the overrides


def test_the_default_recipe_follows_the_data_k_and_labels():
    from gan_em_tf.gan_em.recipes import default_recipe

    assert default_recipe(False, 10, 0) == "small" and default_recipe(False, 10, 100) == "small-semi"
    assert default_recipe(True, 10, 0) == "cpu" and default_recipe(True, 20, 0) == "cpu-grow"
    assert default_recipe(True, 10, 100) == "cpu-semi" and default_recipe(True, 2, 0) == "authors"


def test_config_json_records_the_recipe_by_name_and_values(tiny_run):
    from gan_em_tf import recipes

    config = json.load(open(os.path.join(tiny_run[0], "config.json")))
    assert config["method"] == "gan-em" and config["recipe"]["name"] == "small"
    assert config["recipe"]["values"] == {k: recipes.jsonable(v) for k, v in
                                          recipes.resolved_values("gan-em", "small").items()}
    assert config["train"]["lr_g"] == 1e-4 and config["train"]["init"] == "tsne-ward"


def test_an_unknown_key_in_config_json_is_a_one_line_error(tiny_run, tmp_path, capsys):
    import shutil

    run_dir = str(tmp_path / "run")
    shutil.copytree(tiny_run[0], run_dir)
    path = os.path.join(run_dir, "config.json")
    config = json.load(open(path))
    config["train"]["lr_gg"] = 1.0
    json.dump(config, open(path, "w"))
    for argv in (["cluster", "--out", run_dir, "--resume"], ["export", run_dir, str(tmp_path / "x")]):
        code, err, _ = cli_in_process(capsys, argv)
        msg = [ln for ln in err.splitlines() if ln.startswith("gan-em: error:")]
        assert code == 2 and len(msg) == 1 and "unknown setting train.lr_gg" in msg[0], err[-1500:]


def test_a_normal_run_prints_no_tensorflow_log_and_verbose_brings_it_back(tmp_path):
    """Without the user's TF_CPP_MIN_LOG_LEVEL: a quiet run's stderr is empty, an error is its one line (also
    DEC's, whose module imports TensorFlow), and --verbose shows TensorFlow's own start-up lines."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    commands = {"run": ["cluster", "--dataset", "digits", "--out", str(tmp_path / "r"), *TINY, "--iterations", "1",
                        "--no-export"],
                "loud": ["export", str(tmp_path / "none"), str(tmp_path / "x"), "--verbose"],
                "dec": ["baseline", "--dataset", "digits", "--method", "dec", "--sae", str(tmp_path / "none")]}
    with ended({name: subprocess.Popen([sys.executable, "-m", "gan_em_tf", *args], stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, env=env)
                for name, args in commands.items()}) as procs:  # all three at once
        err = {name: p.communicate(timeout=600)[1] for name, p in procs.items()}
    assert procs["run"].returncode == 0 and err["run"].strip() == "", err["run"][-2000:]
    loud, dec = err["loud"], err["dec"]
    assert f"gan-em: error: {tmp_path / 'none'} holds no run (no config.json)" in loud
    assert len(dec.strip().splitlines()) == 1 and "--sae" in dec, dec[-2000:]  # TensorFlow imported quietly
    assert "cuda" in loud.lower()  # TensorFlow's own lines, as the user asked


def test_the_cli_and_the_library_share_their_runtime_defaults():
    """XLA, precision, determinism, strategy and seed: a run the CLI starts without those flags is configured as
    `RunConfig()` is in the library (XLA was on in one and off in the other)."""
    from gan_em_tf.config import RuntimeConfig

    assert _config([]).runtime == RuntimeConfig()


def test_a_stopped_program_drops_destructor_reports_of_half_built_objects_but_a_caller_keeps_its_hook():
    """A stop signal landing inside TensorFlow can leave an object whose __del__ fails at exit (CI saw an eager
    Executor print "Exception ignored … Traceback" after the --resume hint); the gan-em program drops those
    reports, while a program calling main() keeps its own unraisable hook."""
    import subprocess
    import sys

    from gan_em_tf import cli

    code = ("from gan_em_tf import cli\n"
            "class HalfBuilt:\n"
            "    def __del__(self):\n"
            "        self._handle\n"
            "kept_until_exit = HalfBuilt()\n"
            "raise SystemExit(cli._interrupted(True, whole_process=True))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 130 and "continue with --resume" in done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr
    hook = sys.unraisablehook
    assert cli._interrupted(True, whole_process=False) == 130
    assert sys.unraisablehook is hook
