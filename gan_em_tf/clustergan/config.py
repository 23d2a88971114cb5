"""ClusterGAN's settings: the official code's (ANCHORS.md) — WGAN-GP (λ = 10), 5 critic steps per generator
step, Adam 1e-4 with β = (0.5, 0.9), batch 64, z_n of 30 dimensions at σ = 0.1, β_n = β_c = 10."""
from __future__ import annotations

from dataclasses import dataclass

from gan_em_tf.dnnmm import config


@dataclass
class TrainConfig(config.TrainConfig):
    """DNN-MM's fields; ``latent_dim`` is z_n's size (the latent point is [z_n, one-hot(K)]), ``consistency`` is
    β_n = β_c, ``separation`` is unused."""

    lr: float = 1e-4
    beta_2: float = 0.9
    critic: str = "gp"
    critic_steps: int = 5
    latent_dim: int = 30
    consistency: float = 10.0
