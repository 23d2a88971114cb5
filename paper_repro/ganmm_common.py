"""Shared plumbing of the Mixture-of-GANs scripts (Yu & Zhou, IJCAI 2018): the paper's numbers, the five rows
every table measures (GANMM, GANMM (EM), k-means, GMM, DEC) and their Markdown and bar chart.

The paper's "ARI" is printed as the plain Rand formula (m11 + m00)/m but its values match the adjusted Rand
index, so the tables show both; its NMI is scikit-learn's geometric-mean NMI (before 0.22), shown beside
today's arithmetic one.
"""
from __future__ import annotations

import os

import common

SCORES = ("purity", "rand", "ari", "nmi_geometric", "nmi")
METHODS = (("ganmm", "GANMM"), ("ganmm-em", "GANMM (EM)"))
QUICK = ["--iterations", "2", "--e-steps", "50"]  # two EM iterations: minutes on digits or 600 UCI rows
QUICK_DEC = ["--dec-steps", "140"]  # one target update of DEC
# purity, "ARI" (valued like the adjusted index), NMI (geometric), mean over the paper's runs
PAPER = {
    "table1": {"GANMM": (0.6430, 0.4924, 0.6159), "GMM": (0.3261, 0.0991, 0.1414), "DEC": (0.3065, 0.1437, 0.1935),
               "GANMM (EM)": (0.2786, 0.0665, 0.2414)},
    "table3": {"GANMM": (0.8908, 0.8361, 0.8654), "GMM": (0.8617, 0.7933, 0.8451), "DEC": (0.8673, 0.8091, 0.8457),
               "GANMM (EM)": (0.5243, 0.3210, 0.4701)},
    "image_segmentation": {"GANMM": (0.7241, 0.5523, 0.6428), "GMM": (0.4532, 0.2214, 0.4124),
                           "DEC": (0.4428, 0.2014, 0.4077), "GANMM (EM)": (0.5791, 0.4101, 0.5386)},
    "artificial_characters": {"GANMM": (0.2568, 0.0887, 0.2027), "GMM": (0.2184, 0.0452, 0.1206),
                              "DEC": (0.2031, 0.0365, 0.0856), "GANMM (EM)": (0.2495, 0.0645, 0.1309)},
}


def measure(out: str, name: str, data: list[str], seeds: list[int], a, dec_args: list[str] = (),
            dec_data: list[str] | None = None, recipes: dict[str, str] | None = None) -> tuple[dict, list[str]]:
    """GANMM and GANMM (EM) (one run per seed in out/name/METHOD/seed-N, with the recipe ``recipes`` names for
    the method, else its default one), k-means and GMM on ``data``, and DEC (``dec_args``: --sae DIR or
    --sae-epochs N) on ``dec_data`` (default ``data``; DEC fine-tunes its encoder on the raw data): ({row label:
    {score: (mean, sd)}}, the commands run)."""
    measured, commands = {}, []
    for method, label in METHODS:
        recipe = ["--recipe", recipes[method]] if recipes and method in recipes else []
        args = [*data, "--method", method, *recipe, *(QUICK if a.quick else [])]
        runs = common.sweep(out, f"{name}/{method}", args, seeds, a.cluster_args)
        measured[label] = {s: common.mean_sd([r[s] for r in runs]) for s in SCORES}
        commands += [r["command"] for r in runs]
    base = common.baselines(out, f"{name}_baselines", data, [], seeds)
    dec_args = [*dec_args, *(QUICK_DEC if a.quick else [])]
    dec = common.baselines(out, f"{name}_dec", dec_data or data, ["--method", "dec", *dec_args], seeds)
    for method, label in (("kmeans", "k-means"), ("gmm", "GMM"), ("dec", "DEC")):
        result = {**base, **dec}[method]
        measured[label] = {s: (result[s]["mean"], result[s]["sd"] if len(seeds) > 1 else None) for s in SCORES}
        if result["command"] not in commands:
            commands.append(result["command"])
    return measured, commands


def table(title: str, measured: dict, paper: dict) -> list[str]:
    """Markdown: one row per method, the measured scores (mean ± sd) and the paper's purity / ARI / NMI."""
    lines = [f"## {title}", "", "| method | purity | Rand | ARI | NMI (geometric) | NMI (arithmetic) "
             "| paper purity / ARI / NMI |", "|---|---|---|---|---|---|---|"]
    for label, scores in measured.items():
        quoted = " / ".join(f"{v:.4f}" for v in paper[label]) if label in paper else "–"
        cells = " | ".join(f"{m:.4f}" + (f" ± {sd:.4f}" if sd is not None else "") for m, sd in
                           (scores[s] for s in SCORES))
        lines.append(f"| {label} | {cells} | {quoted} |")
    return lines + [""]


def report(out: str, stem: str, heading: str, title: str, measured: dict, paper: dict, commands: list[str],
           payload: dict) -> None:
    """One table's outputs in ``out``: ``stem``.md (the heading, :func:`table` and the commands), ``stem``.png
    (:func:`purity_bars`) and ``stem``.json (``payload`` with the measured and the paper's scores)."""
    lines = [f"# {heading}", ""] + table(title, measured, paper) + ["Commands:", ""] + [f"- `{c}`" for c in commands]
    purity_bars({title: (measured, paper)}, os.path.join(out, f"{stem}.png"))
    common.write_report(out, stem, {**payload, "measured": measured, "paper": paper}, lines)


def purity_bars(panels: dict, path: str) -> None:
    """Purity per method, measured (mean ± sd) beside the paper's; ``panels`` = {title: (measured, paper)}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 3.6), squeeze=False)
    for ax, (title, (measured, paper)) in zip(axes[0], panels.items()):
        labels = list(measured)
        at = np.arange(len(labels))
        ax.bar(at - 0.2, [measured[m]["purity"][0] for m in labels], 0.4, label="measured",
               yerr=[measured[m]["purity"][1] or 0.0 for m in labels])
        ax.bar(at + 0.2, [paper.get(m, (np.nan,))[0] for m in labels], 0.4, label="paper")
        ax.set_xticks(at, labels, fontsize=8)
        ax.set_ylabel("purity")
        ax.set_title(title)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parser(description: str, **seeds):
    """common.parser with the MNIST split the paper uses (its 60,000 training images) as the default."""
    return common.parser(description, mnist_split="train", recipes=False, **seeds)


def mnist_data(a) -> list[str]:
    """The data flags of the MNIST tables and figures: the bundled digits with --quick, else MNIST
    --mnist-split; K = 10."""
    return common.mnist_data(a) + ["--clusters", "10"]


def run_folder(out: str, name: str, method: str, seed: int) -> str:
    """Where :func:`measure` puts a run of ``method`` (ganmm / ganmm-em)."""
    return os.path.join(out, name, method, f"seed-{seed}")


def sae_codes(folder: str, data: list[str], epochs: int) -> tuple[str, str]:
    """``gan-em embed-sae`` of ``data`` into ``folder`` (reused when its codes exist): (the codes file, the
    command)."""
    cmd = ["embed-sae", *data, "--epochs", str(epochs), "--seed", "0", "--out", folder]
    codes = os.path.join(folder, "codes.npz")
    if not os.path.exists(codes) and common.gan_em([*cmd, "--overwrite"]) != 0:
        raise SystemExit(f"gan-em embed-sae failed for {folder}")
    return codes, "gan-em " + " ".join(cmd)
