"""The CLI end to end on digits, and every kind of bad input: one line, exit 2, no traceback."""
import contextlib
import csv
import json
import os
import signal

import numpy as np
import pytest

from conftest import TINY, gan_em


def test_cluster_end_to_end_writes_the_run_folder(tiny_run):
    run_dir, printed = tiny_run
    for name in ("config.json", "data.json", "metrics.csv", "summary.json", "assignments.npy", "samples.png",
                 "convergence.png", "saved_model/saved_model.pb"):
        assert os.path.exists(os.path.join(run_dir, name)), name
    summary = json.load(open(os.path.join(run_dir, "summary.json")))
    for key in ("acc", "nmi", "ari", "purity", "error", "clusters", "n_samples", "seconds", "seed"):
        assert key in summary, key
    assert summary["n_samples"] == 300 and summary["clusters"] == 10 and summary["seed"] == 3
    assert 0.0 <= summary["acc"] <= 1.0 and summary["error"] == pytest.approx(1 - summary["acc"])
    assert printed["acc"] == summary["acc"]
    rows = list(csv.DictReader(open(os.path.join(run_dir, "metrics.csv"))))
    assert [r["iteration"] for r in rows] == ["1", "2"]
    assert {"acc", "nmi", "ari", "d_loss", "g_loss", "e_loss", "phi_min", "seconds"} <= set(rows[0])
    assign = np.load(os.path.join(run_dir, "assignments.npy"))
    assert assign.shape == (300,) and assign.max() < 10
    assert os.listdir(os.path.join(run_dir, "checkpoints")) == ["iter-0002"]


def test_existing_run_is_not_overwritten(tiny_run):
    run_dir, _ = tiny_run
    before = open(os.path.join(run_dir, "summary.json")).read()
    proc = gan_em("cluster", "--dataset", "digits", "--out", run_dir, *TINY)
    assert proc.returncode == 2 and "--overwrite" in proc.stderr
    assert open(os.path.join(run_dir, "summary.json")).read() == before


def test_a_run_still_going_is_not_resumed_or_overwritten_but_a_stale_lock_is_ignored(tiny_run, tmp_path):
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
            proc = gan_em("cluster", "--dataset", "digits", "--out", run_dir, *TINY, *extra)
            msg = [ln for ln in proc.stderr.splitlines() if ln.startswith("gan-em: error:")]
            assert proc.returncode == 2 and len(msg) == 1 and "in use" in msg[0], proc.stderr[-1500:]
            assert open(os.path.join(run_dir, "summary.json")).read() == before
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with open(lock, "w") as f:  # left by a killed run
        json.dump({"host": socket.gethostname(), "pid": dead.pid}, f)
    proc = gan_em("cluster", "--out", run_dir, "--resume", "--no-export", "--quiet")
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert not os.path.exists(lock)  # released at the end


def test_baseline_command(tmp_path):
    out = tmp_path / "b.json"
    proc = gan_em("baseline", "--dataset", "digits", "--method", "kmeans", "--seeds", "0", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    res = json.load(open(out))["results"][0]
    assert res["method"] == "kmeans" and 0.6 < res["acc"]["mean"] <= 1.0  # k-means reaches ~0.79 on digits


@pytest.mark.parametrize("command", [["baseline", "--dataset", "digits"], ["bench", "--steps", "1"]])
def test_unwritable_json_out_fails_first_in_one_line(tmp_path, command):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    for out in (blocker / "r.json", tmp_path):  # folder under a file; an existing folder
        proc = gan_em(*command, "--out", str(out))
        msg = [ln for ln in proc.stderr.splitlines() if ln.startswith("gan-em: error:")]
        assert proc.returncode == 2 and len(msg) == 1 and "--out" in msg[0], proc.stderr[-1500:]
        assert "Traceback" not in proc.stderr and "steps/s" not in proc.stdout  # nothing was run first


def test_help_explains_every_flag():
    proc = gan_em("cluster", "--help")
    assert proc.returncode == 0
    for flag in ("--dataset", "--data-dir", "--clusters", "--config", "--iterations", "--m-epochs", "--e-steps",
                 "--strategy", "--resume", "--overwrite", "--out", "--xla"):
        assert flag in proc.stdout


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
        (["--lr-decay-start", "-1"], "--lr-decay-start"),
        (["--e-augment-start", "5"], "add --e-augment"),
        (["--e-augment", "--e-augment-start", "-1"], "--e-augment-start"),
        (["--split-merge-every", "-1"], "--split-merge-every"),
        (["--split-merge-every", "1", "--clusters", "2"], "--split-merge-every"),
        (["--labels", "100", "--split-merge-every", "1"], "--split-merge-every"),
        (["--split-merge-start", "3"], "--split-merge-every"),
        (["--split-merge-every", "2", "--split-merge-start", "-1"], "--split-merge-start"),
        (["--split-merge-every", "2", "--split-merge-whiten", "-1"], "--split-merge-whiten"),
        (["--split-merge-m-epochs", "3"], "--split-merge-every"),
        (["--split-merge-every", "2", "--split-merge-m-epochs", "-1"], "--split-merge-m-epochs"),
        (["--split-merge-hold", "2"], "--split-merge-every"),
        (["--split-merge-every", "2", "--split-merge-hold", "-1"], "--split-merge-hold"),
        (["--split-merge-every", "2", "--split-merge-hold", "2"], "--split-merge-hold"),
        (["--split-merge-protect-new"], "--split-merge-every"),
        (["--split-merge-final", "-1"], "--split-merge-final"),
        (["--split-merge-final-hold", "2"], "--split-merge-final"),
        (["--split-merge-final", "3", "--split-merge-final-hold", "2", "--iterations", "5"], "--split-merge-final"),
        (["--split-merge-every", "2", "--split-merge-start", "4", "--split-merge-final", "3", "--iterations", "9"],
         "--split-merge-final"),
        (["--labels", "100", "--split-merge-final", "2", "--iterations", "5"], "--split-merge-final"),
        (["--split-merge-every", "2", "--split-merge-mode", "pair", "--split-merge-protect-new"], "--split-merge-mode"),
        (["--split-merge-every", "2", "--split-merge-mode", "cross", "--split-merge-protect-new"], "--split-merge-mode"),
        (["--grow-from", "10"], "--grow-from must be at least 2 and below --clusters 10"),
        (["--grow-from", "2", "--grow-after", "2"], "--grow-after must be an EM iteration from 1"),
        (["--grow-after", "1"], "--grow-after and --grow-hold need --grow-from"),
        (["--grow-split", "graph"], "--grow-split chooses how the --grow-from growth splits"),
        (["--grow-split", "2means"], "--grow-split chooses how the --grow-from growth splits"),
        (["--out-subdir-of-file"], "--out"),
    ], blocker


def _cluster_in_process(capsys, argv):
    """`gan-em cluster ARGV` run by `cli.main` in this interpreter: (exit code, stderr). A traceback would
    propagate and fail the test; argparse's own errors end in SystemExit, taken as the exit code."""
    from gan_em_tf import cli

    with _stop_handlers_kept():
        try:
            code = cli.main(["cluster", *argv])
        except SystemExit as e:
            code = e.code
    return code, capsys.readouterr().err


@contextlib.contextmanager
def _stop_handlers_kept():
    """main() installs its SIGINT / SIGTERM handlers; put the test runner's back afterwards."""
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


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
        code, err = _cluster_in_process(capsys, ["--out", out, *TINY, *args])  # later flags win
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

    with _stop_handlers_kept():
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a test runner started in the background may ignore these;
        signal.signal(signal.SIGINT, signal.default_int_handler)  # main() leaves an ignored signal ignored
        for signum in (signal.SIGTERM, signal.SIGINT):
            monkeypatch.setattr(cli, "cmd_bench", tf_callback_hit_by(signum))
            assert cli.main(["bench"]) == 130
            assert capsys.readouterr().err.strip() == "gan-em: interrupted; continue with --resume"
        monkeypatch.setattr(cli, "cmd_bench", lambda args: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            cli.main(["bench"])


def test_a_stop_signal_that_tensorflow_swallowed_ends_the_run_after_its_next_checkpoint(tmp_path, monkeypatch,
                                                                                         capsys):
    """If the interrupt never reaches `main` (swallowed inside TensorFlow), the remembered signal stops the EM
    loop after the checkpoint of the iteration it landed in."""
    from gan_em_tf import cli
    from gan_em_tf.gan_em import loop

    log_line = loop._log_line

    def swallowed_during(*args, **kwargs):  # what a signal whose KeyboardInterrupt was swallowed leaves behind
        cli._stopped_by.append(signal.SIGTERM)
        return log_line(*args, **kwargs)

    monkeypatch.setattr(loop, "_log_line", swallowed_during)
    run_dir = tmp_path / "run"
    code, err = _cluster_in_process(capsys, ["--dataset", "digits", "--out", str(run_dir), "--no-export", *TINY,
                                             "--iterations", "3"])
    assert code == 130 and "continue with --resume" in err
    assert sorted(os.listdir(run_dir / "checkpoints")) == ["iter-0001"] and not (run_dir / "summary.json").exists()
    assert not (run_dir / ".lock").exists()


def test_e_class_prior_flag_overrides_the_preset():
    from gan_em_tf import cli

    parser = cli.build_parser()
    for flags, want in (([], "uniform"), (["--e-class-prior", "phi"], "phi"), (["--config", "paper"], "phi"),
                        (["--config", "paper", "--e-class-prior", "uniform"], "uniform")):
        a = parser.parse_args(["cluster", "--out", "unused", *flags])
        assert cli._train_config(a).e_class_prior == want, flags
