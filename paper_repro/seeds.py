"""Run ``gan-em cluster`` over several seeds and report mean ± sd (used for RESULTS.md).

    python paper_repro/seeds.py --seeds 0 1 2 --out runs/digits-seeds -- --dataset digits --recipe paper

Everything after ``--`` is passed to ``gan-em cluster`` unchanged (``--out`` and ``--seed`` are
set per seed: RUN/seed-N). Existing seed folders are reused, not rerun, so an interrupted sweep
continues where it stopped. Writes RUN/seeds.json and RUN/seeds.md: per seed the final ACC,
NMI, ARI and seconds, the ACC after every EM iteration, and mean ± sd over seeds.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys

import numpy as np

KEYS = ("acc", "nmi", "ari", "purity", "error", "seconds")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds to run (default: 0 1 2)")
    p.add_argument("--out", required=True, help="folder for the per-seed run folders and the report")
    p.add_argument("cluster_args", nargs=argparse.REMAINDER, help="-- then arguments for gan-em cluster")
    a = p.parse_args(argv)
    extra = [x for x in a.cluster_args if x != "--"]
    os.makedirs(a.out, exist_ok=True)
    per_seed = []
    for seed in a.seeds:
        run_dir = os.path.join(a.out, f"seed-{seed}")
        summary_path = os.path.join(run_dir, "summary.json")
        if not os.path.exists(summary_path):
            if os.path.exists(os.path.join(run_dir, "config.json")):  # interrupted earlier: continue it
                cmd = ["cluster", "--out", run_dir, "--resume"]
            else:
                cmd = ["cluster", *extra, "--seed", str(seed), "--out", run_dir]
            proc = subprocess.run([sys.executable, "-m", "gan_em_tf", *cmd])
            if proc.returncode != 0:
                return proc.returncode
        with open(summary_path) as f:
            summary = json.load(f)
        with open(os.path.join(run_dir, "metrics.csv")) as f:
            curve = [(int(r["iteration"]), float(r["acc"]), float(r["seconds"])) for r in csv.DictReader(f)
                     if r.get("acc")]
        per_seed.append({"seed": seed, **{k: summary.get(k) for k in KEYS}, "acc_per_iteration": curve})
    agg = {k: {"mean": float(np.mean([r[k] for r in per_seed])), "sd": float(np.std([r[k] for r in per_seed],
                                                                                   ddof=1 if len(per_seed) > 1 else 0))}
           for k in KEYS if per_seed[0][k] is not None}
    report = {"command": "gan-em cluster " + " ".join(extra), "seeds": a.seeds, "per_seed": per_seed,
              "mean_sd": agg, "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}"}
    with open(os.path.join(a.out, "seeds.json"), "w") as f:
        json.dump(report, f, indent=2)
    lines = [f"`{report['command']}` — seeds {a.seeds} — {report['machine']}", "",
             "| seed | ACC | NMI | ARI | seconds | ACC per EM iteration |", "|---|---|---|---|---|---|"]
    for r in per_seed:
        curve = " ".join(f"{acc:.2f}" for _, acc, _ in r["acc_per_iteration"])
        lines.append(f"| {r['seed']} | {r['acc']:.3f} | {r['nmi']:.3f} | {r['ari']:.3f} | {r['seconds']:.0f} "
                     f"| {curve} |")
    lines.append(f"| mean ± sd | {agg['acc']['mean']:.3f} ± {agg['acc']['sd']:.3f} | {agg['nmi']['mean']:.3f} ± "
                 f"{agg['nmi']['sd']:.3f} | {agg['ari']['mean']:.3f} ± {agg['ari']['sd']:.3f} | "
                 f"{agg['seconds']['mean']:.0f} | |")
    with open(os.path.join(a.out, "seeds.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
