"""DNN-MM's named recipes (``gan-em cluster --method minmax-em --recipe NAME``; ``gan-em recipes --method
minmax-em``). ``slides`` is Eq. 12–13 with this package's reading of what the slides leave open
(:mod:`gan_em_tf.dnnmm.config`); ``tsne-start`` adds the start of EM they do not give."""
from __future__ import annotations

from gan_em_tf.recipes import Recipe

RECIPES = {r.name: r for r in [
    Recipe("slides", "Eq. 12 (Eq. 13 with labels): ClusterGAN's networks, means 6 apart in d = K dimensions, "
           "λ1 = λ2 = 1, Adam 2e-4, batch 64; a first M-step of 10 passes without memberships, then one pass per "
           "M-step and γ and ω in closed form",
           {"schedule.iterations": 15, "schedule.m_epochs": 1.0, "schedule.first_m_scale": 10.0}),
    Recipe("tsne-start", "slides with the memberships started from Ward's clustering of a t-SNE map of the data "
           "(--init tsne-ward; with labels each image takes the class of its nearest labelled images on the "
           "map): the start of EM the slides leave open (paper_repro/RESULTS.md)",
           {"train.init": "tsne-ward"}, based_on="slides"),
]}


def default_recipe(conv_networks: bool, clusters: int, labels: int) -> str:
    """``tsne-start``, with or without labels: measured better than ``slides``' start from G's own components
    (MNIST 0–4 without labels and with 5 % labelled, paper_repro/RESULTS.md)."""
    return "tsne-start"
