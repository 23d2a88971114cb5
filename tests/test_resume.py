"""A run killed mid-way and resumed with --resume ends exactly where an uninterrupted run ends; so does a new
run branched from a kept checkpoint."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import cli_captured, cli_in_process

ARGS = ["cluster", "--dataset", "digits", "--limit", "240", "--iterations", "3", "--m-epochs", "2", "--e-steps",
        "20", "--batch-size", "32", "--e-batch-size", "32", "--seed", "5", "--deterministic", "--no-export",
        "--no-xla"]
DEFAULT_PATH = [a for a in ARGS if a not in ("--deterministic", "--no-xla")]  # XLA on, no op determinism


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """The uninterrupted 3-iteration run, keeping the checkpoint after iteration 2 as well."""
    full = str(tmp_path_factory.mktemp("resume") / "full")
    code, err, _ = cli_captured([*ARGS, "--keep-every", "2", "--out", full])
    assert code == 0, err[-2000:]
    assert sorted(os.listdir(os.path.join(full, "checkpoints"))) == ["iter-0002", "iter-0003"]
    return full


def _strip(rows):
    return [",".join(r.split(",")[:-1]) for r in rows]  # the last column is seconds


def test_resume_after_kill_matches_uninterrupted_run(full_run, tmp_path, capsys):
    full = full_run

    part = str(tmp_path / "part")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    child = subprocess.Popen([sys.executable, "-m", "gan_em_tf", *ARGS, "--out", part], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpts = os.path.join(part, "checkpoints")
    deadline = time.time() + 300
    while time.time() < deadline and child.poll() is None:
        if os.path.isdir(ckpts) and any(d.startswith("iter-") and not d.endswith(".tmp") for d in os.listdir(ckpts)):
            break
        time.sleep(0.2)
    child.send_signal(signal.SIGKILL)
    child.wait()
    done = [d for d in os.listdir(ckpts) if not d.endswith(".tmp")]
    assert done and done != ["iter-0003"], f"the run was not interrupted mid-way: {done}"
    assert not os.path.exists(os.path.join(part, "summary.json"))

    code, err, _ = cli_in_process(capsys, [*ARGS, "--out", part])  # no --resume: refuses to touch the run
    assert code == 2 and "--resume" in err
    code, err, out = cli_in_process(capsys, ["cluster", "--out", part, "--resume"])
    assert code == 0, err[-2000:]
    assert "resumed from" in out

    np.testing.assert_array_equal(np.load(os.path.join(full, "assignments.npy")),
                                  np.load(os.path.join(part, "assignments.npy")))
    rows_full = open(os.path.join(full, "metrics.csv")).read().splitlines()
    rows_part = open(os.path.join(part, "metrics.csv")).read().splitlines()
    assert len(rows_full) == len(rows_part) == 4
    assert _strip(rows_full) == _strip(rows_part)
    s_full = json.load(open(os.path.join(full, "summary.json")))
    s_part = json.load(open(os.path.join(part, "summary.json")))
    assert s_full["acc"] == s_part["acc"] and s_part["iterations"] == 3

    # a finished run is not shortened (extending one: test_ganmm, through the same method-neutral runner)
    code, err, _ = cli_in_process(capsys, ["cluster", "--out", part, "--resume", "--iterations", "2"])
    assert code == 2 and "already completed 3" in err


def test_a_branch_from_a_kept_checkpoint_ends_where_the_source_run_ended(full_run, tmp_path, capsys):
    full = full_run
    kept = os.path.join(full, "checkpoints", "iter-0002")
    for args, message in [(["--branch-from", str(tmp_path / "nothing")], "no run checkpoint there"),
                          (["--branch-from", full, "--out", full], "the run --branch-from reads"),
                          (["--branch-from", kept, "--resume"], "pass one"),
                          (["--branch-from", kept, "--epsilon", "0.1"], "this run has none"),
                          (["--branch-from", kept, "--lr-g", "0.5"], "does not take --lr-g"),
                          (["--branch-from", kept, "--lr-decay", "0.5"], "would change the rates")]:
        out = [] if "--out" in args else ["--out", str(tmp_path / "bad")]
        code, err, _ = cli_in_process(capsys, ["cluster", *args, *out])
        assert code == 2 and message in err, err[-2000:]
    assert not os.path.exists(tmp_path / "bad")  # a branch that fails before training leaves nothing behind

    branch = str(tmp_path / "branch")
    code, err, out = cli_in_process(capsys, ["cluster", "--branch-from", kept, "--out", branch])
    assert code == 0, err[-2000:]
    assert "resumed from" in out
    assert json.load(open(os.path.join(branch, "branch.json"))) == {"source_run": os.path.abspath(full),
                                                                     "checkpoint": "iter-0002"}
    np.testing.assert_array_equal(np.load(os.path.join(full, "assignments.npy")),
                                  np.load(os.path.join(branch, "assignments.npy")))
    assert _strip(open(os.path.join(branch, "metrics.csv")).read().splitlines()) == \
        _strip(open(os.path.join(full, "metrics.csv")).read().splitlines())
    assert sorted(os.listdir(os.path.join(full, "checkpoints"))) == ["iter-0002", "iter-0003"]  # source untouched


def test_a_run_at_constant_rates_anneals_from_the_resumed_iteration_with_lr_decay(tmp_path, capsys):
    """--lr-decay on --resume of a run at constant rates: the completed iterations keep their rates, the decay
    starts at the resumed one, and config.json says so; a run whose rates already decay keeps them."""
    from gan_em_tf.gan_em.config import TrainConfig

    run = str(tmp_path / "constant")
    args = [a for a in ARGS if a != "--deterministic"] + ["--lr-decay", "1", "--iterations", "2", "--out", run]
    assert cli_in_process(capsys, args)[0] == 0
    code, err, out = cli_in_process(capsys, ["cluster", "--out", run, "--resume", "--iterations", "4", "--lr-decay",
                                             "0.5"])
    assert code == 0, err[-2000:]
    assert "resumed from" in out and "EM iteration 4/4" in out
    train = TrainConfig.from_dict(json.load(open(os.path.join(run, "config.json")))["train"])
    assert [train.lr_factor(i) for i in range(4)] == [1.0, 1.0, 1.0, 0.5]
    code, err, _ = cli_in_process(capsys, ["cluster", "--out", run, "--resume", "--iterations", "5", "--lr-decay",
                                           "0.9"])
    assert code == 2 and "would change the rates" in err


def test_resume_refuses_the_training_flags_it_would_ignore_and_names_the_ones_it_takes(full_run, tmp_path, capsys):
    import shutil

    run = str(tmp_path / "run")
    shutil.copytree(full_run, run)
    before = open(os.path.join(run, "config.json")).read()
    for extra in (["--lr-g", "1e-3"], ["--recipe", "paper"], ["--clusters", "5"], ["-k", "5"], ["--dataset", "digits"],
                  ["--net-width", "2"]):
        code, err, _ = cli_in_process(capsys, ["cluster", "--out", run, "--resume", "--iterations", "4", *extra])
        msg = [ln for ln in err.splitlines() if ln.startswith("gan-em: error:")]
        flag = "--clusters" if extra[0] == "-k" else extra[0]
        assert code == 2 and len(msg) == 1, err[-1500:]
        assert f"does not take {flag}" in msg[0] and "--iterations" in msg[0] and "--epsilon" in msg[0], msg[0]
    assert open(os.path.join(run, "config.json")).read() == before


def test_resume_on_the_default_path_ends_where_the_uninterrupted_run_ends(tmp_path, capsys):
    """XLA on and no op determinism, as a user runs it (through the CLI's main, in this interpreter): a run
    stopped after its first checkpoint and resumed ends with the assignments and scores of the run that went
    through (TensorFlow's CPU kernels here are deterministic for these networks; with --deterministic this
    holds on any device)."""
    full, part = str(tmp_path / "full"), str(tmp_path / "part")
    for argv in ([*DEFAULT_PATH, "--iterations", "2", "--out", full],
                 [*DEFAULT_PATH, "--iterations", "1", "--out", part],
                 ["cluster", "--out", part, "--resume", "--iterations", "2"]):
        code, err, _ = cli_in_process(capsys, argv)
        assert code == 0, err[-2000:]
    np.testing.assert_array_equal(np.load(os.path.join(full, "assignments.npy")),
                                  np.load(os.path.join(part, "assignments.npy")))
    assert _strip(open(os.path.join(full, "metrics.csv")).read().splitlines()) == \
        _strip(open(os.path.join(part, "metrics.csv")).read().splitlines())


def test_the_run_lock_is_refused_while_its_holder_lives_and_taken_over_once_it_is_killed(tmp_path):
    """rundir.lock itself (the CLI also checks before --overwrite/--resume touch the folder)."""
    import socket

    from gan_em_tf import rundir
    from gan_em_tf.errors import UserError

    path = tmp_path / rundir.LOCK
    with rundir.lock(str(tmp_path)):
        assert json.loads(path.read_text()) == {"host": socket.gethostname(), "pid": os.getpid()}
        assert sorted(p.name for p in tmp_path.iterdir()) == [rundir.LOCK]
        with pytest.raises(UserError, match=f"in use .*process {os.getpid()}"):
            rundir.check_not_in_use(str(tmp_path))
    assert not path.exists()
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from gan_em_tf import rundir\n"
                               "with rundir.lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)",
                               str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UserError, match=f"in use .*process {holder.pid}"):
            with rundir.lock(str(tmp_path)):
                pass
        assert json.loads(path.read_text())["pid"] == holder.pid  # the holder's lock is untouched
    finally:
        holder.kill()  # SIGKILL: no clean-up, the lock file stays behind
        holder.wait()
    assert json.loads(path.read_text())["pid"] == holder.pid
    rundir.check_not_in_use(str(tmp_path))  # the kernel dropped the dead holder's lock
    with rundir.lock(str(tmp_path)):
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("rival", [True, False])
def test_a_lock_got_on_a_file_its_holder_removed_meanwhile_is_not_kept(tmp_path, monkeypatch, rival):
    """Between this process opening .lock and locking it, the holder ends (removing the file) and, with ``rival``,
    another process creates and locks a new .lock: this process must not keep the lock on the removed file, but
    try the path again — and refuse when the rival holds it."""
    import fcntl

    from gan_em_tf import rundir
    from gan_em_tf.errors import UserError

    path = tmp_path / rundir.LOCK
    path.write_text(json.dumps({"host": "h", "pid": 1}))  # the holder's, about to go
    real, calls, rival_fd = rundir._try_flock, [], []

    def holder_ends_first(fd, shared=False):
        calls.append(fd)
        if len(calls) == 1:
            path.unlink()
            if rival:
                rival_fd.append(os.open(path, os.O_RDWR | os.O_CREAT))
                fcntl.flock(rival_fd[0], fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.write(rival_fd[0], json.dumps({"host": "h", "pid": 4242}).encode())
        return real(fd, shared)

    monkeypatch.setattr(rundir, "_try_flock", holder_ends_first)
    try:
        if rival:
            with pytest.raises(UserError, match="in use .*process 4242"):
                with rundir.lock(str(tmp_path)):
                    pass
            assert json.loads(path.read_text())["pid"] == 4242  # the rival's lock is left to it
        else:
            with rundir.lock(str(tmp_path)):
                assert json.loads(path.read_text())["pid"] == os.getpid()
            assert not path.exists()
        # the removed file, then the one the path names now (and with a rival, check_not_in_use's try for the message)
        assert len(calls) == (3 if rival else 2)
    finally:
        for fd in rival_fd:
            os.close(fd)


def test_a_lock_taken_for_a_moment_by_another_process_starting_is_not_a_refusal(tmp_path, monkeypatch):
    """Two processes starting into one folder each lock .lock for a moment in check_not_in_use; that check's lock
    is shared, so it does not refuse the other's check (a run's exclusive lock is refused, as above)."""
    import fcntl

    from gan_em_tf import rundir

    path = tmp_path / rundir.LOCK
    path.write_text("")
    real, calls, starter_fd = rundir._try_flock, [], []

    def other_starter_checking(fd, shared=False):
        calls.append(shared)
        if len(calls) == 1:  # the other process's check holds its shared lock over this one's try and check ...
            starter_fd.append(os.open(path, os.O_RDONLY))
            fcntl.flock(starter_fd[0], fcntl.LOCK_SH | fcntl.LOCK_NB)
        elif len(calls) == 3:  # ... and has let it go by this one's next try
            os.close(starter_fd.pop())
        return real(fd, shared)

    monkeypatch.setattr(rundir, "_try_flock", other_starter_checking)
    with rundir.lock(str(tmp_path)):
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert calls == [False, True, False]  # lock's try (taken), the check (passes beside it), lock's try again
