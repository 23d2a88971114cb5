"""--strategy multi-worker: two worker processes on 127.0.0.1 train as one process with two replicas does, the
chief alone writes the run folder, a worker whose peer was killed ends with a one-line error and both continue
the run with --resume; a missing or malformed TF_CONFIG is a one-line error."""
import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from conftest import cli_in_process, ended

from gan_em_tf import rundir

# Schedules of seconds; XLA is off because the workers cannot use it on CPUs (no XLA collectives there).
COMMON = ["cluster", "--dataset", "digits", "--seed", "1", "--limit", "300", "--quiet", "--no-xla"]
RUNS = {"gan-em": [*COMMON, "--net-width", "0.5", "--m-epochs", "1", "--e-steps", "15", "--batch-size", "32",
                   "--e-batch-size", "32"],
        "minmax-em": [*COMMON, "--method", "minmax-em", "--classes", "0,1,2", "--limit", "60", "--clusters", "3",
                      "--m-epochs", "0.2"],
        "ganmm": [*COMMON, "--method", "ganmm", "--classes", "0,1,2", "--limit", "60", "--clusters", "3",
                  "--net-width", "0.5", "--m-epochs", "0.3", "--e-steps", "10"]}
RUN = RUNS["gan-em"]

# `python -c TWO_REPLICAS ARGS…`: gan-em ARGS in one process whose CPU is split into two logical devices, so that
# --strategy mirrored runs two replicas.
TWO_REPLICAS = textwrap.dedent(r'''
    import sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from gan_em_tf import cli
    sys.exit(cli.main(sys.argv[1:]))
''')


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _start_workers(args: list[str], scratch: str) -> list[subprocess.Popen]:
    """gan-em ARGS as worker 0 and 1 of a two-worker cluster on 127.0.0.1 (temporary files in ``scratch``)."""
    cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}
    procs = []
    for index in range(2):
        task = {"type": "worker", "index": index}
        env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # the CLI's own quiet start
        env.update(TF_CONFIG=json.dumps({"cluster": cluster, "task": task}), TMPDIR=scratch, PYTHONWARNINGS="ignore")
        procs.append(subprocess.Popen([sys.executable, "-m", "gan_em_tf", *args, "--strategy", "multi-worker"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    return procs


def _ended_well(proc: subprocess.Popen) -> str:
    """``proc``'s standard output, once it has ended with exit status 0."""
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    return out


def _workers(args: list[str], scratch: str) -> list[str]:
    """gan-em ARGS on two workers, both ending well; returns their standard outputs."""
    with ended(_start_workers(args, scratch)) as procs:
        return [_ended_well(p) for p in procs]


def _worker_folders(scratch) -> list[str]:
    """What this package left in the workers' temporary folder (not TensorFlow's autograph files, which a killed
    process cannot delete)."""
    return [name for name in os.listdir(scratch) if name.startswith("gan-em")]


def _start_two_replicas(args: list[str]) -> subprocess.Popen:
    """The reference run: one process, two replicas (no SavedModel: the workers' weights are compared with its
    checkpoint's). It runs while the workers run: most of their time is waiting on each other."""
    return subprocess.Popen([sys.executable, "-c", TWO_REPLICAS, *args, "--strategy", "mirrored", "--no-export"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))


def _weights(run_dir: str) -> tuple[dict, int]:
    from gan_em_tf import runner

    _, method = runner.load_run(run_dir)
    return {name: net.get_weights() for name, net in method.networks.items()}, rundir.completed_iterations(run_dir)


def _assert_same_training(a: str, b: str) -> None:
    (wa, done_a), (wb, done_b) = _weights(a), _weights(b)
    assert done_a == done_b
    for name in wa:
        for x, y in zip(wa[name], wb[name]):
            np.testing.assert_allclose(x, y, atol=2e-5, err_msg=name)
    assignments = [np.load(os.path.join(run, "assignments.npy")) for run in (a, b)]
    np.testing.assert_array_equal(*assignments)


def _run_folders(tmp_path) -> tuple[str, str, str]:
    """(the workers' run, the two replicas' run, the workers' temporary folder, made)."""
    (tmp_path / "worker-tmp").mkdir()
    return str(tmp_path / "workers"), str(tmp_path / "replicas"), str(tmp_path / "worker-tmp")


def _assert_same_run(workers: str, replicas: str, outs: list[str], scratch: str) -> None:
    """The workers' run (standard outputs ``outs``) ended as the two replicas' run did, with the same scores on
    every worker; the chief alone wrote a run folder (the other worker's temporary folder is gone)."""
    scores = [{k: v for k, v in json.loads(out.splitlines()[-1]).items() if k != "seconds"} for out in outs]
    assert scores[0] == scores[1]  # every worker ends with the same model
    _assert_same_training(workers, replicas)
    done = rundir.completed_iterations(workers)
    assert len(open(os.path.join(workers, "metrics.csv")).read().splitlines()) == done + 1  # header + a row each
    assert os.path.isdir(os.path.join(workers, "saved_model"))
    assert _worker_folders(scratch) == []


def test_two_gan_em_workers_continue_after_one_is_killed_and_end_as_two_replicas(tmp_path):
    """Worker 1 is killed once the run has two EM iterations: worker 0 ends with a one-line error, both continue
    with --resume, and they end with the weights of one process with two replicas that ran the same iterations
    at one go; the chief alone wrote a run folder."""
    workers, replicas, scratch = _run_folders(tmp_path)
    with ended(_start_workers([*RUN, "--iterations", "100", "--out", workers], scratch)) as procs:
        deadline = time.time() + 240
        while rundir.completed_iterations(workers) < 2 and time.time() < deadline and procs[0].poll() is None:
            time.sleep(0.5)
        procs[1].kill()
        _, err = procs[0].communicate(timeout=120)
    assert procs[0].returncode == 2 and err.strip().count("\n") == 0, err[-3000:]
    assert "start every worker again with --resume" in err, err
    done = rundir.completed_iterations(workers)
    assert 2 <= done < 100
    with ended([_start_two_replicas([*RUN, "--iterations", str(done + 1), "--out", replicas])]) as (reference,):
        outs = _workers(["cluster", "--out", workers, "--resume", "--iterations", str(done + 1), "--quiet"], scratch)
        _ended_well(reference)
    _assert_same_run(workers, replicas, outs, scratch)


@pytest.mark.parametrize("method", ["minmax-em", "ganmm"])
def test_the_other_methods_train_on_two_workers_as_on_two_replicas(tmp_path, method):
    workers, replicas, scratch = _run_folders(tmp_path)
    with ended([_start_two_replicas([*RUNS[method], "--iterations", "1", "--out", replicas])]) as (reference,):
        outs = _workers([*RUNS[method], "--iterations", "1", "--out", workers], scratch)
        _ended_well(reference)
    _assert_same_run(workers, replicas, outs, scratch)
    assert sorted(os.listdir(os.path.join(workers, "checkpoints"))) == ["iter-0001"]


@pytest.mark.parametrize("tf_config, message", [
    (None, "TF_CONFIG environment variable, which is not set"),
    ('{"cluster": {}}', "fix the environment variable"),
    ('{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 3}}', "fix its task"),
])
def test_a_missing_or_malformed_tf_config_is_a_one_line_error(capsys, monkeypatch, tmp_path, tf_config, message):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    code, err, _ = cli_in_process(capsys, [*RUN, "--iterations", "1", "--out", str(tmp_path / "run"),
                                           "--strategy", "multi-worker"])
    assert code == 2 and err.strip().count("\n") == 0 and message in err, err
    assert not (tmp_path / "run").exists()


def test_branching_is_refused_under_multi_worker(capsys, tmp_path):
    code, err, _ = cli_in_process(capsys, ["cluster", "--out", str(tmp_path / "b"), "--branch-from", str(tmp_path),
                                           "--strategy", "multi-worker"])
    assert code == 2 and "--branch-from" in err and err.strip().count("\n") == 0, err
