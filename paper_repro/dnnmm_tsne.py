"""DNN-MM's t-SNE figure (Pande & Awate, slides: "t-SNE visualizations for latent space PDFs at 0.5
supervision"): the encoder's latent space of MinMax+EM beside ClusterGANss's, coloured by class.

    python paper_repro/dnnmm_tsne.py --quick                  # bundled digits, 3 classes: minutes
    python paper_repro/dnnmm_tsne.py --data-dir DIR           # MNIST, 5 classes × 1,000, α = 0.5, seed 0

Each run is ``gan-em cluster --method M --labels 0.5`` on the data of dnnmm_mnist.py (the runs are
shared when --out is the same); its embedding.png is the t-SNE of E(x) over every image (DNN-MM: the latent
point; ClusterGAN: [z_n, softmax z_c]). Writes dnnmm_tsne.json / .md / .png into --out.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import dnnmm_mnist  # noqa: E402


def parser():
    p = common.parser(__doc__.split("\n\n")[0], full_seeds=(0,), one_seed=True, mnist_split=None, recipes=False)
    p.add_argument("--data-dir", help="MNIST IDX folder (train-*/t10k-* files) instead of a tfds download")
    p.add_argument("--classes", type=int, default=None, metavar="C",
                   help="the digits 0..C-1 (default: 5; --quick: 3)")
    p.add_argument("--alpha", type=float, default=0.5, metavar="α", help="supervision level (default: 0.5)")
    return p


def main(argv=None) -> int:
    a = parser().parse_args(argv)
    out, (seed,) = common.out_dir(a, "dnnmm_tsne"), common.seeds(a)
    classes = a.classes or (dnnmm_mnist.QUICK["classes"][0] if a.quick else 5)
    extra = (" ".join(dnnmm_mnist.QUICK["schedule"]) + " " if a.quick else "") + a.cluster_args
    runs, images, titles = {}, [], []
    for method, label in dnnmm_mnist.METHODS.items():
        args = ["--method", method, *dnnmm_mnist.data_args(a, classes), "--clusters", str(classes),
                "--labels", str(a.alpha), "--seed", str(seed)]
        run_dir = os.path.join(out, f"classes-{classes}", method, f"alpha-{a.alpha}", f"seed-{seed}")
        runs[method] = common.cluster(run_dir, args, extra)
        images.append(os.path.join(run_dir, "embedding.png"))
        titles.append(f"{label}: accuracy {runs[method]['acc']:.3f}")
    common.panels(images, titles, os.path.join(out, "dnnmm_tsne.png"),
                  f"latent spaces at α = {a.alpha}, {classes} classes, seed {seed}")
    md = [f"# t-SNE of the latent spaces at α = {a.alpha} ({classes} classes, seed {seed})", "",
          "| method | accuracy (unlabelled images) | command |", "|---|---|---|"]
    md += [f"| {dnnmm_mnist.METHODS[m]} | {r['acc']:.3f} | `{r['command']}` |" for m, r in runs.items()]
    common.write_report(out, "dnnmm_tsne", {"seed": seed, "alpha": a.alpha, "classes": classes,
                                            "acc": {m: r["acc"] for m, r in runs.items()}}, md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
