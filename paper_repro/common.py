"""Shared plumbing of the paper_repro scripts: seed sweeps of ``gan-em cluster``, data flags, reports.

Every script is a thin caller of the ``gan-em`` CLI: it runs the CLI's ``main`` in its own process, one run
after another (TensorFlow starts once), each run in its own folder, so a script stopped and started again
reuses the finished runs and resumes the unfinished one. It writes ``<stem>.json`` plus ``<stem>.md`` (and
PNGs) that put the paper's number next to the measured one, with the commands, seeds, data and machine.

``--quick``: CPU, a few minutes, scikit-learn's bundled digits (offline everywhere) with their
default recipe and a short schedule. Otherwise MNIST (tfds or ``--data-dir`` IDX files) with
``--recipes paper`` (default: §5.1 as printed for every run, meant for a GPU) or ``--recipes cpu``
(the recipes measured on this project's CPU machines, one per kind of run: :data:`RECIPES`).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import signal
import sys

import numpy as np

QUICK_SCHEDULE = ["--iterations", "4", "--m-epochs", "10", "--e-steps", "200"]
# the gan-em recipe of each kind of run: clustering K = classes, K above the classes, semi-supervised, the Fig. 3
# embedding (K = 20 grown from 10), K = 2 (CelebA attributes; the moves need 3 clusters)
RECIPES = {"paper": {"cluster": "paper", "grow": "paper", "semi": "paper", "fig3": "paper", "pair": "paper"},
           "cpu": {"cluster": "cpu", "grow": "cpu-grow", "semi": "cpu-semi", "fig3": "cpu-fig3", "pair": "authors"}}
MNIST_SPLITS = {"all": "train+test, 70,000 images", "train": "train split, 60,000 images",
                "test": "test split, 10,000 images"}


def parser(description: str, full_seeds=(0, 1, 2), quick_seeds=(0,), one_seed: bool = False,
           mnist_split: str | None = "all", recipes: bool = True,
           quick: str = "bundled digits, short schedule") -> argparse.ArgumentParser:
    """The flags every script shares; the seed and MNIST split defaults are the script's (``one_seed``: a single
    run's picture; ``mnist_split`` None: the script reads no MNIST); ``recipes``: it runs GAN-EM's recipes;
    ``quick``: what its --quick runs on."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help=f"CPU smoke-size reproduction: {quick}, a few minutes")
    p.add_argument("--out", default=None, help="output folder (default: paper_repro/out/<script>[-quick])")
    defaults = f"default: {' '.join(map(str, full_seeds))}; --quick: {' '.join(map(str, quick_seeds))}"
    p.add_argument("--seeds", type=int, nargs="+", default=None,
                   help=f"the seed; this script draws one run ({defaults})" if one_seed else f"seeds ({defaults})")
    p.set_defaults(full_seeds=tuple(full_seeds), quick_seeds=tuple(quick_seeds), one_seed=one_seed)
    if mnist_split:
        p.add_argument("--data-dir", help="MNIST IDX folder (train-*/t10k-* files) instead of a tfds download")
        p.add_argument("--mnist-split", choices=MNIST_SPLITS, default=mnist_split,
                       help=f"MNIST images to use: all = train+test, 70,000; train = the 60,000 training images; "
                            f"test = the 10,000 test digits (semi-supervised runs are then scored on the unlabelled "
                            f"rest); default: {mnist_split}, as in the paper")
    if recipes:
        p.add_argument("--recipes", choices=RECIPES, default="paper",
                       help="paper: §5.1 as printed for every run (a GPU; the default); cpu: the recipes measured "
                            "on 2 CPU cores, cpu / cpu-grow / cpu-semi / cpu-fig3 by kind of run (--quick: the "
                            "bundled digits' own default)")
    p.add_argument("--cluster-args", default="",
                   help="extra flags appended to every gan-em cluster call (later flags win), e.g. "
                        "\"--iterations 2 --strategy mirrored\"")
    return p


def out_dir(a, stem: str) -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    path = a.out or os.path.join(here, "out", stem + ("-quick" if a.quick else ""))
    os.makedirs(path, exist_ok=True)
    return path


def seeds(a) -> list[int]:
    """--seeds, or the script's defaults; a script that draws one run stops on several with a one-line error."""
    chosen = list(a.seeds) if a.seeds else list(a.quick_seeds if a.quick else a.full_seeds)
    if a.one_seed and len(chosen) > 1:
        raise SystemExit(f"{os.path.basename(sys.argv[0])}: error: --seeds takes one seed here (got "
                         f"{len(chosen)}); run the script once per seed, each with its own --out")
    return chosen


def mnist_data(a, semi_supervised: bool = False) -> list[str]:
    """Data flags of the MNIST runs: digits with --quick, else MNIST (tfds or --data-dir) ``--mnist-split``.

    Semi-supervised runs on ``all`` train on the train split and are scored on the test split (§5.3).
    """
    if a.quick:
        return ["--dataset", "digits"]
    split = "train" if semi_supervised and a.mnist_split == "all" else a.mnist_split
    return ["--dataset", "mnist", "--split", split] + (["--data-dir", a.data_dir] if a.data_dir else [])


def recipe(a, kind: str = "cluster") -> list[str]:
    """``--recipe`` of a run of ``kind`` (:data:`RECIPES`), or the quick schedule on the digits' own default."""
    return QUICK_SCHEDULE if a.quick else ["--recipe", RECIPES[a.recipes][kind]]


def mnist_args(a, kind: str = "cluster") -> list[str]:
    return mnist_data(a, semi_supervised=kind == "semi") + recipe(a, kind)


def data_label(a) -> str:
    if a.quick:
        return "scikit-learn digits (1,797 8x8 images; --quick stand-in for MNIST)"
    source = "IDX files in " + a.data_dir if a.data_dir else "tfds"
    return f"MNIST {MNIST_SPLITS[a.mnist_split]} ({source})"


def machine() -> str:
    import tensorflow as tf

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpus = tf.config.list_physical_devices("GPU")
    return (f"{cpu}, {os.cpu_count()} cores, {len(gpus)} GPU(s), Python {platform.python_version()}, "
            f"TensorFlow {tf.__version__}")


def merged_flags(args: list[str], extra: str = "") -> list[str]:
    """``args`` then the ``--cluster-args`` string, each flag kept once: where a flag is given twice the later
    one wins (as argparse would decide) and the earlier one is dropped, so the recorded command reads as run."""
    items: list[list[str]] = []  # [flag], [flag, value] or [stray word], in order
    for token in [*args, *extra.split()]:
        previous = items[-1] if items else []
        flag_awaiting_value = len(previous) == 1 and previous[0].startswith("--") and "=" not in previous[0]
        if flag_awaiting_value and not token.startswith("--"):
            previous.append(token)
        else:  # a flag, or a stray word (e.g. a second value) kept where it stands
            items.append([token])
    last = {item[0].split("=")[0]: n for n, item in enumerate(items) if item[0].startswith("--")}
    return [t for n, item in enumerate(items)
            if not item[0].startswith("--") or last[item[0].split("=")[0]] == n for t in item]


def gan_em(cmd: list[str]) -> int:
    """``gan-em CMD`` through the CLI's ``main`` in this process, announced on stdout; returns its exit code.
    The CLI's stop handlers (Ctrl-C ends a run after its next checkpoint) are put back afterwards, and Keras'
    global state is cleared, so the next run starts as it would in a fresh process. TensorFlow is left for the
    CLI to import (quietly, as ``gan-em`` does), so Keras is only touched once the CLI has loaded it."""
    from gan_em_tf import cli

    print("+ gan-em " + " ".join(cmd), flush=True)
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        return cli.main(list(cmd))
    except SystemExit as e:  # argparse's own errors
        return e.code if isinstance(e.code, int) else 2
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        if "keras" in sys.modules:
            sys.modules["keras"].backend.clear_session()


def cluster(run_dir: str, args: list[str], extra: str = "") -> dict:
    """Run (or resume, or reuse) one ``gan-em cluster`` into run_dir; returns its summary + ACC curve."""
    args = merged_flags(args, extra)
    summary_path = os.path.join(run_dir, "summary.json")
    if not os.path.exists(summary_path):
        if os.path.exists(os.path.join(run_dir, "config.json")):
            cmd = ["cluster", "--out", run_dir, "--resume", "--no-progress"]
        else:
            cmd = ["cluster", *args, "--out", run_dir, "--no-progress"]
        code = gan_em(cmd)
        if code != 0:
            raise SystemExit(f"gan-em cluster failed (exit {code}) for {run_dir}")
    with open(summary_path) as f:
        summary = json.load(f)
    with open(os.path.join(run_dir, "metrics.csv")) as f:
        summary["curve"] = [{k: float(v) for k, v in r.items() if v not in ("", None)} for r in csv.DictReader(f)]
    summary["command"] = "gan-em cluster " + " ".join(args) + f" --out {run_dir}"
    return summary


def baselines(out: str, name: str, data: list[str], method_args: list[str], seed_list: list[int]) -> dict:
    """``gan-em baseline`` on the same data: k-means and GMM (``method_args`` = ["--clusters", "K"]) or the
    labels-only E-net (["--method", "labels-only", "--labels", "N"]); returns {method: result}."""
    path = os.path.join(out, f"{name}.json")
    cmd = ["baseline", *data, *method_args, "--seeds", *map(str, seed_list), "--out", path]
    if not os.path.exists(path):
        if gan_em(cmd) != 0:
            raise SystemExit(f"gan-em baseline failed for {name}")
    with open(path) as f:
        return {r["method"]: {**r, "command": "gan-em " + " ".join(cmd)} for r in json.load(f)["results"]}


def sweep(root: str, name: str, args: list[str], seed_list: list[int], extra: str = "") -> list[dict]:
    """One run per seed in root/name/seed-N."""
    return [cluster(os.path.join(root, name, f"seed-{s}"), args + ["--seed", str(s)], extra) for s in seed_list]


def mean_sd(values) -> tuple[float, float | None]:
    """Mean and sample sd; the sd is None for a single value (no spread to report)."""
    values = [float(v) for v in values if v is not None]
    if not values:
        return float("nan"), None
    return float(np.mean(values)), (float(np.std(values, ddof=1)) if len(values) > 1 else None)


def pct(mean: float, sd: float | None = None) -> str:
    """A fraction as a percentage, '4.20 ± 0.51' style (the paper's error format)."""
    if mean != mean:  # nan
        return "–"
    return f"{100 * mean:.2f}" + (f" ± {100 * sd:.2f}" if sd is not None else "")


def write_report(out: str, stem: str, payload: dict, markdown: list[str]) -> None:
    payload = {**payload, "machine": machine(), "argv": sys.argv}
    with open(os.path.join(out, stem + ".json"), "w") as f:
        json.dump(payload, f, indent=2, default=float)
    with open(os.path.join(out, stem + ".md"), "w") as f:
        f.write("\n".join(markdown + ["", f"Machine: {payload['machine']}", f"Command: `python {' '.join(sys.argv)}`"])
                + "\n")
    print("\n".join(markdown))
    print(f"wrote {os.path.join(out, stem)}.json / .md")


def panels(images: list[str], titles: list[str], path: str, suptitle: str = "") -> None:
    """Side-by-side PNG panels (each a run's own figure) into one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(images), figsize=(4.5 * len(images), 4.8), squeeze=False)
    for ax, img, title in zip(axes[0], images, titles):
        ax.imshow(plt.imread(img))
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
