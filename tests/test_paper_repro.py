"""Smoke tests: every paper_repro script runs its --quick path end to end (with a tiny schedule on
top), writes its JSON / Markdown / PNG, and the Colab notebook converts with nbconvert. The scripts run in
this process through their main(argv), as `python paper_repro/NAME.py ARGV` would run them (one script's
refusal is checked as a program too)."""
import importlib
import json
import os
import subprocess
import sys

import pytest

from conftest import stop_handlers_kept

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = "--iterations 1 --m-epochs 1 --e-steps 5 --batch-size 32 --limit 300 --no-export --quiet --no-xla"  # any method


def _run_main(name, *argv):
    """paper_repro/NAME.py ARGV through its main() in this process; it must end with exit status 0."""
    if os.path.join(ROOT, "paper_repro") not in sys.path:
        sys.path.insert(0, os.path.join(ROOT, "paper_repro"))
    module = importlib.import_module(name.removesuffix(".py"))
    with stop_handlers_kept():
        assert module.main([str(a) for a in argv]) == 0


def _script(name, out, *args):
    _run_main(name, "--quick", "--out", out, "--cluster-args", TINY, *args)


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
        for col in ("mnist_k10", "mnist_100"):  # each cell is its run's own summary.json error, as a percentage
            run_error = json.load(open(tmp_path / col / "seed-0" / "summary.json"))["error"]
            assert errs[col]["per_seed"] == [run_error] and f"{100 * run_error:.2f}" in md
        assert set(report["baselines_k10"]) == {"kmeans", "gmm"}
        assert 0.0 <= report["labels_only"]["mnist_100"]["mean"] < 0.5 and "E-net on the labels only" in md
        assert "GAN-EM (measured)" in md and "GAN-EM (quoted)" in md and "4.20 ± 0.51" in md
        ganmm = json.load(open(tmp_path / "ganmm_k10" / "seed-0" / "summary.json"))
        assert ganmm["method"] == "ganmm" and report["mixtures_k10"]["GANMM (measured)"]["per_seed"] == [
            ganmm["error"]] and f"| GANMM (measured) | {100 * ganmm['error']:.2f} |" in md
        assert len(report["mixtures_k10"]["DEC (measured)"]["per_seed"]) == 1 and "--method dec" in md


def test_colab_notebook_converts_to_a_script(tmp_path):
    path = os.path.join(ROOT, "paper_repro", "colab.ipynb")
    nb = json.load(open(path))
    assert nb["nbformat"] == 4 and any("pip install" in "".join(c["source"]) for c in nb["cells"])
    proc = subprocess.run([sys.executable, "-m", "nbconvert", "--to", "script", path, "--output-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    script = open(tmp_path / "colab.py").read()
    assert "table1.py --quick" in script and "list_physical_devices('GPU')" in script
    assert "ganmm_table1.py" in script and "dnnmm_cifar_celeba.py" in script  # every method has its cells


def test_cluster_args_replace_the_scripts_own_flags_in_the_command():
    """A flag given again through --cluster-args is run and recorded once, with the later value."""
    sys.path.insert(0, os.path.join(ROOT, "paper_repro"))
    import common

    merged = common.merged_flags(["--dataset", "mnist", "--recipe", "paper", "--seed", "3", "--lr-decay", "-1"],
                                 "--recipe authors --e-augment --lr-decay 0.95 --lr-e=6e-4 --lr-e=1e-3")
    assert merged == ["--dataset", "mnist", "--seed", "3", "--recipe", "authors", "--e-augment",
                      "--lr-decay", "0.95", "--lr-e=1e-3"]
    assert common.merged_flags(["--a", "1"]) == ["--a", "1"]


def test_a_one_picture_script_refuses_several_seeds(tmp_path):
    """fig3 draws one run: several --seeds stop it with a one-line error before anything is written."""
    out = tmp_path / "fig3"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "paper_repro", "fig3_dimension_reduction.py"),
                           "--quick", "--seeds", "1", "2", "--out", str(out)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0 and "--seeds takes one seed" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_a_script_imports_tensorflow_as_quietly_as_the_cli(tmp_path):
    """A script's runs print what `gan-em` prints: DEC's module imports TensorFlow, so its missing-autoencoder
    error must be the only line on stderr (Keras, imported by the runner, used to load TensorFlow loudly first)."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import common; sys.exit(common.gan_em(['baseline', "
            "'--dataset', 'digits', '--method', 'dec', '--sae', sys.argv[2]]))")
    proc = subprocess.run([sys.executable, "-c", code, os.path.join(ROOT, "paper_repro"), str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr[-2000:]
    assert "--sae" in proc.stderr

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


def test_table1_runs_each_column_with_its_recipe():
    """--recipes cpu: cpu for K = 10, cpu-grow (grown from the 10 classes) for K = 20/30, cpu-semi for labels;
    --recipes paper (the default): §5.1 everywhere."""
    sys.path.insert(0, os.path.join(ROOT, "paper_repro"))
    import common
    import table1

    def parse(*argv):
        return table1.parser().parse_args(["--data-dir", "D", "--mnist-split", "test", *argv])

    cpu = parse("--recipes", "cpu")
    assert table1.clustering_args(10, cpu)[-4:] == ["--recipe", "cpu", "--clusters", "10"]
    assert table1.clustering_args(30, cpu)[-4:] == ["--recipe", "cpu-grow", "--clusters", "30"]
    assert common.mnist_args(cpu, "semi")[-2:] == ["--recipe", "cpu-semi"]
    assert table1.clustering_args(20, parse())[-4:] == ["--recipe", "paper", "--clusters", "20"]


GANMM_TINY = "--iterations 1 --e-steps 5 --limit 200 --clusters 3 --no-xla --quiet"


def test_ganmm_tables_and_figure_2_share_their_runs(tmp_path, capsys):
    """ganmm_table1 runs GANMM and GANMM (EM) and the four baselines; ganmm_table2 and ganmm_fig2_samples with the
    same --out reuse those runs (their commands match) and add the per-cluster table and the samples panel."""
    for script, outputs in (("ganmm_table1.py", ["ganmm_table1.json", "ganmm_table1.md", "ganmm_table1.png"]),
                            ("ganmm_table2.py", ["ganmm_table2.json", "ganmm_table2.md", "ganmm_table2.png"]),
                            ("ganmm_fig2_samples.py", ["ganmm_fig2.json", "ganmm_fig2.md", "ganmm_fig2_samples.png"])):
        _run_main(script, "--quick", "--out", tmp_path, "--cluster-args", GANMM_TINY)
        printed = capsys.readouterr().out
        for name in outputs:
            assert os.path.getsize(tmp_path / name) > 100, name
        if script != "ganmm_table1.py":
            assert "+ gan-em cluster" not in printed  # table 1's runs were reused, not run again
    table1 = json.load(open(tmp_path / "ganmm_table1.json"))
    run = json.load(open(tmp_path / "mnist" / "ganmm" / "seed-0" / "summary.json"))
    assert table1["measured"]["GANMM"]["purity"][0] == run["purity"]
    assert set(table1["measured"]) == {"GANMM", "GANMM (EM)", "k-means", "GMM", "DEC"}
    md = open(tmp_path / "ganmm_table1.md").read()
    assert "| GANMM | " in md and "0.6430 / 0.4924 / 0.6159" in md and "--method dec" in md
    table2 = json.load(open(tmp_path / "ganmm_table2.json"))
    assert table2["measured"]["GANMM"] == run["per_cluster"] and sum(r["size"] for r in run["per_cluster"]) == 200
    assert len(table2["measured"]["DEC"]) == 10 and "Labels lost:" in open(tmp_path / "ganmm_table2.md").read()
    assert not list(tmp_path.glob("mnist_seed-*"))  # table 1's baselines held seed 0: none run again


def test_ganmm_figs3_5_train_on_a_share_and_assign_all_the_data(tmp_path):
    """Figs. 3-5: a run trained on 10 % of the digits, all 1,797 of them assigned through its SavedModel."""
    _run_main("ganmm_figs3_5_data_scale.py", "--quick", "--out", tmp_path, "--fractions", "0.1", "--cluster-args",
              GANMM_TINY.replace("--limit 200 ", ""))
    assert json.load(open(tmp_path / "10pct" / "ganmm" / "seed-0" / "summary.json"))["n_samples"] == 180
    report = json.load(open(tmp_path / "ganmm_figs3_5.json"))
    assert report["assigned"] == 1797 and set(report["measured"]) == {"GANMM", "GANMM (EM)", "k-means", "GMM"}
    assert set(report["measured"]["GANMM"]["0.1"]) == {"purity", "rand", "ari", "nmi_geometric", "nmi"}
    assert os.path.getsize(tmp_path / "ganmm_figs3_5.png") > 100
    assert "| 10 % |" in open(tmp_path / "ganmm_figs3_5.md").read()


def test_dnnmm_mnist_quick_writes_the_table_and_a_curve_per_class_count(tmp_path):
    tiny = "--iterations 1 --m-epochs 1 --batch-size 32 --no-export --quiet --no-xla"  # no --e-steps: DNN-MM has none
    _run_main("dnnmm_mnist.py", "--quick", "--out", tmp_path, "--cluster-args", tiny)
    report = json.load(open(tmp_path / "dnnmm_mnist.json"))
    md = open(tmp_path / "dnnmm_mnist.md").read()
    assert os.path.getsize(tmp_path / "dnnmm_mnist_3classes.png") > 100
    for method in ("minmax-em", "clustergan"):
        for alpha in ("0.0", "0.1"):
            run = json.load(open(tmp_path / "classes-3" / method / f"alpha-{alpha}" / "seed-0" / "summary.json"))
            assert report["results"]["3"][method][alpha]["acc"] == [run["acc"]]
            assert run["task"] == ("clustering" if alpha == "0.0" else "semi-supervised")
    assert md.count("gan-em cluster --method") == 4 and "--labels 0.1" in md


def test_dnnmm_tsne_quick_puts_the_two_latent_spaces_side_by_side(tmp_path):
    tiny = "--iterations 1 --m-epochs 1 --batch-size 32 --quiet --no-xla"
    _run_main("dnnmm_tsne.py", "--quick", "--out", tmp_path, "--cluster-args", tiny)
    report = json.load(open(tmp_path / "dnnmm_tsne.json"))
    for method in ("minmax-em", "clustergan"):
        run = json.load(open(tmp_path / "classes-3" / method / "alpha-0.5" / "seed-0" / "summary.json"))
        assert run["task"] == "semi-supervised" and report["acc"][method] == run["acc"]
    assert os.path.getsize(tmp_path / "dnnmm_tsne.png") > 1000
    assert open(tmp_path / "dnnmm_tsne.md").read().count("gan-em cluster --method") == 2


def test_dnnmm_cifar_celeba_reads_both_sets_through_tfds(tmp_path, monkeypatch):
    """Offline through tfds.testing.mock_data (random images and labels): CIFAR-10's classes 0–4 and CelebA's five
    hair classes, a few images each, both methods, in this process."""
    import tensorflow_datasets as tfds

    tiny = "--iterations 1 --m-epochs 1 --batch-size 8 --image-size 16 --no-export --quiet --no-xla --no-tensorboard"
    with tfds.testing.mock_data(num_examples=200):
        _run_main("dnnmm_cifar_celeba.py", "--quick", "--out", tmp_path, "--per-class", "4", "--alphas", "0",
                  "--cluster-args", tiny)
    report = json.load(open(tmp_path / "dnnmm_cifar_celeba.json"))
    for name in ("cifar10", "celeb_a"):
        for method in ("minmax-em", "clustergan"):
            run = json.load(open(tmp_path / name / method / "alpha-0.0" / "seed-0" / "summary.json"))
            assert run["n_samples"] == 20 and report["results"][name][method]["0.0"]["acc"] == [run["acc"]]
        assert os.path.getsize(tmp_path / f"dnnmm_{name}.png") > 100


def test_ganmm_tables4_5_cluster_a_drawn_subset_of_a_larger_uci_file(tmp_path):
    """Tables 4-5 --quick on a made-up 'artificial_characters.npz' of 700 rows (three blobs, raw feature scales):
    600 of them are drawn into --out/data, and every row of the table (GANMM, GANMM (EM), k-means, GMM, DEC)
    clusters that file."""
    import numpy as np

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), [300, 200, 200])
    x = rng.normal(size=(700, 4)) + 6.0 * np.eye(3, 4)[y] * [1.0, 10.0, 100.0, 1.0]
    uci = tmp_path / "uci"
    uci.mkdir()
    np.savez(uci / "artificial_characters.npz", x=x, y=y)
    out = tmp_path / "out"
    _run_main("ganmm_tables4_5.py", "--quick", "--out", out, "--uci-dir", uci, "--sets", "artificial_characters",
              "--cluster-args", GANMM_TINY.replace("--limit 200 ", ""))
    with np.load(out / "data" / "artificial_characters_600.npz") as drawn:
        assert drawn["x"].shape == (600, 4) and np.isin(drawn["x"][:, 0], x[:, 0]).all()
    run = json.load(open(out / "artificial_characters" / "ganmm" / "seed-0" / "summary.json"))
    assert run["n_samples"] == 600
    for method, recipe in (("ganmm", "vectors-long"), ("ganmm-em", "vectors")):  # then --quick, --cluster-args
        config = json.load(open(out / "artificial_characters" / method / "seed-0" / "config.json"))
        assert config["recipe"]["name"] == recipe and config["schedule"]["iterations"] == 1
    report = json.load(open(out / "ganmm_tables4_5.json"))
    measured = report["measured"]["artificial_characters"]
    assert set(measured) == {"GANMM", "GANMM (EM)", "k-means", "GMM", "DEC"}
    assert measured["GANMM"]["purity"][0] == run["purity"]
    md = open(out / "ganmm_tables4_5.md").read()
    assert "| 0.2568 / 0.0887 / 0.2027 |" in md and "artificial_characters_600.npz" in md
    assert "--recipe vectors-long" in md
    assert os.path.getsize(out / "ganmm_tables4_5.png") > 100


def test_ganmm_tables4_5_names_the_missing_file(tmp_path):
    with pytest.raises(SystemExit, match="no image_segmentation.npz in --uci-dir"):
        _run_main("ganmm_tables4_5.py", "--quick", "--out", tmp_path / "out", "--uci-dir", tmp_path)


def test_ganmm_table3_clusters_the_autoencoder_codes_and_starts_dec_from_its_encoder(tmp_path):
    """Table 3 --quick: one autoencoder on the bundled digits (--out/sae), its 10-D codes clustered by every
    method, DEC fine-tuning that autoencoder's encoder on the images."""
    import numpy as np

    _run_main("ganmm_table3.py", "--quick", "--out", tmp_path, "--sae-epochs", "1", "--cluster-args", GANMM_TINY)
    with np.load(tmp_path / "sae" / "codes.npz") as codes:
        assert codes["x"].shape == (1797, 10)
    run = json.load(open(tmp_path / "codes" / "ganmm" / "seed-0" / "summary.json"))
    report = json.load(open(tmp_path / "ganmm_table3.json"))
    assert report["measured"]["GANMM"]["purity"][0] == run["purity"] and report["sae_epochs"] == 1
    md = open(tmp_path / "ganmm_table3.md").read()
    assert "gan-em embed-sae" in md and f"--sae {tmp_path / 'sae'}" in md and "| 0.8908 / 0.8361 / 0.8654 |" in md
