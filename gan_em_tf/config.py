"""Typed run configuration, serialised into every run folder as ``config.json``.

Two named GAN-EM training configurations are offered (``--config``):

* ``paper``   -- what the paper's §5.1 says: RMSprop, lr 2e-4 for G, D and E,
  decay 0.98 per EM iteration, batch 64, E-step batch 256, E-net classes drawn
  from φ (Eq. 5), generator loss of Eq. 1 (``exp`` of the class logit).
* ``authors`` -- the authors' public code (see ANCHORS.md): Adam β=(0.5, 0.999),
  lr D 2e-4 / G 6e-4 / E 6e-5, batch 70, E-step batch 200 with balanced
  classes, generator trained toward its own one-hot class on the K units.

Schedules (how many EM iterations, M-epochs and E-steps) are separate from the
preset so that a preset can be run on any dataset; defaults per dataset size
live in :func:`default_schedule`.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from gan_em_tf.errors import UserError


STRATEGIES = ("auto", "mirrored", "default")
SPLIT_MERGE_MODES = ("smem", "pair", "cross", "alternate")  # --split-merge-mode; gan_em/split_merge.py says what each does
# --split-merge-final-mode: one move (nothing to alternate); cross-if-correlated makes the cross move only where
# its pair is also the most correlated one; cross-graph re-splits the cross move's pair by a cut of its images'
# k-NN graph; none makes no move (the moves every N just stop)
FINAL_MOVE_MODES = ("smem", "pair", "cross", "cross-if-correlated", "cross-graph", "none")
# --grow-split: how the growth cuts a cluster in two: 2-means on D's features, or a cut of their k-NN graph
GROW_SPLITS = ("2means", "graph")
SUPERVISION_CHECK = 20  # labelled-set steps between two checks of the E-net's error on them (§5.3)
# gan-em baseline --method labels-only: steps and Adam rate. GAN-EM's own E-net rate (authors: 6e-5)
# under-trains the E-net on labels alone: MNIST-test, 1000 labels, seed 0, 3000 steps, error 7.8 % (6e-5),
# 7.4 % (3e-4), 6.3 % (1e-3), 5.2 % (3e-3), 5.3 % (1e-2) — chosen on the held-out images, in the baseline's favour.
LABELS_ONLY_STEPS = 3000
LABELS_ONLY_LR = 3e-3


@dataclass
class DataConfig:
    """Which data to cluster. ``dataset`` is a name from :mod:`gan_em_tf.data`."""

    dataset: str = "digits"
    data_dir: str | None = None
    data_file: str | None = None
    split: str = "test"
    limit: int | None = None
    image_size: int = 64  # celeb_a: side of the resized centre crop
    attribute: str | None = None  # celeb_a: the binary attribute used as the label y (None: score all 40)


@dataclass
class TrainConfig:
    """Optimisation of the three networks. Field defaults are the ``paper`` preset."""

    preset: str = "paper"
    optimizer: str = "rmsprop"  # rmsprop | adam
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    lr_e: float = 2e-4
    adam_beta1: float = 0.5
    lr_decay: float = 0.98  # multiplied once per EM iteration (from lr_decay_start on)
    lr_decay_start: int = 0  # S: the rates are lr × lr_decay^max(0, iteration − S); 0 decays from the start
    batch_size: int = 64
    e_batch_size: int = 256
    generator_loss: str = "exp"  # exp (paper Eq. 1) | onehot (authors' code)
    e_class_prior: str = "phi"  # phi (paper Eq. 5) | uniform (authors' code: balanced batches)
    real_unit_weight: float = 1.0  # weight of the real/fake unit on real data (authors: 2)
    d_fake_targets: str = "all"  # all (Eq. 2 as printed) | own (Eq. 11/16 reading)
    noise_dim: int = 62
    init: str = "uniform"  # uniform (Algorithm 1, line 1) | kmeans (w from a k-means run; not in the paper)
    info_weight: float = 0.0  # > 0: InfoGAN-style CE(E(G(z, c)), c) in the M-step (not in the paper)
    enet_batchnorm: bool = True  # False: E-net trunk without BatchNorm (what the authors' code effectively trains)
    e_augment: bool = False  # True: random affine jitter of G's samples in the E-step (not in the paper)
    e_augment_start: int = 0  # S: with e_augment, the jitter acts in EM iterations S + 1, S + 2, ... (0: from the first)
    g_class_start: int = 1  # EM iteration from which G's loss has its class-unit term (before: real/fake unit only)
    split_merge_every: int = 0  # N > 0: a split/merge move on w after every N-th EM iteration (not in the paper)
    split_merge_start: int = 0  # S > 0: moves after EM iterations S, S + N, S + 2N, ... (0: N, 2N, ...)
    split_merge_mode: str = "smem"  # smem: split one, merge two | pair: re-split the closest pair | cross: re-pair
    # halves | alternate: smem and pair moves in turn, starting with smem
    split_merge_whiten: int = 0  # d > 0: split by 2-means on D's features' top d whitened principal components
    split_merge_m_epochs: int = 0  # E > 0: p of the M-step right after a move, so G can follow the new labels (0: p)
    split_merge_hold: int = 0  # H > 0: w keeps a move's labels through the H EM iterations after it (no E(x) update)
    split_merge_protect_new: bool = False  # True: the column a move fills is not merged away by the next move
    split_merge_final: int = 0  # F > 0: one last move after EM iteration F, none after it (moves every N stop)
    split_merge_final_mode: str = "cross"  # the kind of that last move: one of FINAL_MOVE_MODES
    split_merge_final_hold: int = 0  # w keeps the last move's labels through this many EM iterations after it
    grow_from: int = 0  # K0 > 0: only the first K0 clusters are used up to EM iteration T, then split into K
    grow_after: int = 0  # T: the EM iteration after which the K0 clusters are split until all K are used
    grow_hold: int = 0  # w keeps the split labels through this many EM iterations after T (no E(x) update)
    grow_split: str = "graph"  # how the growth cuts a cluster in two: one of GROW_SPLITS
    weight_init: str = "glorot"  # glorot (Keras default) | normal (N(0, 0.02), the authors' code)
    net_width: float = 1.0  # multiplier of every hidden layer's filters and units of G, D and E (1: the authors' nets)
    reset_optimizers: bool = False  # True: fresh optimizer state (step count, moments) every EM iteration, as the authors' code

    def lr_factor(self, iteration: int) -> float:
        """The multiplier of every learning rate in EM iteration ``iteration`` (0-based): γ^max(0, iteration − S)."""
        return self.lr_decay ** max(0, iteration - self.lr_decay_start)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Also reads config.json files written before ``grow_split`` existed: their growth split by 2-means."""
        return cls(**{"grow_split": "2means", **d})


@dataclass
class ScheduleConfig:
    """Algorithm 1: n EM iterations of p M-epochs and q E-steps.

    ``first_m_epochs`` lets the first M-step run longer than the others. The
    first E-step should learn from "a well trained generator" (§5.1); with the
    paper's p = 5 epochs of 70,000 images that is ~5,500 steps, but a CPU
    schedule of p = 1 on 10,000 images is ~140 steps, after which G still
    draws noise and the first E-step hands the M-step an arbitrary partition.
    """

    iterations: int = 20  # n
    m_epochs: float = 5  # p: passes over the real data per M-step (a fraction runs that share of a pass)
    first_m_epochs: int | None = None  # p of the first EM iteration only (None: p)
    e_steps: int = 1000  # q: E-net steps per E-step


@dataclass
class SupervisionConfig:
    """Semi-supervised GAN-EM (§5.3): after every E-step the E-net is trained on
    ``labels`` labelled real images (balanced per class, chosen by the seed) with
    L_E = CE(E(x_real), u) until its error on them is below ``epsilon``, at most
    ``max_steps`` steps per E-step (the stopping rule when ε = 0 cannot be reached),
    with the E-net's optimizer at learning rate ``lr`` (``--label-lr``; None = the
    E-step's own rate ``lr_e``), decayed per iteration as the others are.
    The error is checked every :data:`SUPERVISION_CHECK` steps (or one pass over
    the labelled set when that is longer), so the cap is rounded up to whole checks.
    ``labels`` = 0 is unsupervised clustering."""

    labels: int = 0
    epsilon: float = 0.05
    max_steps: int = 1000  # cap on labelled-set steps per E-step (--label-steps)
    lr: float | None = None  # learning rate of the labelled-set steps (--label-lr); None = TrainConfig.lr_e

    @classmethod
    def from_dict(cls, d: dict) -> "SupervisionConfig":
        """Also reads config.json files written before ``max_steps`` (they held ``max_epochs`` rounds of checks)."""
        d = dict(d)
        if "max_epochs" in d:
            d["max_steps"] = d.pop("max_epochs") * SUPERVISION_CHECK
        return cls(**d)


@dataclass
class RuntimeConfig:
    """How to run: devices, compilation, seeds."""

    strategy: str = "auto"  # auto | mirrored | default
    jit_compile: bool = False
    mixed_precision: bool = False
    seed: int = 0
    deterministic: bool = False
    verbose: int = 2  # 0: summary only, 1: one log line per EM iteration, 2: also progress bars
    keep_every: int = 0  # N > 0: also keep the checkpoint of every N-th EM iteration (default: only the newest)


@dataclass
class RunConfig:
    """Everything that defines one clustering run."""

    clusters: int = 10
    embed_dim: int = 0  # k > 0: layer r of k units before the E-net's output (§5.4)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=lambda: train_preset(DEFAULT_PRESET))
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    supervision: SupervisionConfig = field(default_factory=SupervisionConfig)

    @property
    def semi_supervised(self) -> bool:
        return self.supervision.labels > 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        return cls(
            clusters=d["clusters"],
            embed_dim=d.get("embed_dim", 0),
            supervision=SupervisionConfig.from_dict(d.get("supervision", {})),
            data=DataConfig(**d["data"]),
            train=TrainConfig.from_dict(d["train"]),
            schedule=ScheduleConfig(**d["schedule"]),
            runtime=RuntimeConfig(**d["runtime"]),
        )


PRESETS = {
    "paper": TrainConfig(),
    "authors": TrainConfig(
        preset="authors",
        optimizer="adam",
        lr_g=6e-4,
        lr_d=2e-4,
        lr_e=6e-5,
        batch_size=70,
        e_batch_size=200,
        generator_loss="onehot",
        e_class_prior="uniform",
        real_unit_weight=2.0,
    ),
}


# The default: over 3 seeds on the bundled digits (paper_repro/RESULTS.md) ``authors``
# reached mean ACC 0.692 ± 0.022 and ``paper`` 0.630 ± 0.109.
DEFAULT_PRESET = "authors"


def train_preset(name: str) -> TrainConfig:
    """A fresh copy of the named :class:`TrainConfig` preset."""
    if name not in PRESETS:
        raise UserError(f"unknown --config {name!r}; choose one of: {', '.join(PRESETS)}")
    return dataclasses.replace(PRESETS[name])


def default_schedule(n_samples: int, batch_size: int) -> ScheduleConfig:
    """Algorithm 1's (n, p, q): n = 20, q = 1000, and p = 5 or more so an M-step is >= ~700 batches.

    The paper uses p = 5 epochs of 70,000 images (~5,500 steps) and q = 1000;
    on small data 5 epochs are only a few dozen steps, too few for the GAN to
    move, so p grows until an M-step is at least ~700 batches, capped at 50.
    """
    steps_per_epoch = max(1, n_samples // batch_size)
    m_epochs = max(5, min(50, -(-700 // steps_per_epoch)))
    return ScheduleConfig(iterations=20, m_epochs=m_epochs, e_steps=1000)
