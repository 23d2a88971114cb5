"""Smoke tests: every paper_repro script runs its --quick path end to end (with a tiny schedule on
top), writes its JSON / Markdown / PNG, and the Colab notebook converts with nbconvert."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ("--iterations 1 --m-epochs 1 --e-steps 5 --batch-size 32 --e-batch-size 32 --limit 300 --no-export --quiet "
        "--no-xla")


def _script(name, out, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "paper_repro", name), "--quick", "--out", str(out),
                           "--cluster-args", TINY, *args], capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


@pytest.mark.parametrize("script,args,outputs", [
    ("table1.py", ["--columns", "mnist_k10", "mnist_100"], ["table1.json", "table1.md"]),
    ("fig2_samples.py", [], ["fig2.json", "fig2.md", "fig2_samples.png"]),
    ("fig3_dimension_reduction.py", ["--dims", "2"], ["fig3.json", "fig3.md", "fig3_dimension_reduction.png"]),
    ("fig4_convergence.py", ["--seeds", "0"], ["fig4.json", "fig4.md", "fig4_convergence.png"]),
    ("fig5_celeba_attributes.py", [], ["fig5.json", "fig5.md", "fig5_attributes.png", "fig5_samples.png"]),
])
def test_quick_script_writes_its_report(tmp_path, script, args, outputs):
    _script(script, tmp_path, *args)
    for name in outputs:
        assert os.path.getsize(tmp_path / name) > 100, name
    report = json.load(open(tmp_path / outputs[0]))
    assert "machine" in report and "argv" in report
    md = open(tmp_path / outputs[1]).read()
    assert "gan-em cluster" in md  # every measured number comes with its command
    if script == "fig3_dimension_reduction.py":  # the clustering's Eq. 17 error, as its summary.json has it
        run = report["runs"]["2"]
        assert f"| {run['error']:.3f} ({run['error_mapping']}) |" in md
    if script == "table1.py":  # measured rows beside the paper's quoted ones
        errs = report["measured_error"]
        assert 0.0 <= errs["mnist_k10"]["per_seed"][0] <= 1.0 and 0.0 <= errs["mnist_100"]["per_seed"][0] <= 1.0
        assert set(report["baselines_k10"]) == {"kmeans", "gmm"}
        assert 0.0 <= report["labels_only"]["mnist_100"]["mean"] < 0.5 and "E-net on the labels only" in md
        assert "GAN-EM (measured)" in md and "GAN-EM (quoted)" in md and "4.20 ± 0.51" in md


def test_colab_notebook_converts_to_a_script(tmp_path):
    path = os.path.join(ROOT, "paper_repro", "colab.ipynb")
    nb = json.load(open(path))
    assert nb["nbformat"] == 4 and any("pip install" in "".join(c["source"]) for c in nb["cells"])
    proc = subprocess.run([sys.executable, "-m", "nbconvert", "--to", "script", path, "--output-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    script = open(tmp_path / "colab.py").read()
    assert "table1.py --quick" in script and "list_physical_devices('GPU')" in script


def test_cluster_args_replace_the_scripts_own_flags_in_the_command():
    """A flag given again through --cluster-args is run and recorded once, with the later value."""
    sys.path.insert(0, os.path.join(ROOT, "paper_repro"))
    import common

    merged = common.merged_flags(["--dataset", "mnist", "--config", "paper", "--seed", "3", "--lr-decay", "-1"],
                                 "--config authors --e-augment --lr-decay 0.95 --lr-e=6e-4 --lr-e=1e-3")
    assert merged == ["--dataset", "mnist", "--seed", "3", "--config", "authors", "--e-augment",
                      "--lr-decay", "0.95", "--lr-e=1e-3"]
    assert common.merged_flags(["--a", "1"]) == ["--a", "1"]


def test_a_one_picture_script_refuses_several_seeds(tmp_path):
    """fig3 draws one run: several --seeds stop it with a one-line error before anything is written."""
    out = tmp_path / "fig3"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "paper_repro", "fig3_dimension_reduction.py"),
                           "--quick", "--seeds", "1", "2", "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "--seeds takes one seed" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_mnist_split_flag_reaches_runs_baselines_and_the_data_label():
    """--mnist-split picks the MNIST images of every run and of the k-means/GMM baselines alike."""
    sys.path.insert(0, os.path.join(ROOT, "paper_repro"))
    import common

    a = common.parser("x").parse_args(["--data-dir", "D", "--mnist-split", "test"])
    assert common.mnist_data(a) == common.mnist_data(a, semi_supervised=True) == [
        "--dataset", "mnist", "--split", "test", "--data-dir", "D"]
    assert "10,000" in common.data_label(a)
    a = common.parser("x").parse_args([])  # paper default: all 70,000; semi-supervised trains on train
    assert common.mnist_data(a)[3] == "all" and common.mnist_data(a, semi_supervised=True)[3] == "train"
    assert "70,000" in common.data_label(a)
    with pytest.raises(SystemExit):
        common.parser("x").parse_args(["--mnist-split", "valid"])


def test_table1_grow_after_reaches_only_the_columns_with_more_clusters_than_classes():
    """--grow-after T: K = 20/30 start on the 10 classes' clusters and split after T; K = 10 runs as it is."""
    sys.path.insert(0, os.path.join(ROOT, "paper_repro"))
    import table1

    def parse(*argv):
        return table1.parser().parse_args(["--data-dir", "D", "--mnist-split", "test", *argv])

    a = parse("--grow-after", "40", "--grow-hold", "3", "--grow-split", "graph")
    assert table1.clustering_args(10, a)[-2:] == ["--clusters", "10"]
    for k in (20, 30):
        args = table1.clustering_args(k, a)
        assert args[args.index("--clusters") + 1] == str(k)
        assert args[args.index("--clusters") + 2:] == ["--grow-from", "10", "--grow-after", "40", "--grow-hold", "3",
                                                        "--grow-split", "graph"]
    assert "--grow-from" not in table1.clustering_args(20, parse())  # off by default: the paper's schedule
    with pytest.raises(SystemExit, match="add --grow-after T"):  # nothing to split without the growth
        table1.main(["--data-dir", "D", "--mnist-split", "test", "--grow-split", "graph"])


def test_partition_diagnostics_reads_a_run_and_agrees_with_its_summary(tiny_run, tmp_path):
    run_dir, summary = tiny_run
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    script = os.path.join(ROOT, "paper_repro", "partition_diagnostics.py")
    out = tmp_path / "diag.json"
    proc = subprocess.run([sys.executable, script, run_dir, "--whiten", "3", "--out", str(out)], capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.load(open(out))
    assert abs(report["acc"] - summary["acc"]) < 1e-9  # the same w as the run's final assignment
    rows = report["clusters"]
    assert len(rows) == 10 and sum(r["size"] for r in rows) == summary["n_samples"]
    for r in rows:
        assert 0.0 <= r["purity"] <= 1.0 and np.isfinite(r["d_logit"])
        if r["size"]:
            largest = int(r["top_classes"].split(",")[0].split(":")[1])
            assert abs(r["purity"] - largest / r["size"]) < 1e-9
        if r["size"] >= 2:
            assert 0.0 <= r["within_total"] <= 1.0 + 1e-6  # 2-means never adds to the cluster's sum of squares
            assert 0.5 <= r["top2_separation"] <= 1.0
    assert len(report["merge_by_posterior_correlation"]) == 3 and 0 <= report["kmeans_on_d_features_acc"] <= 1
    aligned, best = report["cross_repair_by_alignment"], report["cross_repair_best_by_labels"]
    split = sum(r["size"] >= 2 for r in rows)  # a tiny run can leave clusters empty: every pair of split clusters, top 5
    assert len(aligned) == min(5, split * (split - 1) // 2) and all(0 <= r["abs_cos"] <= 1 + 1e-6 and 0 <= r["acc"] <= 1 for r in aligned)
    assert [r["abs_cos"] for r in aligned] == sorted((r["abs_cos"] for r in aligned), reverse=True)
    assert (best is None) == (not aligned)
    if aligned:
        assert best["acc"] >= max(r["acc"] for r in aligned)
    assert "| cluster | size |" in proc.stdout and "whitened top 3 PCs" in proc.stdout and report["whiten"] == 3
    resplits, best = report["pair_resplit_by_ss_ratio"], report["pair_resplit_best_by_labels"]
    used = sum(r["size"] > 0 for r in rows)
    assert len(resplits) == min(5, used * (used - 1) // 2) and all(r["ss_ratio"] > 0 and 0 <= r["acc"] <= 1
                                                                  for r in resplits)
    assert [r["ss_ratio"] for r in resplits] == sorted((r["ss_ratio"] for r in resplits), reverse=True)
    assert best["acc"] >= max(r["acc"] for r in resplits) and "pair re-splits (SS ratio" in proc.stdout

    ckpt = os.path.join(run_dir, "checkpoints", sorted(os.listdir(os.path.join(run_dir, "checkpoints")))[0])
    proc = subprocess.run([sys.executable, script, ckpt, "--out", str(out)], capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.load(open(out))["checkpoint"] == ckpt and proc.stdout.startswith(ckpt)

    empty = tmp_path / "not_a_run"
    empty.mkdir()
    proc = subprocess.run([sys.executable, script, str(empty)], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 2 and "holds no run" in proc.stderr and "Traceback" not in proc.stderr
