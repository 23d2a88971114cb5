"""Figure 4 of the paper: clustering error per EM iteration, one curve per seed (K = 10).

    python paper_repro/fig4_convergence.py --quick                 # CPU, digits, seeds 0 1, ~2 min
    python paper_repro/fig4_convergence.py --data-dir DIR --seeds 0 1 2 3 4

Writes fig4_convergence.png (error % vs EM iteration, the paper's final 4.20 % as a dashed line),
fig4.json (every curve) and fig4.md.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

PAPER_FINAL_ERROR = 4.20  # Table 1, MNIST K = 10


def main(argv=None) -> int:
    a = common.parser(__doc__.split("\n\n")[0], full_seeds=(0, 1, 2, 3, 4), quick_seeds=(0, 1)).parse_args(argv)
    out = common.out_dir(a, "fig4")
    seeds = common.seeds(a)
    runs = common.sweep(out, "runs", common.mnist_args(a), seeds, a.cluster_args)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for seed, r in zip(seeds, runs):
        ax.plot([c["iteration"] for c in r["curve"]], [100 * c["error"] for c in r["curve"]], marker="o", ms=3,
                label=f"seed {seed}")
    ax.axhline(PAPER_FINAL_ERROR, ls="--", color="k", lw=1, label="paper (MNIST)")
    ax.set_xlabel("EM iteration")
    ax.set_ylabel("clustering error (%)")
    ax.set_title(f"GAN-EM convergence, {runs[0]['dataset']}, K=10 (paper Fig. 4)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    png = os.path.join(out, "fig4_convergence.png")
    fig.savefig(png, dpi=110)
    plt.close(fig)
    mean, sd = common.mean_sd([r["error"] for r in runs])
    lines = ["# Figure 4 — convergence", "", f"![fig4]({os.path.basename(png)})", "",
             "| seed | final error (%) | error per EM iteration (%) |", "|---|---|---|"]
    for seed, r in zip(seeds, runs):
        lines.append(f"| {seed} | {common.pct(r['error'])} | " + " ".join(f"{100 * c['error']:.1f}" for c in r["curve"])
                     + " |")
    lines += [f"| mean ± sd | {common.pct(mean, sd)} | paper: {PAPER_FINAL_ERROR:.2f} ± 0.51 |", ""]
    lines += [f"- `{r['command']}`" for r in runs]
    common.write_report(out, "fig4", {"seeds": seeds, "curves": {s: r["curve"] for s, r in zip(seeds, runs)},
                                      "final_error_mean_sd": [mean, sd]}, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
