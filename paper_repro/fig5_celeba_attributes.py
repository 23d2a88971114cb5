"""Figure 5 of the paper (and Appendix A.3): K = 2 clustering of CelebA scored per binary attribute.

    python paper_repro/fig5_celeba_attributes.py --quick    # CPU, digits with 3 derived binary attributes
    python paper_repro/fig5_celeba_attributes.py            # CelebA via tfds (GPU), 64x64

One unsupervised GAN-EM run with K = 2; its two clusters are scored against every attribute (Eq. 17
with the two clusters matched to the two attribute values). Writes fig5_attributes.png (error per
attribute, the paper's Hat 29.41 and Eyeglasses 29.89 marked), fig5_samples.png (generated faces
of each cluster), fig5.json and fig5.md. --quick has no CelebA: it clusters the bundled digits and
scores three binary "attributes" derived from the digit label (even, >= 5, has a closed loop) to
exercise the same path offline.
"""
from __future__ import annotations

import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

PAPER = {"Wearing_Hat": 29.41, "Eyeglasses": 29.89, "mean over 40": 42.09}  # error %, §5.2 / Table 1


def digit_attributes(n: int) -> dict:
    """Binary attributes of the first n bundled digits, derived from their labels (--quick only)."""
    from gan_em_tf import data
    from gan_em_tf.config import DataConfig

    y = data.load(DataConfig(dataset="digits")).y[:n]
    return {"even": (y % 2 == 0).astype(int), "five_or_more": (y >= 5).astype(int),
            "closed_loop": np.isin(y, [0, 6, 8, 9]).astype(int)}


def main(argv=None) -> int:
    a = common.parser(__doc__.split("\n\n")[0], full_seeds=(0,)).parse_args(argv)
    out = common.out_dir(a, "fig5")
    seeds = common.seeds(a)
    if a.quick:
        args = ["--dataset", "digits", "--clusters", "2"] + common.recipe(a, "pair")
    else:
        args = ["--dataset", "celeb_a", "--clusters", "2"] + common.recipe(a, "pair") + (
            ["--data-dir", a.data_dir] if a.data_dir else [])
    runs = common.sweep(out, "runs", args, seeds, a.cluster_args)
    per_attr = {}
    for r, seed in zip(runs, seeds):
        if a.quick:
            from gan_em_tf import metrics

            assign = np.load(os.path.join(out, "runs", f"seed-{seed}", "assignments.npy"))
            errors = metrics.attribute_errors(digit_attributes(len(assign)), assign)
        else:
            errors = r["attribute_errors"]
        for name, err in errors.items():
            per_attr.setdefault(name, []).append(err)
    stats = {name: common.mean_sd(v) for name, v in per_attr.items()}

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted(stats, key=lambda n: stats[n][0])
    fig, ax = plt.subplots(figsize=(7, 0.22 * len(names) + 1.2))
    ax.barh(names, [100 * stats[n][0] for n in names], xerr=[100 * (stats[n][1] or 0.0) for n in names],
            color="tab:blue")
    for name, err in PAPER.items():
        if name in stats:
            ax.plot([err], [name], "r*", ms=9, label="paper" if name == "Wearing_Hat" else None)
    ax.axvline(50, ls=":", color="k", lw=1)
    ax.set_xlabel("error (%), K = 2 clustering vs attribute")
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title(f"GAN-EM per-attribute error, {runs[0]['dataset']} (paper Fig. 5 / App. A.3)", fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "fig5_attributes.png"), dpi=110)
    plt.close(fig)
    shutil.copy(os.path.join(out, "runs", f"seed-{seeds[0]}", "samples.png"), os.path.join(out, "fig5_samples.png"))
    mean, sd = common.mean_sd([np.mean([per_attr[n][i] for n in per_attr]) for i in range(len(seeds))])
    lines = ["# Figure 5 — per-attribute clustering error", "", "![attributes](fig5_attributes.png) "
             "![samples](fig5_samples.png)", "", f"Data: {runs[0]['dataset']}"
             + (" (--quick: attributes derived from digit labels, not CelebA)" if a.quick else ""), "",
             "| attribute | error (%) measured | paper |", "|---|---|---|"]
    lines += [f"| {n} | {common.pct(*stats[n])} | {PAPER.get(n, '–')} |" for n in names]
    lines += [f"| mean over attributes | {common.pct(mean, sd)} | {PAPER['mean over 40']} (40 attributes) |", ""]
    lines += [f"- `{r['command']}`" for r in runs]
    common.write_report(out, "fig5", {"seeds": seeds, "per_attribute": per_attr, "mean_sd": [mean, sd],
                                      "quick": a.quick}, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
