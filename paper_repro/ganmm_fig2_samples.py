"""Figure 2 of the Mixture-of-GANs paper (Yu & Zhou, IJCAI 2018): images drawn from each of the K = 10
generators of GANMM and of GANMM (EM) after clustering raw MNIST, one row per generator.

    python paper_repro/ganmm_fig2_samples.py --quick          # the bundled digits: minutes
    python paper_repro/ganmm_fig2_samples.py --data-dir DIR   # the 60,000 training images, seed 0

The runs sit where ganmm_table1.py puts them (--out/mnist/METHOD/seed-N): the same --out reuses them. Each
panel is the run's own samples.png, titled with its purity. Writes ganmm_fig2_samples.png, ganmm_fig2.json and
ganmm_fig2.md into --out.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import ganmm_common  # noqa: E402


def main(argv=None) -> int:
    a = ganmm_common.parser(__doc__.split("\n\n")[0], full_seeds=(0,), one_seed=True).parse_args(argv)
    seed = common.seeds(a)[0]
    out = common.out_dir(a, "ganmm_fig2")
    runs, folders = {}, []
    for method, label in ganmm_common.METHODS:
        folder = ganmm_common.run_folder(out, "mnist", method, seed)
        args = [*ganmm_common.mnist_data(a), "--method", method, "--seed", str(seed),
                *(ganmm_common.QUICK if a.quick else [])]
        runs[label] = common.cluster(folder, args, a.cluster_args)
        folders.append(folder)
    png = os.path.join(out, "ganmm_fig2_samples.png")
    common.panels([os.path.join(f, "samples.png") for f in folders],
                  [f"{label}: purity {run['purity']:.3f}" for label, run in runs.items()], png,
                  f"Samples of each generator (paper Fig. 2), {common.data_label(a)}")
    lines = ["# Mixture-of-GANs Figure 2 — samples of each generator", "", f"![fig2]({os.path.basename(png)})", "",
             "| method | purity | clusters used | paper purity (Table 1) |", "|---|---|---|---|"]
    lines += [f"| {label} | {run['purity']:.4f} | {run['clusters_used']} | "
              f"{ganmm_common.PAPER['table1'][label][0]:.4f} |" for label, run in runs.items()]
    lines += ["", "Commands:", ""] + [f"- `{run['command']}`" for run in runs.values()]
    common.write_report(out, "ganmm_fig2", {"seed": seed, "data": common.data_label(a), "quick": a.quick,
                                            "runs": {k: {s: v.get(s) for s in ("purity", "ari", "nmi", "command")}
                                                     for k, v in runs.items()}}, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
