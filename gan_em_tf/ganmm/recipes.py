"""GANMM's named recipes (``gan-em cluster --method ganmm --recipe NAME``; ``gan-em recipes --method ganmm``).

``paper`` is the paper's Algorithm 1 with the authors' code's settings (RMSprop 5e-5, batch 50, 5 critic
steps, clipping ±0.01); the others are the schedules measured best on this project's CPU machines
(paper_repro/RESULTS.md). ``ganmm-em`` takes the same recipes.
"""
from __future__ import annotations

from gan_em_tf.recipes import Recipe

RECIPES = {r.name: r for r in [
    Recipe("paper", "Algorithm 1 with the authors' settings: RMSprop 5e-5 for every network, batch 50, 5 critic "
           "steps per generator step, weight clipping ±0.01, σ from half of each cluster to 0 over 10 EM iterations",
           {"schedule.iterations": 30, "schedule.m_epochs": 5.0, "schedule.first_m_scale": 2.0,
            "schedule.e_steps": 500}),
    Recipe("vectors", "feature vectors (the UCI sets): the authors' MLP networks trained as WGAN-GP with Adam 2e-4 "
           "(weight clipping with RMSprop did not part three separated blobs); short EM iterations (10 passes, at "
           "most 24 steps per pair, and 50 classifier steps) re-assign the data often at any data size, as the "
           "authors' code does per batch; σ reaches 0 at iteration 75 of 150",
           {"train.critic": "gp", "train.optimizer": "adam", "train.lr": 2e-4, "train.augment_until": 75,
            "schedule.iterations": 150, "schedule.m_epochs": 10.0, "schedule.m_steps": 24,
            "schedule.first_m_scale": 2.0, "schedule.e_steps": 50}),
    Recipe("vectors-long", "vectors at ten times the EM iterations (1,500, σ reaching 0 at iteration 750), nearer "
           "the authors' code's scale: ten times the time; on the UCI sets purity up on every reported seed of "
           "Image Segmentation, ARI and NMI on every seed of Artificial Characters (paper_repro/RESULTS.md)",
           {"schedule.iterations": 1500, "train.augment_until": 750}, based_on="vectors"),
]}


def default_recipe(conv_networks: bool, clusters: int, labels: int) -> str:
    """Images take ``paper``, feature vectors and small images ``vectors``."""
    return "paper" if conv_networks else "vectors"
