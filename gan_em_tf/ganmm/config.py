"""GANMM's own settings (``config.json``'s ``train`` for ``--method ganmm`` and ``ganmm-em``).

Field defaults are the paper's and the authors' code's (ANCHORS.md): RMSprop 5e-5 for every generator,
critic and the classifier, batch 50, five critic steps per generator step, weight clipping at ±0.01.
"""
from __future__ import annotations

from dataclasses import dataclass

from gan_em_tf.configio import from_dict_strict

CRITICS = ("clip", "gp")
OPTIMIZERS = ("rmsprop", "adam")


@dataclass
class TrainConfig:
    """The K WGANs, the ε-E-step classifier and the augmentation σ_t (paper Algorithm 1)."""

    optimizer: str = "rmsprop"  # rmsprop (paper, code) | adam (β = (0.5, 0.9), as WGAN-GP)
    lr: float = 5e-5  # every generator, critic and the classifier
    batch_size: int = 50  # real (and generated) images per critic step
    critic_steps: int = 5  # critic updates per generator update
    critic: str = "clip"  # clip: WGAN, every critic weight in ±clip (not BatchNorm's) | gp: WGAN-GP
    clip: float = 0.01
    gp_weight: float = 10.0
    noise_dim: int = 0  # 0: the authors' 128 for images, 64 for vectors
    net_width: float = 1.0  # multiplier of every hidden layer (1: the authors' networks)
    e_batch_size: int = 50  # generated images per generator in one classifier step (balanced, as the code)
    augment: float = 0.5  # σ_0: instances of other clusters added to cluster i, as a share of |D_i|
    augment_until: int = 10  # σ_t falls linearly from σ_0 to 0 at this EM iteration

    def augment_share(self, iteration: int) -> float:
        """σ_t / |D_i| in EM iteration ``iteration`` (0-based): linear from ``augment`` to 0 at ``augment_until``."""
        if self.augment_until <= 0:
            return 0.0
        return self.augment * max(0.0, 1.0 - iteration / self.augment_until)

    @classmethod
    def from_dict(cls, d: dict, m_epochs: float = 1.0) -> "TrainConfig":
        return from_dict_strict(cls, dict(d), "train")
