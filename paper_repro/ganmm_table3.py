"""Table 3 of the Mixture-of-GANs paper (Yu & Zhou, IJCAI 2018): clustering MNIST in the 10-D space of DEC's
stacked autoencoder — GANMM, GANMM (EM), k-means, GMM on the codes and DEC from that autoencoder, measured beside
the paper's rows.

    python paper_repro/ganmm_table3.py --quick                # the bundled digits, a 2-pass autoencoder: minutes
    python paper_repro/ganmm_table3.py --data-dir DIR         # the 60,000 training images, seeds 0 1 2

One autoencoder (d-500-500-2000-10, ``gan-em embed-sae``, seed 0, --sae-epochs passes) is trained on the data
and written to --out/sae; its codes (sae/codes.npz) are what GANMM, GANMM (EM) (the ``vectors`` recipe, MLP
networks), k-means and GMM cluster, and its encoder is where DEC starts (DEC fine-tunes it on the images).
The seeds vary the clustering methods, not the autoencoder, as the paper's near-zero DEC spread suggests.
Writes ganmm_table3.json / .md / .png into --out.
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
                   help="passes of the autoencoder's training (default: 100; --quick: 2)")
    return p


def main(argv=None) -> int:
    a = parser().parse_args(argv)
    out, seeds = common.out_dir(a, "ganmm_table3"), common.seeds(a)
    sae_epochs = a.sae_epochs or (2 if a.quick else 100)
    images = ganmm_common.mnist_data(a)
    sae = os.path.join(out, "sae")
    codes, sae_command = ganmm_common.sae_codes(sae, images, sae_epochs)
    measured, commands = ganmm_common.measure(out, "codes", ["--dataset", "file", "--data-file", codes,
                                                             "--clusters", "10"], seeds, a,
                                              dec_args=["--sae", sae], dec_data=images)
    ganmm_common.report(out, "ganmm_table3", f"Mixture-of-GANs Table 3 — mean ± sd over seeds {seeds}",
                        f"Table 3: 10-D autoencoder codes of {common.data_label(a)}, K = 10", measured,
                        ganmm_common.PAPER["table3"], [sae_command, *commands],
                        {"seeds": seeds, "data": common.data_label(a), "sae_epochs": sae_epochs, "quick": a.quick})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
