"""Tables 4 and 5 of the Mixture-of-GANs paper (Yu & Zhou, IJCAI 2018): the UCI Image Segmentation and Artificial
Characters sets, GANMM, GANMM (EM), GMM, k-means and DEC measured beside the paper's rows.

    python paper_repro/ganmm_tables4_5.py --uci-dir DIR           # image_segmentation.npz, artificial_characters.npz
    python paper_repro/ganmm_tables4_5.py --uci-dir DIR --quick   # 2 EM iterations, 600 rows, one seed: minutes

DIR holds the two UCI sets as .npz files with the raw features ``x`` and the classes ``y`` (min-max scaled per
feature by ``--dataset file``). The paper clusters all 2,310 segmentation instances and 6,000 character
instances; the characters file holds all 30,654, so the script draws 6,000 of them (a fixed random subset,
numpy seed 0) into --out/data/ and every method clusters that file; --quick draws 600 rows of each set.
Scores: purity, the Rand index (the formula the paper prints for its "ARI", (m11 + m00)/m; its ARI values
match the adjusted Rand index, so both are shown), the adjusted Rand index, and NMI
normalised by the geometric mean (scikit-learn before 0.22, the paper's) and by the arithmetic mean (today's
default). Writes ganmm_tables4_5.json / .md / .png into --out.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

SETS = {"image_segmentation": ("Table 4", 7), "artificial_characters": ("Table 5", 10)}
ROWS = {"image_segmentation": None, "artificial_characters": 6000}  # the paper's sizes (all 2,310; 6,000 of 30,654)
QUICK_ROWS = 600
# The paper's Tables 4 and 5: purity, "ARI" (printed as the Rand formula, valued like the adjusted index),
# NMI (geometric)
PAPER = {
    "image_segmentation": {"GANMM": (0.7241, 0.5523, 0.6428), "GMM": (0.4532, 0.2214, 0.4124),
                           "DEC": (0.4428, 0.2014, 0.4077), "GANMM (EM)": (0.5791, 0.4101, 0.5386)},
    "artificial_characters": {"GANMM": (0.2568, 0.0887, 0.2027), "GMM": (0.2184, 0.0452, 0.1206),
                              "DEC": (0.2031, 0.0365, 0.0856), "GANMM (EM)": (0.2495, 0.0645, 0.1309)},
}
SCORES = ("purity", "rand", "ari", "nmi_geometric", "nmi")
QUICK = ["--iterations", "2", "--e-steps", "50"]


def subset(path: str, folder: str, rows: int | None) -> str:
    """``path`` itself, or a file in ``folder`` with ``rows`` of its rows drawn at random (numpy seed 0, kept in
    their order) when the set has more."""
    import numpy as np

    with np.load(path) as f:
        x, y = f["x"], f["y"]
    if rows is None or rows >= len(y):
        return path
    os.makedirs(folder, exist_ok=True)
    keep = np.sort(np.random.default_rng(0).permutation(len(y))[:rows])
    dest = os.path.join(folder, f"{os.path.basename(path)[:-4]}_{rows}.npz")
    np.savez(dest, x=x[keep], y=y[keep])
    return dest


def bars(rows: dict, path: str) -> None:
    """Purity per method and set: measured (mean ± sd) beside the paper's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, len(rows), figsize=(6 * len(rows), 3.6), squeeze=False)
    for ax, (name, measured) in zip(axes[0], rows.items()):
        labels = list(measured)
        at = np.arange(len(labels))
        ax.bar(at - 0.2, [measured[m]["purity"][0] for m in labels], 0.4, label="measured",
               yerr=[measured[m]["purity"][1] or 0.0 for m in labels])
        ax.bar(at + 0.2, [PAPER[name].get(m, (np.nan,))[0] for m in labels], 0.4, label="paper")
        ax.set_xticks(at, labels, fontsize=8)
        ax.set_ylabel("purity")
        ax.set_title(f"{SETS[name][0]}: {name}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parser():
    p = common.parser(__doc__.split("\n\n")[0])
    p.add_argument("--uci-dir", required=True, metavar="DIR",
                   help="folder with image_segmentation.npz and artificial_characters.npz (x, y)")
    p.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS), help="which sets (default: both)")
    return p


def main(argv=None) -> int:
    a = parser().parse_args(argv)
    out, seeds = common.out_dir(a, "ganmm_tables4_5"), common.seeds(a)
    rows, lines = {}, ["# Mixture-of-GANs Tables 4 and 5 — UCI sets, mean ± sd over seeds " + str(seeds), ""]
    commands = []
    for name in a.sets:
        table, k = SETS[name]
        path = os.path.join(a.uci_dir, f"{name}.npz")
        if not os.path.isfile(path):
            raise SystemExit(f"ganmm_tables4_5.py: error: no {name}.npz in --uci-dir {a.uci_dir}")
        path = subset(path, os.path.join(out, "data"), QUICK_ROWS if a.quick else ROWS[name])
        data = ["--dataset", "file", "--data-file", path, "--clusters", str(k)]
        measured = {}
        for method, label in (("ganmm", "GANMM"), ("ganmm-em", "GANMM (EM)")):
            args = data + ["--method", method] + (QUICK if a.quick else [])
            runs = common.sweep(out, f"{name}/{method}", args, seeds, a.cluster_args)
            measured[label] = {s: common.mean_sd([r[s] for r in runs]) for s in SCORES}
            commands += [r["command"] for r in runs]
        base = common.baselines(out, f"{name}_baselines", data, [], seeds)
        dec = common.baselines(out, f"{name}_dec", data, ["--method", "dec"] + (["--sae-epochs", "2"] if a.quick
                                                                                  else []), seeds)
        for method, label in (("kmeans", "k-means"), ("gmm", "GMM"), ("dec", "DEC")):
            result = {**base, **dec}[method]
            measured[label] = {s: (result[s]["mean"], result[s]["sd"] if len(seeds) > 1 else None) for s in SCORES}
            if result["command"] not in commands:
                commands.append(result["command"])
        rows[name] = measured
        lines += [f"## {table}: {name} (K = {k})", "",
                  "| method | purity | Rand | ARI | NMI (geometric) | NMI (arithmetic) "
                  "| paper purity / ARI / NMI |",
                  "|---|---|---|---|---|---|---|"]
        for label, scores in measured.items():
            paper = PAPER[name].get(label)
            quoted = " / ".join(f"{v:.4f}" for v in paper) if paper else "–"
            cells = " | ".join(f"{m:.4f}" + (f" ± {sd:.4f}" if sd is not None else "") for m, sd in
                               (scores[s] for s in SCORES))
            lines.append(f"| {label} | {cells} | {quoted} |")
        lines.append("")
    bars(rows, os.path.join(out, "ganmm_tables4_5.png"))
    lines += ["Commands:", ""] + [f"- `{c}`" for c in commands]
    common.write_report(out, "ganmm_tables4_5", {"seeds": seeds, "measured": rows, "paper": PAPER,
                                                 "quick": a.quick}, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
