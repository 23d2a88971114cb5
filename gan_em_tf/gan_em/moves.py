"""Moves of GAN-EM's soft labels w between EM iterations (not in the paper): split-and-merge, a last cross
re-pairing, and the growth from fewer clusters to K — one schedule, one object.

EM for mixtures settles in local optima where one component covers two classes while two share one (on
MNIST-test: a 4/9 cluster beside two clusters of 1s). Split-and-merge EM (Ueda et al., Neural Computation
2000) leaves them by merging two components and splitting a third. :class:`PartitionMoves` decides after
which EM iteration which move is due (:class:`~gan_em_tf.gan_em.config.MoveConfig`,
:class:`~gan_em_tf.gan_em.config.GrowthConfig`), makes it on w from D's features and logits (the pure
functions of :mod:`gan_em_tf.gan_em.split_merge`), and counts the EM iterations through which w keeps the
moved labels instead of E(x) (Algorithm 1, line 13), so G and D follow a move before the E-net deals the
real images out again.

* ``smem`` and ``pair`` moves in turn after iterations S, S + N, … below F;
* one ``cross`` move after F, held for ``final_hold`` iterations; none after it;
* ``grow`` after T (replacing any move due then): the K0 clusters in use are cut until all K hold one,
  held for the growth's ``hold`` iterations.
"""
from __future__ import annotations

import numpy as np

from gan_em_tf.gan_em import split_merge
from gan_em_tf.gan_em.config import GrowthConfig, MoveConfig

MOVE_KINDS = ("smem", "pair", "cross", "grow")


class PartitionMoves:
    """The move schedule of one run and the hold it has left."""

    def __init__(self, moves: MoveConfig | None, growth: GrowthConfig | None, clusters: int, iterations: int,
                 seed: int):
        self.moves, self.growth, self.k, self.iterations, self.seed = moves, growth, clusters, iterations, seed
        self.hold_left = 0  # EM iterations left in which w keeps the last move's labels

    def active_clusters(self, completed: int) -> int:
        """The columns of w in use after ``completed`` EM iterations: K, or K0 before the growth."""
        return self.growth.clusters if self.growth and completed < self.growth.after else self.k

    def due(self, completed: int) -> str | None:
        """The move that follows EM iteration ``completed`` (1-based), or None; never after the last."""
        if completed >= self.iterations:
            return None
        if self.growth and completed == self.growth.after:
            return "grow"
        m = self.moves
        if m is None or completed < m.start or completed > m.final:
            return None
        if completed == m.final:
            return "cross"
        if (completed - m.start) % m.every:
            return None
        return "smem" if ((completed - m.start) // m.every) % 2 == 0 else "pair"

    def m_step_scale(self, completed: int) -> float:
        """How many times longer than usual the M-step of the EM iteration after ``completed`` runs: longer right
        after a move, so G learns the moved clusters before the E-net is trained on its samples."""
        return self.moves.m_step_scale if self.moves and completed and self.due(completed) else 1.0

    def take_hold(self) -> bool:
        """Called once per EM iteration before w would be replaced by E(x): True (and one fewer left) while a
        move's labels are held."""
        if self.hold_left <= 0:
            return False
        self.hold_left -= 1
        return True

    def make(self, kind: str, w: np.ndarray, features: np.ndarray, class_logits: np.ndarray, used: int
             ) -> tuple[np.ndarray, dict, list[tuple[int, int]]]:
        """Make move ``kind`` on the first ``used`` columns of w [N, K] (:meth:`active_clusters`) from D's
        penultimate ``features`` [N, F] and class logits [N, K + 1].

        Returns (new w, the record for metrics.csv, the (parent, new) class pairs a growth split, whose
        networks must be copied)."""
        whiten = self.moves.whiten if self.moves else 0
        if kind == "grow":
            new_w, splits = split_merge.grow(w, features, self.growth.clusters, self.seed)
            self.hold_left = self.growth.hold
            return new_w, {"move": "grow", "grown_from": float(self.growth.clusters), "grown_to": float(self.k)}, \
                splits
        active, rest = w[:, :used], w[:, used:]
        assign = active.argmax(axis=1)
        if kind == "cross":
            pair = split_merge.aligned_pair(assign, features, used, self.seed, whiten)
            if pair is None:  # w has collapsed onto one cluster: nothing to re-pair
                return w, {}, []
            i, j, cos, smaller_half = pair
            second = split_merge.cross_mask(assign, smaller_half, i, j, cos)
            moved = split_merge.resplit_pair(active, i, j, second)
            k = i
        else:
            if kind == "pair":
                i, j = split_merge.pair_to_resplit(active)
                k = i  # the pooled pair is what gets split
                members = np.flatnonzero((assign == i) | (assign == j))
            else:
                k, i, j = split_merge.choose_move(active, class_logits[:, :used])
                members = np.flatnonzero(assign == k)
            second = np.zeros(len(w), bool)
            second[members[split_merge.halves(features[members], self.seed, whiten=whiten)]] = True
            moved = split_merge.apply_move(active, k, i, j, second) if kind == "smem" else \
                split_merge.resplit_pair(active, i, j, second)
        self.hold_left = self.moves.final_hold if kind == "cross" and self.moves else 0
        record = {"move": kind, "move_split": float(k), "move_merge_into": float(i), "move_freed": float(j),
                  "move_moved": float(second.sum())}
        return np.concatenate([moved, rest], axis=1), record, []


def describe(record: dict) -> str:
    """A move's record as the log line shows it ('' for none)."""
    kind = record.get("move")
    if kind is None and "sm_split" in record:  # rows of runs written before the moves were one object
        kind = "smem"
    if kind == "grow":
        return f" | grew {record['grown_from']:.0f} → {record['grown_to']:.0f} clusters (graph cuts of the largest)"
    if kind == "smem":
        r = {k.replace("sm_", "move_"): v for k, v in record.items()}
        if r.get("move_split") == r.get("move_merge_into"):
            return f" | re-split {r['move_merge_into']:.0f}+{r['move_freed']:.0f} ({r['move_moved']:.0f} moved)"
        return (f" | split {r['move_split']:.0f} ({r['move_moved']:.0f} to {r['move_freed']:.0f}), merged "
                f"{r['move_freed']:.0f} into {r['move_merge_into']:.0f}")
    if kind in ("pair", "cross"):
        return (f" | {kind} re-split {record['move_merge_into']:.0f}+{record['move_freed']:.0f} "
                f"({record['move_moved']:.0f} to {record['move_freed']:.0f})")
    return ""
