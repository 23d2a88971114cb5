"""Table 1 of the Mixture-of-GANs paper (Yu & Zhou, IJCAI 2018): clustering raw MNIST pixels, K = 10 — GANMM,
GANMM (EM), k-means, GMM and DEC, measured beside the paper's rows.

    python paper_repro/ganmm_table1.py --quick                # the bundled digits, 2 EM iterations: minutes
    python paper_repro/ganmm_table1.py --data-dir DIR         # the 60,000 training images, seeds 0 1 2 (a GPU)

The paper trains and scores every method on MNIST's 60,000 training images (--mnist-split train, the default
here). GANMM runs its default recipe for images (``paper``: Algorithm 1 with the authors' settings; pass
another through --cluster-args "--recipe NAME"). The paper's DEC row ran "without a fine-tuned stacked
autoencoder": here DEC starts from an autoencoder trained --sae-epochs passes end to end for each seed.
Scores: purity, Rand (the formula the paper prints as "ARI"), the adjusted Rand index (what its "ARI" values
match), NMI geometric (the paper's) and arithmetic. Writes ganmm_table1.json / .md / .png into --out.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import ganmm_common  # noqa: E402


def parser():
    p = ganmm_common.parser(__doc__.split("\n\n")[0])
    p.add_argument("--sae-epochs", type=int, default=None, metavar="N",
                   help="passes of DEC's autoencoder training for each seed (default: 100; --quick: 2)")
    return p


def main(argv=None) -> int:
    a = parser().parse_args(argv)
    out, seeds = common.out_dir(a, "ganmm_table1"), common.seeds(a)
    sae_epochs = a.sae_epochs or (2 if a.quick else 100)
    measured, commands = ganmm_common.measure(out, "mnist", ganmm_common.mnist_data(a), seeds, a,
                                              dec_args=["--sae-epochs", str(sae_epochs)])
    ganmm_common.report(out, "ganmm_table1", f"Mixture-of-GANs Table 1 — mean ± sd over seeds {seeds}",
                        f"Table 1: raw pixels, {common.data_label(a)}, K = 10", measured,
                        ganmm_common.PAPER["table1"], commands,
                        {"seeds": seeds, "data": common.data_label(a), "sae_epochs": sae_epochs, "quick": a.quick})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
