"""Where a clustering run is stuck: its clusters against the true classes, and split/merge candidates.

    python paper_repro/partition_diagnostics.py RUN_DIR[/checkpoints/iter-NNNN] [--whiten d] [--data-dir DIR]
        [--out FILE.json]

Not a table or figure of the paper: the evidence behind RESULTS.md's reading of the
K = 10 plateau on MNIST-test. For the newest checkpoint of a ``gan-em cluster`` run on
labelled data (or the checkpoint folder given) it prints, per cluster (argmax w):

* size, its two largest classes and its purity;
* ``D logit``: the w-weighted mean of D's class-unit logit on the real images
  (Eq. 2). σ(logit) = D_k(x), so a high value means D still tells the cluster's
  reals from G's class-k fakes: G covers that cluster's data badly. This is the
  GAN analogue of the local-KL split criterion of split-and-merge EM (Ueda et al.,
  2000), and the split criterion of ``--split-merge-every``;
* ``2-means in D features``: the two largest classes of each half when the
  cluster's members are split by k-means (k = 2, seeded by the run's seed) on D's
  penultimate layer, the split a ``--split-merge-every`` move makes (``--whiten d``: on the whitened top d
  principal components, as ``--split-merge-whiten d``), i.e. whether that feature
  space separates a merged cluster;
* ``top-2 separation``: the share of the cluster's two largest classes that the halves
  put on their own side (1: the split parts them; 0.5: it cuts across them);
* ``within/total``: the two halves' within-half sum of squares over the cluster's
  total, in the same feature space (low: the cluster is bimodal there);

and two merge criteria: the cluster pairs whose posteriors correlate most over the data
(Ueda's, wᵢ·wⱼ / |wᵢ||wⱼ|) and those whose centroids in D's features are closest relative
to the clusters' spread. Then *cross re-pairings* (a move the package does not make): split
clusters i and j each by the 2-means above and join each half of i with the half of j on
the same side of j's split, i.e. the side the two split directions (difference of the
halves' centroids) share; for two clusters that hold the same two classes half and half
this puts each class in one cluster. Listed: the pairs whose split directions align most
(|cos|, label-free) and the pair whose re-pairing the labels score best, each with the ACC
the re-pairing would give. Then *pair re-splits* (``--split-merge-mode pair``): pool clusters
i and j and split the pool by the same 2-means; listed by ``SS ratio``, the pool's within-group
sum of squares under the current i/j labels over that under the 2-means halves (in the same,
whitened, space; label-free): above 1 where the pool has a better two-way partition than the
current pair, ≈ 1 where the 2-means only finds the pair again. Each with the ACC the re-split
would give, and the re-split the labels score best. Last, the ACC of k-means (K clusters) on D's features, to tell
whether those features hold a better global partition than GAN-EM's own.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

import numpy as np


def _top(counts: np.ndarray, n: int = 2) -> str:
    return ", ".join(f"{int(c)}:{int(counts[c])}" for c in np.argsort(counts)[::-1][:n])


def diagnose(run_dir: str, data_dir: str | None = None, whiten: int | None = None) -> dict:
    """The report; ``whiten`` None: the run's own ``split_merge_whiten``."""
    import keras
    from sklearn.cluster import KMeans

    from gan_em_tf import data as data_lib
    from gan_em_tf import metrics, networks, rundir
    from gan_em_tf.config import RunConfig
    from gan_em_tf.errors import UserError
    from gan_em_tf.gan_em import split_merge

    try:
        run_dir, ckpt = rundir.branch_source(run_dir)  # a run folder (its newest checkpoint) or a checkpoint folder
    except UserError:
        raise UserError(f"{run_dir} holds no run with a completed EM iteration; pass the --out folder of a run "
                        "or one of its checkpoints/iter-NNNN folders") from None
    cfg = RunConfig.from_dict(rundir.read_json(os.path.join(run_dir, "config.json")))
    if data_dir:
        cfg.data = dataclasses.replace(cfg.data, data_dir=data_dir)
    ds = data_lib.load(cfg.data)
    if ds.y is None:
        raise UserError(f"{ds.name} has no class labels to diagnose against")
    k = cfg.clusters
    whiten = cfg.train.split_merge_whiten if whiten is None else whiten
    disc = networks.build_networks(ds.shape, k, cfg.train)["discriminator"]
    rundir.load_networks(ckpt, {"discriminator": disc})
    with np.load(os.path.join(ckpt, "state.npz")) as s:
        w = s["w"]
    assign = w.argmax(axis=1)
    table = metrics.contingency(ds.y, assign)  # [clusters, classes]; rows only up to the largest used cluster
    features, logits = keras.Model(disc.inputs, [disc.layers[-2].output, disc.output]).predict(
        ds.x, batch_size=500, verbose=0)
    d_logit = split_merge.split_scores(w, logits[:, :k])
    clusters, split_halves = [], {}  # split_halves[c] = (member indices of the smaller half, of the other)
    for c in range(k):
        members = assign == c
        counts = table[c] if c < table.shape[0] else np.zeros(table.shape[1], int)
        row = {"cluster": c, "size": int(members.sum()), "top_classes": _top(counts),
               "purity": float(counts.max() / max(1, members.sum())),
               "d_logit": float(d_logit[c])}
        if members.sum() >= 2:  # the split the --split-merge-every move would make (smaller half first)
            f_m, y_m = features[members], ds.y[members]
            smaller = split_merge.halves(f_m, seed=cfg.runtime.seed, whiten=whiten)
            idx = np.flatnonzero(members)
            split_halves[c] = (idx[smaller], idx[~smaller])
            row["halves"] = [_top(np.bincount(y_m[h], minlength=table.shape[1])) for h in (smaller, ~smaller)]
            a_cls, b_cls = np.argsort(counts)[::-1][:2]  # the two largest classes: how well do the halves part them?
            same = np.sum(smaller & (y_m == a_cls)) + np.sum(~smaller & (y_m == b_cls))
            swapped = np.sum(smaller & (y_m == b_cls)) + np.sum(~smaller & (y_m == a_cls))
            row["top2_separation"] = float(max(same, swapped) / max(1, counts[a_cls] + counts[b_cls]))
            z = split_merge.split_space(f_m, cfg.runtime.seed, whiten)
            everyone = np.ones(len(z), bool)
            row["within_total"] = _within_ss(z, (smaller, ~smaller)) / max(_within_ss(z, (everyone,)), 1e-12)
        clusters.append(row)
    corr = split_merge.merge_scores(w)
    used = [c for c in range(k) if (assign == c).any()]
    centroids = {c: features[assign == c].mean(axis=0) for c in used}
    spread = {c: np.sqrt(((features[assign == c] - centroids[c]) ** 2).sum(axis=1).mean()) for c in used}
    distance = {(i, j): float(np.linalg.norm(centroids[i] - centroids[j]) / (0.5 * (spread[i] + spread[j]) + 1e-12))
                for i in used for j in used if i < j}
    kmeans = KMeans(k, n_init=10, random_state=0).fit_predict(features)
    repairs = cross_repairings(assign, features, ds.y, split_halves)
    resplits = pair_resplits(assign, features, ds.y, cfg.runtime.seed, whiten)
    return {"run": run_dir, "checkpoint": ckpt, "whiten": whiten, "acc": metrics.hungarian_acc(ds.y, assign), "clusters": clusters,
            "merge_by_posterior_correlation": [
                {"pair": [i, j], "value": v}
                for v, i, j in sorted(((float(corr[i, j]), i, j) for i in range(k) for j in range(i + 1, k)),
                                      reverse=True)[:3]],
            "merge_by_d_centroid_distance": [{"pair": list(p), "value": v}
                                             for p, v in sorted(distance.items(), key=lambda kv: kv[1])[:3]],
            "cross_repair_by_alignment": sorted(repairs, key=lambda r: -r["abs_cos"])[:5],
            "cross_repair_best_by_labels": max(repairs, key=lambda r: r["acc"]) if repairs else None,
            "pair_resplit_by_ss_ratio": sorted(resplits, key=lambda r: -r["ss_ratio"])[:5],
            "pair_resplit_best_by_labels": max(resplits, key=lambda r: r["acc"]) if resplits else None,
            "kmeans_on_d_features_acc": metrics.hungarian_acc(ds.y, kmeans)}


def cross_repairings(assign: np.ndarray, features: np.ndarray, y: np.ndarray, split_halves: dict) -> list[dict]:
    """For every pair of split clusters (i, j): |cos| of their split directions in D's features, and the
    Hungarian ACC after the ``--split-merge-mode cross`` move on that pair (on hard assignments)."""
    from gan_em_tf import metrics
    from gan_em_tf.gan_em import split_merge

    smaller = {c: a for c, (a, _) in split_halves.items()}
    direction = {}
    for c, (a, b) in split_halves.items():
        members = np.concatenate([a, b])
        direction[c] = split_merge.split_direction(features[members], np.arange(len(members)) < len(a))
    one_hot = np.eye(int(assign.max()) + 1)[assign]
    out = []
    for i in sorted(split_halves):
        for j in sorted(split_halves):
            if j > i:
                cos = float(direction[i] @ direction[j])
                second = split_merge.cross_mask(assign, smaller, i, j, cos)
                moved = split_merge.resplit_pair(one_hot, i, j, second).argmax(axis=1)
                out.append({"pair": [i, j], "abs_cos": abs(cos), "acc": metrics.hungarian_acc(y, moved)})
    return out


def _within_ss(z: np.ndarray, groups) -> float:
    """Sum over the row masks in ``groups`` of the squared distances of their rows of ``z`` to their mean."""
    return float(sum(((z[g] - z[g].mean(axis=0)) ** 2).sum() for g in groups if g.any()))


def pair_resplits(assign: np.ndarray, features: np.ndarray, y: np.ndarray, seed: int, whiten: int) -> list[dict]:
    """For every pair of clusters with two members or more between them: the ``--split-merge-mode pair`` move on
    it (pool, split by :func:`split_merge.halves`), the SS ratio of the module docstring and the Hungarian ACC
    after the move (on hard assignments)."""
    from gan_em_tf import metrics
    from gan_em_tf.gan_em import split_merge

    one_hot = np.eye(int(assign.max()) + 1)[assign]
    used = np.unique(assign)
    out = []
    for i in used:
        for j in used[used > i]:
            members = np.flatnonzero((assign == i) | (assign == j))
            if len(members) < 3:
                continue
            half = split_merge.halves(features[members], seed, whiten=whiten)
            z = split_merge.split_space(features[members], seed, whiten)
            in_j = assign[members] == j
            second = np.zeros(len(assign), bool)
            second[members[half]] = True
            moved = split_merge.resplit_pair(one_hot, int(i), int(j), second).argmax(axis=1)
            out.append({"pair": [int(i), int(j)],
                        "ss_ratio": float(_within_ss(z, (in_j, ~in_j)) / max(_within_ss(z, (half, ~half)), 1e-12)),
                        "acc": metrics.hungarian_acc(y, moved)})
    return out


def markdown(report: dict) -> list[str]:
    space = "D features" + (f", whitened top {report['whiten']} PCs" if report.get("whiten") else "")
    lines = [f"{report['checkpoint']}: Hungarian ACC {report['acc']:.3f}", "",
             f"| cluster | size | largest classes (class:count) | purity | D logit | 2-means halves in {space} "
             "| top-2 separation | within/total |",
             "|---|---|---|---|---|---|---|---|"]
    for r in report["clusters"]:
        halves = " / ".join(r.get("halves", []))
        within = f"{r['within_total']:.3f}" if "within_total" in r else ""
        separation = f"{r['top2_separation']:.2f}" if "top2_separation" in r else ""
        lines.append(f"| {r['cluster']} | {r['size']} | {r['top_classes']} | {r['purity']:.2f} | "
                     f"{r['d_logit']:.2f} | {halves} | {separation} | {within} |")
    for key, what in (("merge_by_posterior_correlation", "posterior correlation, highest"),
                      ("merge_by_d_centroid_distance", "D-feature centroid distance / spread, lowest")):
        lines += ["", f"merge candidates ({what}): " + ", ".join(
            f"{m['pair'][0]}+{m['pair'][1]} {m['value']:.3f}" for m in report[key])]
    fmt = lambda r: f"{r['pair'][0]}+{r['pair'][1]} |cos| {r['abs_cos']:.3f} → ACC {r['acc']:.3f}"
    lines += ["", "cross re-pairings (split directions aligned most): "
              + ", ".join(fmt(r) for r in report["cross_repair_by_alignment"])]
    if report["cross_repair_best_by_labels"]:
        lines += ["", "cross re-pairing the labels score best: " + fmt(report["cross_repair_best_by_labels"])]
    fmt = lambda r: f"{r['pair'][0]}+{r['pair'][1]} SS ratio {r['ss_ratio']:.3f} → ACC {r['acc']:.3f}"
    lines += ["", "pair re-splits (SS ratio, highest): "
              + ", ".join(fmt(r) for r in report["pair_resplit_by_ss_ratio"])]
    if report["pair_resplit_best_by_labels"]:
        lines += ["", "pair re-split the labels score best: " + fmt(report["pair_resplit_best_by_labels"])]
    lines += ["", f"k-means (K = {len(report['clusters'])}) on D's features: ACC {report['kmeans_on_d_features_acc']:.3f}"]
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", help="the --out folder of a gan-em cluster run on labelled data (its newest "
                                   "checkpoint), or one of its checkpoints/iter-NNNN folders")
    p.add_argument("--data-dir", help="IDX folder, when the run's data folder has moved")
    p.add_argument("--whiten", type=int, metavar="d",
                   help="split each cluster on the whitened top d principal components of D's features "
                        "(default: the run's --split-merge-whiten; 0: raw features)")
    p.add_argument("--out", help="also write the report as JSON here")
    a = p.parse_args(argv)
    from gan_em_tf.errors import UserError

    try:
        report = diagnose(a.run_dir, a.data_dir, a.whiten)
    except UserError as e:
        print(f"partition_diagnostics: {e}", file=sys.stderr)
        return 2
    print("\n".join(markdown(report)))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
