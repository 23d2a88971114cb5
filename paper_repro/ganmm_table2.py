"""Table 2 of the Mixture-of-GANs paper (Yu & Zhou, IJCAI 2018): one clustering of raw MNIST, cluster by cluster
— each cluster's majority label, size and purity for GANMM, GMM, DEC and GANMM (EM) (k-means beside them).

    python paper_repro/ganmm_table2.py --quick                # the bundled digits: minutes
    python paper_repro/ganmm_table2.py --data-dir DIR         # the 60,000 training images, seed 0

The GANMM and GANMM (EM) runs sit where ganmm_table1.py puts them (--out/mnist/METHOD/seed-N), so the same
--out as ganmm_table1.py's reuses its runs, and its baselines when they include the seed; otherwise the
baselines of the one seed are written to --out/mnist_seed-N_baselines.json and _dec.json. Clusters are listed
in the order of their majority label; the labels a method "loses" (no cluster's majority) are named under each
table. Writes ganmm_table2.json / .md / .png into --out.
"""
from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import ganmm_common  # noqa: E402

# the paper's Table 2: (majority label, size, purity) per cluster of one run
PAPER = {
    "GANMM": [(1, 5940, 0.9149), (7, 2984, 0.5666), (7, 5099, 0.6607), (6, 4982, 0.9379), (8, 4744, 0.6072),
              (2, 4958, 0.9255), (5, 4128, 0.6061), (4, 5526, 0.7144), (3, 5852, 0.6476), (0, 5787, 0.7665)],
    "GMM": [(3, 5894, 0.3174), (1, 6094, 0.4641), (4, 4169, 0.3118), (2, 5415, 0.3162), (5, 2895, 0.1565),
            (1, 4692, 0.4235), (0, 7773, 0.3435), (6, 5245, 0.3399), (8, 2016, 0.2787), (7, 5807, 0.3675)],
    "DEC": [(8, 5914, 0.1921), (7, 2219, 0.6237), (9, 1315, 0.5148), (1, 6185, 0.8791), (3, 8769, 0.2127),
            (7, 1649, 0.3596), (7, 3069, 0.6695), (4, 4317, 0.3141), (0, 14282, 0.3161), (9, 2285, 0.4512)],
    "GANMM (EM)": [(9, 510, 0.3941), (3, 9291, 0.2797), (9, 6098, 0.3296), (1, 15109, 0.3395), (7, 327, 0.9220),
                   (2, 16207, 0.2269), (6, 429, 0.9161), (None, 0, 0.0), (1, 40, 0.7250), (6, 1944, 0.9460)],
}


def parser():
    p = ganmm_common.parser(__doc__.split("\n\n")[0], full_seeds=(0,), one_seed=True)
    p.add_argument("--sae-epochs", type=int, default=None, metavar="N",
                   help="passes of DEC's autoencoder training (default: 100; --quick: 2), as ganmm_table1.py")
    return p


BASELINES = {"kmeans": "k-means", "gmm": "GMM", "dec": "DEC"}


def baselines_of_seed(out: str, data: list[str], method_args: list[str], seed: int) -> dict:
    """The baselines ganmm_table1.py wrote into ``out`` when they hold ``seed`` (and per-cluster rows), else
    the baselines of this one seed, run now."""
    name = "mnist_dec" if method_args else "mnist_baselines"
    path = os.path.join(out, name + ".json")
    if os.path.exists(path):
        with open(path) as f:
            rows = [r for result in json.load(f)["results"] for r in result["per_seed"]]
        if any(r["seed"] == seed and "per_cluster" in r for r in rows):
            seeds = sorted({r["seed"] for r in rows})
            return common.baselines(out, name, data, method_args, seeds)
    return common.baselines(out, f"mnist_seed-{seed}_{name.split('_')[1]}", data, method_args, [seed])


def lost(rows, classes: int) -> list[int]:
    """The labels no cluster has as its majority."""
    return sorted(set(range(classes)) - {r["label"] for r in rows if r["label"] is not None})


def section(label: str, rows: list[dict], classes: int) -> list[str]:
    ordered = sorted(rows, key=lambda r: (r["label"] is None, r["label"] or 0, -r["size"]))
    lines = [f"### {label}", "", "| label | instances | purity |", "|---|---|---|"]
    lines += [f"| {'–' if r['label'] is None else r['label']} | {r['size']} | {r['purity']:.4f} |" for r in ordered]
    return lines + ["", f"Labels lost: {', '.join(map(str, lost(rows, classes))) or 'none'}.", ""]


def bars(per_method: dict, path: str) -> None:
    """Each cluster's size (bar) and purity (its colour), clusters ordered by majority label, one panel per
    method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(per_method), figsize=(3.6 * len(per_method), 3.2), squeeze=False)
    for ax, (label, rows) in zip(axes[0], per_method.items()):
        ordered = sorted(rows, key=lambda r: (r["label"] is None, r["label"] or 0))
        colours = plt.cm.viridis([r["purity"] for r in ordered])
        ax.bar(range(len(ordered)), [r["size"] for r in ordered], color=colours)
        ax.set_xticks(range(len(ordered)), ["–" if r["label"] is None else r["label"] for r in ordered], fontsize=7)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("majority label (colour: purity)", fontsize=7)
    axes[0][0].set_ylabel("instances")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    a = parser().parse_args(argv)
    seed = common.seeds(a)[0]
    out = common.out_dir(a, "ganmm_table2")
    data = ganmm_common.mnist_data(a)
    sae_epochs = a.sae_epochs or (2 if a.quick else 100)
    per_method, commands = {}, []
    for method, label in ganmm_common.METHODS:
        args = [*data, "--method", method, "--seed", str(seed), *(ganmm_common.QUICK if a.quick else [])]
        run = common.cluster(ganmm_common.run_folder(out, "mnist", method, seed), args, a.cluster_args)
        per_method[label] = run["per_cluster"]
        commands.append(run["command"])
    dec_args = ["--method", "dec", "--sae-epochs", str(sae_epochs), *(ganmm_common.QUICK_DEC if a.quick else [])]
    for method_args, methods in (([], ("kmeans", "gmm")), (dec_args, ("dec",))):
        results = baselines_of_seed(out, data, method_args, seed)
        for method in methods:
            per_method[BASELINES[method]] = next(r["per_cluster"] for r in results[method]["per_seed"]
                                                 if r["seed"] == seed)
            commands += [results[method]["command"]] if results[method]["command"] not in commands else []
    order, classes = ["GANMM", "GMM", "DEC", "GANMM (EM)", "k-means"], 10
    lines = [f"# Mixture-of-GANs Table 2 — one run per method (seed {seed}), {common.data_label(a)}", ""]
    for label in order:
        lines += section(f"{label} (measured)", per_method[label], classes)
        if label in PAPER:
            paper = [{"label": lb, "size": n, "purity": p} for lb, n, p in PAPER[label]]
            lines += section(f"{label} (paper)", paper, classes)
    bars({label: per_method[label] for label in order}, os.path.join(out, "ganmm_table2.png"))
    lines += ["Commands:", ""] + [f"- `{c}`" for c in commands]
    common.write_report(out, "ganmm_table2", {"seed": seed, "data": common.data_label(a), "measured": per_method,
                                              "paper": PAPER, "quick": a.quick}, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
