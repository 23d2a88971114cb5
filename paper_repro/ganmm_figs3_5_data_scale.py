"""Figures 3, 4 and 5 of the Mixture-of-GANs paper (Yu & Zhou, IJCAI 2018): each method trained on 100 %, 50 %
and 10 % of raw MNIST and then assigning all of it; purity (Fig. 3), ARI (Fig. 4) and NMI (Fig. 5).

    python paper_repro/ganmm_figs3_5_data_scale.py --quick         # the bundled digits, one seed: minutes
    python paper_repro/ganmm_figs3_5_data_scale.py --data-dir DIR  # the 60,000 training images, seeds 0-4

GANMM and GANMM (EM) train with ``gan-em cluster --limit N`` (the first N images of the split) and assign every
image through the run's exported SavedModel (its ``assign`` endpoint); k-means and the diagonal GMM (the
``gan-em baseline`` settings) fit the same N images and predict all. DEC is not in these figures here. The paper
repeats each setting five times (seeds 0-4 here). ARI is the adjusted Rand index (the values the paper's "ARI"
matches); NMI the geometric one (the paper's). Writes ganmm_figs3_5.json / .md and ganmm_figs3_5.png.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import ganmm_common  # noqa: E402

FRACTIONS = (1.0, 0.5, 0.1)
FIGURES = (("purity", "Fig. 3: purity"), ("ari", "Fig. 4: ARI"), ("nmi_geometric", "Fig. 5: NMI"))


def images(a):
    """The images and labels the runs draw from (what ``gan-em cluster`` loads with the script's data flags)."""
    from gan_em_tf import data
    from gan_em_tf.config import DataConfig

    if a.quick:
        return data.load(DataConfig(dataset="digits"))
    return data.load(DataConfig(dataset="mnist", split=a.mnist_split, data_dir=a.data_dir))


def assign_all(run_dir: str, x):
    """Every image's cluster from the run's SavedModel (``assign``), in batches."""
    import numpy as np
    import tensorflow as tf

    model = tf.saved_model.load(os.path.join(run_dir, "saved_model"))
    return np.concatenate([model.assign(tf.constant(x[i:i + 1000]))["cluster"].numpy()
                           for i in range(0, len(x), 1000)])


def curves(measured: dict, fractions: list[float], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(FIGURES), figsize=(4.5 * len(FIGURES), 3.4))
    for ax, (score, title) in zip(axes, FIGURES):
        for label, by_fraction in measured.items():
            means = [by_fraction[str(f)][score][0] for f in fractions]
            sds = [by_fraction[str(f)][score][1] or 0.0 for f in fractions]
            ax.errorbar([100 * f for f in fractions], means, yerr=sds, marker="o", capsize=3, label=label)
        ax.set_xlabel("% of the data trained on")
        ax.set_title(title)
        ax.invert_xaxis()
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    p = ganmm_common.parser(__doc__.split("\n\n")[0], full_seeds=(0, 1, 2, 3, 4))
    p.add_argument("--fractions", type=float, nargs="+", default=list(FRACTIONS), metavar="F",
                   help="shares of the data to train on, each in (0, 1] (default: 1 0.5 0.1, the paper's)")
    a = p.parse_args(argv)
    if not all(0 < f <= 1 for f in a.fractions):
        raise SystemExit(f"ganmm_figs3_5_data_scale.py: error: --fractions must lie in (0, 1], got {a.fractions}")
    out, seeds = common.out_dir(a, "ganmm_figs3_5"), common.seeds(a)
    from gan_em_tf import baselines, metrics

    ds = images(a)
    scores = {label: {} for label in ["GANMM", "GANMM (EM)", "k-means", "GMM"]}
    commands = []
    for fraction in a.fractions:
        n = round(fraction * len(ds))
        per_seed = {label: [] for label in scores}
        for method, label in ganmm_common.METHODS:
            args = [*ganmm_common.mnist_data(a), "--limit", str(n), "--method", method,
                    *(ganmm_common.QUICK if a.quick else [])]
            for seed in seeds:
                folder = os.path.join(out, f"{100 * fraction:g}pct", method, f"seed-{seed}")
                run = common.cluster(folder, [*args, "--seed", str(seed)], a.cluster_args)
                per_seed[label].append(metrics.cluster_scores(ds.y, assign_all(folder, ds.x), 10))
                commands.append(run["command"])
        for method, label in (("kmeans", "k-means"), ("gmm", "GMM")):
            per_seed[label] = [metrics.cluster_scores(ds.y, baselines.fit_predict(method, ds.x, 10, s, fit_rows=n), 10)
                               for s in seeds]
        for label, rows in per_seed.items():
            scores[label][str(fraction)] = {s: common.mean_sd([r[s] for r in rows]) for s in ganmm_common.SCORES}
    lines = [f"# Mixture-of-GANs Figures 3-5 — trained on a share of {common.data_label(a)}, all of it assigned; "
             f"mean ± sd over seeds {seeds}", "", "![figs3-5](ganmm_figs3_5.png)", ""]
    for score, title in FIGURES:
        lines += [f"## {title}", "", "| method | " + " | ".join(f"{100 * f:g} %" for f in a.fractions) + " |",
                  "|---|" + "---|" * len(a.fractions)]
        for label, by_fraction in scores.items():
            cells = [by_fraction[str(f)][score] for f in a.fractions]
            lines.append(f"| {label} | " + " | ".join(f"{m:.4f}" + (f" ± {sd:.4f}" if sd is not None else "")
                                                      for m, sd in cells) + " |")
        lines.append("")
    curves(scores, a.fractions, os.path.join(out, "ganmm_figs3_5.png"))
    lines += ["k-means and GMM: scikit-learn as `gan-em baseline` sets them up, fitted on the first N images.", "",
              "Commands:", ""] + [f"- `{c}`" for c in commands]
    common.write_report(out, "ganmm_figs3_5", {"seeds": seeds, "data": common.data_label(a), "fractions": a.fractions,
                                               "assigned": len(ds), "measured": scores, "quick": a.quick}, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
