"""GAN-EM's own settings: the optimisation of G, D and the E-net, and the optional partition moves.

Field defaults are the paper's §5.1 as printed; the named recipes (:mod:`gan_em_tf.gan_em.recipes`)
change them. Serialised under ``train`` in every run's ``config.json``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gan_em_tf.configio import from_dict_strict
from gan_em_tf.errors import UserError

GENERATOR_LOSSES = ("exp", "onehot")
E_CLASS_PRIORS = ("phi", "uniform")
INITS = ("uniform", "tsne-ward")
OPTIMIZERS = ("adam", "rmsprop")


@dataclass
class MoveConfig:
    """Split-and-merge moves on w (not in the paper; after Ueda et al.'s SMEM, 2000): see
    :mod:`gan_em_tf.gan_em.moves`.

    After EM iterations ``start``, ``start + every``, … (before ``final``) one move is made, in turn a
    split-and-merge (split the cluster D covers worst, merge the two whose posteriors correlate most)
    and a pair re-split (pool the most correlated pair, split it again); after iteration ``final`` one
    last cross re-pairing of the two clusters whose 2-means splits align, whose labels w keeps for
    ``final_hold`` iterations; none after it. Splits are 2-means on the whitened top ``whiten`` principal
    components of D's penultimate features. The M-step right after a move runs ``m_step_scale`` times as
    many batches as the others.
    """

    every: int = 4
    start: int = 40
    final: int = 90
    final_hold: int = 6
    whiten: int = 10
    m_step_scale: float = 2.0


@dataclass
class GrowthConfig:
    """Coarse to fine, for more clusters than classes (not in the paper; :mod:`gan_em_tf.gan_em.moves`):
    only ``clusters`` of the K clusters are used up to EM iteration ``after``; then the largest cluster is cut
    in two (a spectral cut of the 5-nearest-neighbour graph of D's features) until all K hold one, each new
    class starting as a copy of its parent in G, D and the E-net; w keeps the cut labels for ``hold``
    iterations."""

    clusters: int = 10
    after: int = 40
    hold: int = 4


@dataclass
class TrainConfig:
    """Optimisation of the three networks (paper §5.1 by default)."""

    optimizer: str = "rmsprop"  # rmsprop (paper) | adam (authors' code, β1 below)
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    lr_e: float = 2e-4
    adam_beta1: float = 0.5
    lr_decay: float = 0.98  # every rate × lr_decay^max(0, iteration − lr_decay_start)
    lr_decay_start: int = 0
    batch_size: int = 64
    e_batch_size: int = 256
    generator_loss: str = "exp"  # exp: paper Eq. 1 | onehot: the authors' code (see losses)
    e_class_prior: str = "phi"  # phi: c ~ φ (paper Eq. 5) | uniform: balanced batches (authors' code)
    real_unit_weight: float = 1.0  # weight of the real/fake unit on real images (authors: 2)
    noise_dim: int = 62
    init: str = "uniform"  # uniform (Algorithm 1, line 1) | tsne-ward (w from a classical clustering)
    e_augment: bool = False  # jitter the E-step's generated images (not in the paper; gan_em_tf.augment)
    e_augment_start: int = 0  # the jitter acts from EM iteration e_augment_start + 1 on
    g_class_start: int = 1  # first EM iteration whose G loss has its class-unit term (before: real/fake only)
    net_width: float = 1.0  # multiplier of every hidden layer of G, D and E (1: the authors' networks)
    moves: MoveConfig | None = None
    growth: GrowthConfig | None = None
    NESTED: ClassVar[dict] = {"moves": MoveConfig, "growth": GrowthConfig}  # optional sections and their types

    def lr_factor(self, iteration: int) -> float:
        """The multiplier of every learning rate in EM iteration ``iteration`` (0-based)."""
        return self.lr_decay ** max(0, iteration - self.lr_decay_start)

    @classmethod
    def from_dict(cls, d: dict, m_epochs: float = 1.0) -> "TrainConfig":
        """Read ``config.json``'s ``train``, including the flat ``split_merge_*`` / ``grow_*`` fields of run
        folders written before the moves were one object (:func:`_upgrade`; ``m_epochs``: that run's p)."""
        d = _upgrade(dict(d), m_epochs)
        moves = d.pop("moves", None)
        growth = d.pop("growth", None)
        out = from_dict_strict(cls, d, "train")
        out.moves = None if moves is None else from_dict_strict(MoveConfig, moves, "train.moves")
        out.growth = None if growth is None else from_dict_strict(GrowthConfig, growth, "train.growth")
        return out


# Fields of earlier config.json files whose value is now fixed: kept if it is the one behaviour left.
_FIXED = {"d_fake_targets": "all", "info_weight": 0.0, "enet_batchnorm": True, "weight_init": "glorot",
          "reset_optimizers": False, "split_merge_protect_new": False, "split_merge_hold": 0}


def _upgrade(d: dict, m_epochs: float) -> dict:
    """config.json ``train`` of earlier versions → today's fields. Settings whose only remaining behaviour is
    the one they had are dropped; a run that used a removed variant is refused with a one-line error."""
    d.pop("preset", None)  # now RunConfig.recipe
    for key, kept in _FIXED.items():
        if key in d and d.pop(key) != kept:
            raise UserError(f"this run used train.{key} other than {kept!r}, a variant measured not to help and "
                            "removed (paper_repro/RESULTS.md, history); it cannot be continued by this version")
    every = d.pop("split_merge_every", None)
    if every is not None:
        start, final = d.pop("split_merge_start", 0), d.pop("split_merge_final", 0)
        mode, final_mode = d.pop("split_merge_mode", "alternate"), d.pop("split_merge_final_mode", "cross")
        whiten, after_move = d.pop("split_merge_whiten", 0), d.pop("split_merge_m_epochs", 0)
        final_hold = d.pop("split_merge_final_hold", 0)
        if every or final:
            if mode != "alternate" or final_mode != "cross" or not (every and final):
                raise UserError(f"this run used split/merge moves of mode {mode!r} / final {final_mode!r}; only the "
                                "alternate moves with a final cross move remain (train.moves); it cannot be "
                                "continued by this version")
            d["moves"] = {"every": every, "start": start or every, "final": final, "final_hold": final_hold,
                          "whiten": whiten, "m_step_scale": after_move / m_epochs if after_move else 1.0}
    grow_from = d.pop("grow_from", None)
    if grow_from is not None:
        after, hold, split = d.pop("grow_after", 0), d.pop("grow_hold", 0), d.pop("grow_split", "2means")
        if grow_from:
            if split != "graph":
                raise UserError(f"this run grew its clusters by {split!r} cuts; only the graph cut remains "
                                "(train.growth); it cannot be continued by this version")
            d["growth"] = {"clusters": grow_from, "after": after, "hold": hold}
    return d
