"""Shared fixtures: a tiny end-to-end GAN-EM run on the bundled digits, made once per session."""
import json
import os
import subprocess
import sys

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# A schedule that exercises every phase in seconds (not one that clusters well).
TINY = ["--iterations", "2", "--m-epochs", "1", "--e-steps", "15", "--batch-size", "32", "--e-batch-size", "32",
        "--limit", "300", "--quiet"]


def gan_em(*args, timeout=600, env=None, **kwargs):
    """Run the CLI in a fresh interpreter; returns the CompletedProcess."""
    env = dict(env or os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "gan_em_tf", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, **kwargs)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """RUN_DIR of `gan-em cluster --dataset digits` with the tiny schedule (K=10), at --net-width 0.5 so that
    the export round trip also checks that a run's networks are rebuilt at the width it was trained with."""
    run_dir = str(tmp_path_factory.mktemp("runs") / "digits")
    proc = gan_em("cluster", "--dataset", "digits", "--out", run_dir, "--seed", "3", "--net-width", "0.5", *TINY)
    assert proc.returncode == 0, proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    return run_dir, json.loads(last)
