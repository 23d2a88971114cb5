"""Figure 2 of the paper: generated samples, one row per cluster/class.

    python paper_repro/fig2_samples.py --quick          # CPU, digits, ~1 min
    python paper_repro/fig2_samples.py                  # (a) MNIST clustering, (b) SVHN 1000 labels (GPU)

Panel (a): samples of the generator after unsupervised clustering (K = 10), one row per cluster.
Panel (b): after semi-supervised training (SVHN, 1000 labels; --quick: digits, 100 labels), one
row per class. Writes fig2_samples.png, fig2.json and fig2.md (with each run's score).
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def main(argv=None) -> int:
    a = common.parser(__doc__.split("\n\n")[0], full_seeds=(0,), one_seed=True).parse_args(argv)
    seed = common.seeds(a)[0]  # checked before --out is made
    out = common.out_dir(a, "fig2")
    semi_args = (common.mnist_args(a, "semi") + ["--labels", "100"] if a.quick else
                 ["--dataset", "svhn_cropped", "--split", "train", "--labels", "1000"] + common.recipe(a, "semi"))
    runs = {"a": common.cluster(os.path.join(out, "clustering"), common.mnist_args(a) + ["--seed", str(seed)],
                                a.cluster_args),
            "b": common.cluster(os.path.join(out, "semi"), semi_args + ["--seed", str(seed)], a.cluster_args)}
    titles = [f"(a) clustering, {runs['a']['dataset']}: error {common.pct(runs['a']['error'])}%",
              f"(b) semi-supervised, {runs['b']['dataset']}: error {common.pct(runs['b']['error'])}%"]
    png = os.path.join(out, "fig2_samples.png")
    common.panels([os.path.join(out, d, "samples.png") for d in ("clustering", "semi")], titles, png,
                  "GAN-EM generated samples (paper Fig. 2); one row per cluster / class")
    lines = ["# Figure 2 — generated samples", "", f"![fig2]({os.path.basename(png)})", "",
             "| panel | data | task | error (%) | paper |", "|---|---|---|---|---|",
             f"| a | {runs['a']['dataset']} | clustering K=10 | {common.pct(runs['a']['error'])} | 4.20 (MNIST) |",
             f"| b | {runs['b']['dataset']} | {runs['b'].get('labels')} labels | {common.pct(runs['b']['error'])} | "
             f"6.05 (SVHN, 1000 labels) |", "", f"- `{runs['a']['command']}`", f"- `{runs['b']['command']}`"]
    common.write_report(out, "fig2", {"seed": seed, "runs": runs, "quick": a.quick}, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
