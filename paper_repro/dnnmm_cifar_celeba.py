"""DNN-MM's CIFAR-10 and CelebA figure (Pande & Awate, slides: "CIFAR10 & CelebA Dataset: 5 classes, 1000
images of each class"): accuracy, ARI and NMI against the supervision level α for MinMax+EM and ClusterGAN(ss).

    python paper_repro/dnnmm_cifar_celeba.py                 # both sets through tensorflow-datasets (a download)
    python paper_repro/dnnmm_cifar_celeba.py --quick         # 100 images per class, α 0 and 0.1, 3 iterations

Data (tensorflow-datasets; run where it can download, as on Colab, or pass --data-dir of a prepared tfds
folder): CIFAR-10's training split, classes 0–4 (airplane, automobile, bird, cat, deer), the first 1,000 of
each; CelebA's training split at 64×64, five classes read from its hair attributes (``--attribute
Black_Hair,Blond_Hair,Brown_Hair,Gray_Hair,Bald``: the faces with exactly one of them; the slides do not say
which five classes they used), the first 1,000 of each. The slides' "noisy" versions are not specified and
not made. Writes dnnmm_cifar_celeba.json / .md and a PNG per set into --out.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import dnnmm_mnist  # noqa: E402

HAIR = "Black_Hair,Blond_Hair,Brown_Hair,Gray_Hair,Bald"
SETS = {"cifar10": ["--dataset", "cifar10", "--split", "train", "--classes", "0,1,2,3,4"],
        "celeb_a": ["--dataset", "celeb_a", "--split", "train", "--attribute", HAIR, "--classes", "0,1,2,3,4"]}


def parser():
    p = common.parser(__doc__.split("\n\n")[0], mnist_split=None, recipes=False,
                      quick="100 images per class, α 0 and 0.1, 3 EM iterations")
    p.add_argument("--data-dir", help="a prepared tensorflow-datasets data_dir (default: tfds' own, downloading)")
    p.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS), help="datasets (default: both)")
    p.add_argument("--per-class", type=int, default=None, metavar="N",
                   help="images per class (default: 1000; --quick: 100)")
    p.add_argument("--alphas", type=float, nargs="+", default=None, metavar="α",
                   help=f"supervision levels (default: {' '.join(map(str, dnnmm_mnist.ALPHAS))}; --quick: 0 0.1)")
    p.add_argument("--methods", nargs="+", choices=dnnmm_mnist.METHODS, default=list(dnnmm_mnist.METHODS),
                   help="which methods (default: both; clustergan is ClusterGANss when α > 0)")
    return p


def main(argv=None) -> int:
    a = parser().parse_args(argv)
    out, seeds = common.out_dir(a, "dnnmm_cifar_celeba"), common.seeds(a)
    per_class = a.per_class or (dnnmm_mnist.QUICK["per_class"] if a.quick else 1000)
    alphas = a.alphas or (dnnmm_mnist.QUICK["alphas"] if a.quick else dnnmm_mnist.ALPHAS)
    extra = (" ".join(dnnmm_mnist.QUICK["schedule"]) + " " if a.quick else "") + a.cluster_args
    payload, md = {"seeds": seeds, "alphas": list(alphas), "per_class": per_class, "results": {}}, []
    for name in a.sets:
        data = SETS[name] + ["--limit", str(per_class)] + (["--data-dir", a.data_dir] if a.data_dir else [])
        rows = dnnmm_mnist.sweep_alphas(os.path.join(out, name), data, 5, a.methods, alphas, seeds, extra)
        payload["results"][name] = rows
        dnnmm_mnist.plot(rows, f"{name}, 5 classes", list(alphas), os.path.join(out, f"dnnmm_{name}.png"))
        md += dnnmm_mnist.table(f"{name}: 5 classes × {per_class} images", rows, alphas)
    md += [f"Seeds {' '.join(map(str, seeds))}; the slides give these as figures only (no numbers)."]
    common.write_report(out, "dnnmm_cifar_celeba", payload, md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
