"""Shared fixtures: a tiny end-to-end GAN-EM run on the bundled digits, made once per test run."""
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# `python -c SAVED_MODEL_LOADER SAVED_MODEL x.npy z.npy c.npy OUT.npz`: the endpoints' outputs, read where gan_em_tf
# is never imported (it prints the gan_em_tf modules it saw: none).
SAVED_MODEL_LOADER = textwrap.dedent(r'''
    import sys, json
    import numpy as np
    import tensorflow as tf
    m = tf.saved_model.load(sys.argv[1])
    x = np.load(sys.argv[2]); z = np.load(sys.argv[3]); c = np.load(sys.argv[4])
    a = m.assign(tf.constant(x))
    g = m.generate(tf.constant(z), tf.constant(c))
    np.savez(sys.argv[5], probabilities=a["probabilities"].numpy(), cluster=a["cluster"].numpy(),
             images=g["images"].numpy())
    print(json.dumps(sorted(k for k in sys.modules if k.startswith("gan_em_tf"))))
''')

# A schedule that exercises every phase in seconds (not one that clusters well). XLA and TensorBoard off: they
# cost more than the few steps take (test_resume's default path runs with XLA on; tiny_run writes TensorBoard).
TINY = ["--iterations", "2", "--m-epochs", "1", "--e-steps", "15", "--batch-size", "32", "--e-batch-size", "32",
        "--limit", "300", "--quiet", "--no-xla", "--no-tensorboard"]


def cli_in_process(capsys, argv):
    """`gan-em ARGV` run by `cli.main` in this interpreter (no TensorFlow start-up): (exit code, stderr,
    stdout). A traceback would propagate and fail the test; argparse's own errors end in SystemExit, taken as
    the code."""
    code = _cli_main(argv)
    captured = capsys.readouterr()
    return code, captured.err, captured.out


def cli_captured(argv):
    """:func:`cli_in_process` for fixtures wider than one test (which cannot take capsys): the output is
    captured by redirection instead."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = _cli_main(argv)
    return code, err.getvalue(), out.getvalue()


def _cli_main(argv) -> int:
    from gan_em_tf import cli

    with stop_handlers_kept():
        try:
            return cli.main(list(argv))
        except SystemExit as e:
            return e.code


@contextlib.contextmanager
def ended(procs):
    """Every process of ``procs`` (a list or a dict of them) is ended when the body ends, however it ends."""
    try:
        yield procs
    finally:
        for p in (procs.values() if isinstance(procs, dict) else procs):
            if p.poll() is None:
                p.kill()
            p.communicate()


@contextlib.contextmanager
def stop_handlers_kept():
    """main() installs its SIGINT / SIGTERM handlers; put the test runner's back afterwards."""
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


def gan_em(*args, timeout=600, env=None, **kwargs):
    """Run the CLI in a fresh interpreter; returns the CompletedProcess."""
    env = dict(env or os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "gan_em_tf", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, **kwargs)


@pytest.fixture(scope="package")  # one run for every test module of tests/
def tiny_run(tmp_path_factory):
    """RUN_DIR of `gan-em cluster --dataset digits` with the tiny schedule (K=10), at --net-width 0.5 so that
    the export round trip also checks that a run's networks are rebuilt at the width it was trained with. It
    writes TensorBoard's files (test_cli reads them back)."""
    run_dir = str(tmp_path_factory.mktemp("runs") / "digits")
    code, err, out = cli_captured(["cluster", "--dataset", "digits", "--out", run_dir, "--seed", "3", "--net-width",
                                   "0.5", *[a for a in TINY if a != "--no-tensorboard"]])
    assert code == 0, err[-3000:]
    return run_dir, json.loads(out.strip().splitlines()[-1])


def tensorboard_events(run_dir: str) -> tuple[dict, dict]:
    """RUN_DIR/tensorboard/ read back: ({(tag, step): scalar}, {step: the samples image's shape})."""
    import tensorflow as tf
    from tensorflow.python.summary.summary_iterator import summary_iterator

    from gan_em_tf.tensorboard import FOLDER

    folder = os.path.join(run_dir, FOLDER)
    scalars, images = {}, {}
    for name in sorted(os.listdir(folder)):
        for event in summary_iterator(os.path.join(folder, name)):
            for v in event.summary.value:
                value = tf.make_ndarray(v.tensor)
                if v.tag == "samples":
                    images[event.step] = tuple(tf.io.decode_png(value[2]).shape)
                else:
                    scalars[(v.tag, event.step)] = float(value)
    return scalars, images


def resume_matches_uninterrupted(capsys, args: list[str], root) -> str:
    """Runs ``gan-em ARGS`` for 3 EM iterations, and for 2 then ``--resume --iterations 3``: both end with the same
    assignments and metrics.csv rows (iteration and scores). Returns the resumed run's folder."""
    import numpy as np

    full, part = str(root / "full"), str(root / "part")
    for argv in ([*args, "--iterations", "3", "--out", full], [*args, "--iterations", "2", "--out", part],
                 ["cluster", "--out", part, "--resume", "--iterations", "3", "--quiet"]):
        code, err, _ = cli_in_process(capsys, argv)
        assert code == 0, err[-2000:]
    np.testing.assert_array_equal(np.load(os.path.join(full, "assignments.npy")),
                                  np.load(os.path.join(part, "assignments.npy")))
    rows = [open(os.path.join(d, "metrics.csv")).read().splitlines() for d in (full, part)]
    assert len(rows[0]) == 4 and [r.split(",")[:4] for r in rows[0]] == [r.split(",")[:4] for r in rows[1]]
    return part


def assert_one_line_errors(capsys, root, data: list[str], cases: list) -> None:
    """Each (args, needle) of ``cases``: `gan-em cluster DATA ARGS` exits 2 with one "gan-em: error:" line that
    names ``needle``, and leaves no run folder."""
    for i, (args, needle) in enumerate(cases):
        out = str(root / f"run{i}")
        code, err, _ = cli_in_process(capsys, ["cluster", "--out", out, *data, *args])
        msg = [ln for ln in err.strip().splitlines() if ln.startswith("gan-em: error:")]
        assert code == 2 and len(msg) == 1 and needle in msg[0], (args, err[-800:])
        assert not os.path.exists(out), args
