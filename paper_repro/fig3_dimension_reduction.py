"""Figure 3 of the paper: unsupervised dimensionality reduction with the E-net's layer r (§5.4).

    python paper_repro/fig3_dimension_reduction.py --quick           # CPU, digits, ~2 min
    python paper_repro/fig3_dimension_reduction.py --data-dir DIR     # MNIST, k = 1000, 100, 2
    python paper_repro/fig3_dimension_reduction.py --data-dir DIR --mnist-split test --recipes cpu --dims 1000

For each k in --dims a clustering run with --embed-dim k; the real images' layer-r features are
mapped to 2-D (t-SNE for k > 2, directly for k = 2) and coloured by true class. The number for
each panel is the 5-fold k-NN (k = 5) accuracy on those 2-D points (1.0 = separated groups).
With ``--recipes cpu`` the runs use recipe cpu-fig3 with K = 20 clusters grown from 10.
Writes fig3_dimension_reduction.png, fig3.json and fig3.md.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def main(argv=None) -> int:
    p = common.parser(__doc__.split("\n\n")[0], full_seeds=(0,), one_seed=True)
    p.add_argument("--dims", type=int, nargs="+", default=[1000, 100, 2], help="layer r sizes k (default: 1000 100 2)")
    a = p.parse_args(argv)
    seed = common.seeds(a)[0]  # checked before --out is made
    out = common.out_dir(a, "fig3")
    clusters = ["--clusters", "20"] if a.recipes == "cpu" and not a.quick else []
    runs = {k: common.cluster(os.path.join(out, f"k{k}"), common.mnist_args(a, "fig3") + clusters + [
        "--embed-dim", str(k), "--seed", str(seed)], a.cluster_args) for k in a.dims}
    png = os.path.join(out, "fig3_dimension_reduction.png")
    common.panels([os.path.join(out, f"k{k}", "embedding.png") for k in a.dims],
                  [f"k = {k}: 5-NN acc {r.get('embedding_knn_acc', float('nan')):.3f}" for k, r in runs.items()], png,
                  f"E-net layer r features of {runs[a.dims[0]]['dataset']} (paper Fig. 3)")
    lines = ["# Figure 3 — dimensionality reduction", "", f"![fig3]({os.path.basename(png)})", "",
             "| k | 2-D map | 5-NN accuracy on the 2-D map | same for t-SNE of raw pixels | points | clustering error "
             "(Eq. 17; clusters matched to classes) |",
             "|---|---|---|---|---|---|"]
    for k, r in runs.items():
        lines.append(f"| {k} | {'layer r' if k <= 2 else 't-SNE'} | {r.get('embedding_knn_acc', float('nan')):.3f} | "
                     f"{r.get('pixels_knn_acc', float('nan')):.3f} | {r.get('embedding_points')} | "
                     f"{r['error']:.3f} ({r['error_mapping']}) |")
    lines += ["", "The paper shows the pictures only (no number). t-SNE separates easy data by itself, so the "
              "raw-pixel column is the reference a useful layer r should beat."]
    lines += [f"- `{r['command']}`" for r in runs.values()]
    common.write_report(out, "fig3", {"seed": seed, "runs": {str(k): r for k, r in runs.items()}}, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
