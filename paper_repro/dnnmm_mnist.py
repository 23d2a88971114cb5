"""DNN-MM's MNIST figure (Pande & Awate, slides: "MNIST Dataset: 5 & 7 classes, 1000 images of each digit"):
accuracy, ARI and NMI against the supervision level α for MinMax+EM and ClusterGAN(ss).

    python paper_repro/dnnmm_mnist.py --quick                 # bundled digits, 3 classes: minutes
    python paper_repro/dnnmm_mnist.py --data-dir DIR          # MNIST, 5 and 7 classes, α 0 … 0.5, seeds 0 1 2

Data: the digits 0..C−1 (C = 5 or 7) of MNIST's training split, the first 1,000 images of each in the file's
order (``--classes 0,…,C−1 --limit 1000``): the same images for every seed. α > 0: round(α · N)
labelled images (balanced per class, picked by the seed; ``--labels α``) and the accuracy of the
predicted class on the unlabelled rest, no matching; α = 0: clustering, Hungarian ACC. Each method runs its
default recipe (minmax-em: ``tsne-start``; clustergan: ``official``).
Writes dnnmm_mnist.json / .md and one PNG per class count (the three scores against α, mean ± sd over the
seeds) into --out.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

METHODS = {"minmax-em": "MinMax+EM", "clustergan": "ClusterGAN(ss)"}
ALPHAS = (0.0, 0.05, 0.1, 0.2, 0.5)
QUICK = {"classes": (3,), "alphas": (0.0, 0.1), "per_class": 100, "schedule": ["--iterations", "3"]}


def parser():
    p = common.parser(__doc__.split("\n\n")[0], mnist_split=None, recipes=False)
    p.add_argument("--data-dir", help="MNIST IDX folder (train-*/t10k-* files) instead of a tfds download")
    p.add_argument("--class-counts", type=int, nargs="+", default=None, metavar="C",
                   help="class counts, the digits 0..C-1 each (default: 5 7; --quick: 3)")
    p.add_argument("--alphas", type=float, nargs="+", default=None, metavar="α",
                   help=f"supervision levels (default: {' '.join(map(str, ALPHAS))}; --quick: 0 0.1)")
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS), help="methods (default: both)")
    return p


def data_args(a, classes: int) -> list[str]:
    ids = ",".join(map(str, range(classes)))
    if a.quick:
        return ["--dataset", "digits", "--classes", ids, "--limit", str(QUICK["per_class"])]
    return (["--dataset", "mnist", "--split", "train", "--classes", ids, "--limit", "1000"]
            + (["--data-dir", a.data_dir] if a.data_dir else []))


def sweep_alphas(root: str, data: list[str], classes: int, methods, alphas, seeds, extra: str) -> dict:
    """{method: {α: {acc, ari, nmi: per seed; commands}}} of the runs in root/METHOD/alpha-α/seed-N."""
    rows = {}
    for method in methods:
        rows[method] = {}
        for alpha in alphas:
            args = ["--method", method, *data, "--clusters", str(classes)]
            args += ["--labels", str(alpha)] if alpha > 0 else []
            runs = common.sweep(os.path.join(root, method), f"alpha-{alpha}", args, seeds, extra)
            rows[method][alpha] = {score: [r[score] for r in runs] for score in ("acc", "ari", "nmi")}
            rows[method][alpha]["commands"] = [r["command"] for r in runs]
    return rows


def table(title: str, rows: dict, alphas) -> list[str]:
    """Markdown: mean ± sd of ACC, ARI and NMI per method and α, then one command per row."""
    md = [f"## {title}", "", "| method | α | ACC | ARI | NMI |", "|---|---|---|---|---|"]
    for method, by_alpha in rows.items():
        for alpha in alphas:
            cells = [common.mean_sd(by_alpha[alpha][s]) for s in ("acc", "ari", "nmi")]
            md.append(f"| {METHODS[method]} | {alpha} | "
                      + " | ".join(f"{m:.3f}" + (f" ± {sd:.3f}" if sd is not None else "") for m, sd in cells) + " |")
    md += ["", "Commands (one per row, each run once per seed with its --seed and --out):", ""]
    md += [f"- `{by_alpha[alpha]['commands'][0]}`" for by_alpha in rows.values() for alpha in alphas]
    return md + [""]


def plot(rows: dict, title: str, alphas: list, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for ax, score in zip(axes, ("acc", "ari", "nmi")):
        for method, label in METHODS.items():
            if method not in rows:
                continue
            means, sds = zip(*(common.mean_sd(rows[method][alpha][score]) for alpha in alphas))
            ax.errorbar(alphas, means, yerr=[s or 0 for s in sds], marker="o", capsize=3, label=label)
        ax.set_xlabel("supervision level α")
        ax.set_title(score.upper())
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    a = parser().parse_args(argv)
    out, seeds = common.out_dir(a, "dnnmm_mnist"), common.seeds(a)
    counts = a.class_counts or (QUICK["classes"] if a.quick else (5, 7))
    alphas = a.alphas or (QUICK["alphas"] if a.quick else ALPHAS)
    extra = (" ".join(QUICK["schedule"]) + " " if a.quick else "") + a.cluster_args
    payload, md = {"seeds": seeds, "alphas": list(alphas), "results": {}}, []
    for classes in counts:
        rows = sweep_alphas(os.path.join(out, f"classes-{classes}"), data_args(a, classes), classes, a.methods,
                            alphas, seeds, extra)
        payload["results"][classes] = rows
        plot(rows, f"MNIST, {classes} classes", list(alphas), os.path.join(out, f"dnnmm_mnist_{classes}classes.png"))
        md += table(f"{classes} classes × {QUICK['per_class'] if a.quick else 1000} images", rows, alphas)
    md += [f"Seeds {' '.join(map(str, seeds))}; the slides give these as figures only (no numbers)."]
    common.write_report(out, "dnnmm_mnist", payload, md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
