"""Table 1 of the paper: error (%) of GAN-EM, k-means, GMM, GANMM and DEC, measured, beside the paper's rows.

    python paper_repro/table1.py --quick                     # CPU, digits, ~3 min
    python paper_repro/table1.py --data-dir DIR              # paper settings, MNIST IDX files (GPU)
    python paper_repro/table1.py --data-dir DIR --mnist-split test --columns mnist_k10   # MNIST-test only
    python paper_repro/table1.py --columns mnist_k10 svhn_1000
    python paper_repro/table1.py --data-dir DIR --recipes cpu --columns mnist_k10 mnist_k20 mnist_k30   # 2 CPU cores

Columns (as in the paper):
  mnist_k10 / mnist_k20 / mnist_k30  unsupervised clustering error, Eq. 17 (K = 20, 30: each cluster
                                     mapped to its majority class)
  mnist_100 / mnist_1000             semi-supervised (--labels 100 / 1000) classification error on
                                     the test split (--quick or --mnist-split test: on the unlabelled
                                     rest of the data)
  svhn_1000                          semi-supervised, SVHN (tfds svhn_cropped), 1000 labels
  celeba_unsup                       K = 2 clustering of CelebA (tfds celeb_a, test split), error
                                     averaged over the 40 attributes
  celeba_100                         semi-supervised, 100 labels, one run per attribute, averaged
                                     (test split: scored on its 19,862 unlabelled faces)
Rows GAN-EM, k-means, GMM, GANMM and DEC are measured (mean ± sd over --seeds; GANMM and DEC in the K = 10
column: `gan-em cluster --method ganmm` with its default recipe, and `gan-em baseline --method dec` from an
autoencoder trained for each seed; --no-ganmm-rows skips both, GANMM on 28x28 images being a GPU job), and in
the semi-supervised MNIST columns "E-net on the labels only" (gan-em baseline --method labels-only: GAN-EM's
E-net trained on the same labelled examples without the GAN, scored on the same images); every other row is
quoted from the paper and marked "quoted". --quick runs the MNIST columns on the bundled digits only.
With --recipes cpu the columns run the CPU recipes: cpu (K = 10), cpu-grow (K = 20, 30: 10 clusters grown into
K after EM iteration 40), cpu-semi (labels), authors (CelebA, K = 2).
Writes table1.json and table1.md into --out.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

COLUMNS = ("mnist_k10", "mnist_k20", "mnist_k30", "mnist_100", "mnist_1000", "svhn_1000", "celeba_unsup",
           "celeba_100")
QUICK_COLUMNS = COLUMNS[:5]
HEADERS = {"mnist_k10": "MNIST unsup. K=10", "mnist_k20": "K=20", "mnist_k30": "K=30", "mnist_100": "MNIST 100 labels",
           "mnist_1000": "MNIST 1000 labels", "svhn_1000": "SVHN 1000 labels", "celeba_unsup": "CelebA unsup.",
           "celeba_100": "CelebA 100 labels"}
# Table 1 of the paper, error in %, quoted (K = 10 unless the column says otherwise).
PAPER = {
    "GAN-EM": {"mnist_k10": "4.20 ± 0.51", "mnist_k20": "4.04 ± 0.42", "mnist_k30": "3.97 ± 0.37",
               "mnist_100": "1.09 ± 0.18", "mnist_1000": "1.03 ± 0.15", "svhn_1000": "6.05 ± 0.26",
               "celeba_unsup": "42.09", "celeba_100": "28.82"},
    "K-means": {"mnist_k10": "46.51"},
    "GMM": {"mnist_k10": "32.61 ± 0.06"},
    "DEC": {"mnist_k10": "15.7"},
    "VAE": {"mnist_100": "3.33 ± 0.14", "mnist_1000": "2.40 ± 0.02", "svhn_1000": "36.02 ± 0.10",
            "celeba_100": "45.38"},
    "AAE": {"mnist_k30": "4.10 ± 1.13", "mnist_100": "1.90 ± 0.10", "mnist_1000": "1.60 ± 0.08",
            "svhn_1000": "17.70 ± 0.30", "celeba_unsup": "42.88", "celeba_100": "31.03"},
    "CatGAN": {"mnist_k20": "4.27", "mnist_100": "1.91 ± 0.10", "mnist_1000": "1.73 ± 0.28", "celeba_unsup": "44.57",
               "celeba_100": "34.78"},
    "InfoGAN": {"mnist_k10": "5.00 (K not given)"},
    "Improved GAN": {"mnist_100": "0.93 ± 0.06", "svhn_1000": "8.11 ± 1.30"},
    "VaDE": {"mnist_k10": "5.54", "celeba_unsup": "43.64"},
    "PixelGAN": {"mnist_k30": "5.27 ± 1.81", "mnist_100": "1.08 ± 0.15", "svhn_1000": "6.96 ± 0.55",
                 "celeba_unsup": "44.27", "celeba_100": "32.54"},
    "GANMM": {"mnist_k10": "35.70 ± 0.45", "celeba_unsup": "49.32"},
}
MNIST_CLASSES = 10
CELEBA_ATTRIBUTES_ENV = "GAN_EM_CELEBA_ATTRIBUTES"  # optional comma list to run fewer attributes


def celeba_attributes() -> list[str]:
    """The 40 attribute names of tfds celeb_a (from its builder's feature spec; no download)."""
    import tensorflow_datasets as tfds

    names = sorted(tfds.builder("celeb_a").info.features["attributes"].keys())
    chosen = os.environ.get(CELEBA_ATTRIBUTES_ENV)
    return [n for n in names if not chosen or n in chosen.split(",")]


def clustering_args(k: int, a) -> list[str]:
    """``gan-em cluster`` flags of the MNIST K-cluster column: K above the classes grows from them (cpu-grow)."""
    return common.mnist_args(a, "grow" if k > MNIST_CLASSES else "cluster") + ["--clusters", str(k)]


def run_column(col: str, a, out: str, seeds: list[int]) -> dict:
    """GAN-EM error (fraction) per seed for one column."""
    extra = a.cluster_args
    if col.startswith("mnist_k"):
        runs = common.sweep(out, col, clustering_args(int(col[len("mnist_k"):]), a), seeds, extra)
        return {"errors": [r["error"] for r in runs], "runs": runs}
    if col in ("mnist_100", "mnist_1000"):
        labels = col.split("_")[1]
        runs = common.sweep(out, col, common.mnist_args(a, "semi") + ["--labels", labels], seeds, extra)
        return {"errors": [r["error"] for r in runs], "runs": runs}
    if col == "svhn_1000":
        args = ["--dataset", "svhn_cropped", "--split", "train", "--labels", "1000"] + common.recipe(a, "semi")
        runs = common.sweep(out, col, args, seeds, extra)
        return {"errors": [r["error"] for r in runs], "runs": runs}
    if col == "celeba_unsup":
        args = ["--dataset", "celeb_a", "--clusters", "2"] + common.recipe(a, "pair")
        runs = common.sweep(out, col, args, seeds, extra)
        return {"errors": [r["mean_attribute_error"] for r in runs], "runs": runs}
    if col == "celeba_100":
        per_attr = {}
        for attr in celeba_attributes():
            # the test split (19,962 faces; the 162,770 training faces take ~8 GB as float32 at 64x64):
            # 100 labelled faces, scored on the other 19,862
            args = ["--dataset", "celeb_a", "--clusters", "2", "--attribute", attr, "--labels", "100"] + \
                common.recipe(a, "semi")
            per_attr[attr] = [r["error"] for r in common.sweep(out, f"{col}/{attr}", args, seeds, extra)]
        per_seed = [sum(v[i] for v in per_attr.values()) / len(per_attr) for i in range(len(seeds))]
        return {"errors": per_seed, "per_attribute": per_attr}
    raise SystemExit(f"unknown column {col}")


def parser():
    """The shared paper_repro flags plus this script's own."""
    p = common.parser(__doc__.split("\n\n")[0])
    p.add_argument("--columns", nargs="+", choices=COLUMNS, help="columns to run (default: all; --quick: MNIST ones)")
    p.add_argument("--no-ganmm-rows", action="store_true",
                   help="skip the measured GANMM and DEC rows of the K = 10 column (GANMM on 28x28 images needs a "
                        "GPU: hours per run on a CPU)")
    return p


def ganmm_and_dec(a, out: str, seeds: list[int]) -> dict:
    """The measured GANMM and DEC rows of the K = 10 column: {row: result with "errors" and "commands"}."""
    import ganmm_common

    data = common.mnist_data(a) + ["--clusters", str(MNIST_CLASSES)]
    runs = common.sweep(out, "ganmm_k10", data + ["--method", "ganmm"] + (ganmm_common.QUICK if a.quick else []),
                        seeds, a.cluster_args)
    dec_args = ["--method", "dec"] + (["--sae-epochs", "2", *ganmm_common.QUICK_DEC] if a.quick else [])
    dec = common.baselines(out, "dec_k10", data, dec_args, seeds)["dec"]
    return {"GANMM (measured)": {"errors": [r["error"] for r in runs], "commands": [r["command"] for r in runs]},
            "DEC (measured)": {"errors": [r["error"] for r in dec["per_seed"]], "commands": [dec["command"]]}}


def main(argv=None) -> int:
    a = parser().parse_args(argv)
    out = common.out_dir(a, "table1")
    seeds = common.seeds(a)
    columns = a.columns or (QUICK_COLUMNS if a.quick else COLUMNS)
    if a.quick and set(columns) - set(QUICK_COLUMNS):
        raise SystemExit("--quick runs only the MNIST columns (on digits); SVHN and CelebA need tfds downloads")
    measured = {col: run_column(col, a, out, seeds) for col in columns}
    base = (common.baselines(out, "baselines_k10", common.mnist_data(a), ["--clusters", "10"], seeds)
            if "mnist_k10" in columns else {})
    # the E-net on the labelled examples alone, same labels and held-out data as GAN-EM's column
    labels_only = {col: common.baselines(out, f"labels_only_{col}", common.mnist_data(a, semi_supervised=True),
                                         ["--method", "labels-only", "--labels", col.split("_")[1]],
                                         seeds)["labels-only"]
                   for col in columns if col in ("mnist_100", "mnist_1000")}

    mixtures = ganmm_and_dec(a, out, seeds) if "mnist_k10" in columns and not a.no_ganmm_rows else {}

    cells = {"GAN-EM (measured)": {c: common.pct(*common.mean_sd(m["errors"])) for c, m in measured.items()}}
    for method, label in (("kmeans", "k-means (measured)"), ("gmm", "GMM (measured)")):
        if method in base:
            err = base[method]["error"]
            cells[label] = {"mnist_k10": common.pct(err["mean"], err["sd"] if len(seeds) > 1 else None)}
    for row, result in mixtures.items():
        cells[row] = {"mnist_k10": common.pct(*common.mean_sd(result["errors"]))}
    if labels_only:
        cells["E-net on the labels only (measured)"] = {
            col: common.pct(r["error"]["mean"], r["error"]["sd"] if len(seeds) > 1 else None)
            for col, r in labels_only.items()}
    for row, vals in PAPER.items():
        cells[f"{row} (quoted)"] = vals
    lines = [f"# Table 1 — error (%), mean ± sd over seeds {seeds}", "",
             f"Data: {common.data_label(a)}." + (" SVHN / CelebA columns need tfds downloads and are not part of "
                                                  "--quick." if a.quick else ""), "",
             "| method | " + " | ".join(HEADERS[c] for c in columns) + " |",
             "|---|" + "---|" * len(columns)]
    for row, vals in cells.items():
        lines.append(f"| {row} | " + " | ".join(vals.get(c, "–") for c in columns) + " |")
    lines += ["", "Commands (one per measured column and seed, then the baselines):", ""]
    lines += [f"- `{r['command']}`" for m in measured.values() for r in m.get("runs", [])]
    lines += sorted({f"- `{r['command']}`" for r in [*base.values(), *labels_only.values()]})
    lines += [f"- `{c}`" for result in mixtures.values() for c in result["commands"]]
    payload = {"columns": columns, "seeds": seeds, "data": common.data_label(a), "quick": a.quick,
               "measured_error": {c: {"per_seed": m["errors"], "mean_sd": common.mean_sd(m["errors"])}
                                  for c, m in measured.items()},
               "per_attribute": {c: m["per_attribute"] for c, m in measured.items() if "per_attribute" in m},
               "baselines_k10": {k: v.get("error") for k, v in base.items()},
               "labels_only": {col: r["error"] for col, r in labels_only.items()},
               "mixtures_k10": {row: {"per_seed": r["errors"], "mean_sd": common.mean_sd(r["errors"])}
                                for row, r in mixtures.items()}, "paper": PAPER}
    common.write_report(out, "table1", payload, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
