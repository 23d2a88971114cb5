"""ClusterGAN's named recipes (``gan-em cluster --method clustergan --recipe NAME``)."""
from __future__ import annotations

from gan_em_tf.recipes import Recipe

RECIPES = {r.name: r for r in [
    Recipe("official", "the official code's settings: WGAN-GP, 5 critic steps, Adam 1e-4 β = (0.5, 0.9), batch 64, "
           "z = [0.1 N(0, I)^30, one-hot], β_n = β_c = 10; 30 iterations of one pass each (the official 500,000 "
           "generator steps are a GPU's job)", {"schedule.iterations": 30, "schedule.m_epochs": 1.0}),
]}


def default_recipe(conv_networks: bool, clusters: int, labels: int) -> str:
    return "official"
