"""DNN-MM's own settings (``config.json``'s ``train`` for ``--method minmax-em``; ClusterGAN's subclass them).

The slides fix the model and the objective (Eq. 1–13) and leave these open; each is a field here:

* ``latent_dim`` d ≥ K (0: d = K) and ``separation``: the fixed means μ_k = (separation / √2) · e_k, the first
  K axes of R^d, so any two means are ``separation`` apart. With identity covariances two components overlap
  by Φ(−separation / 2) along the line between them: 6 gives 0.13 %. d = K by default: every latent axis then
  carries a component's mean, whereas axes beyond K hold only noise, which E cannot recover from G(y) when
  the data have few degrees of freedom, and which then swamps the component in ‖y − E(G(y))‖² (three blobs
  in 4-D, seed 0: ACC 0.67 with d = 32, one component emptied; 0.997 with d = 3; RESULTS.md).
* ``consistency`` λ1 and ``gan_weight`` λ2 of Eq. 12; the likelihood term has weight 1. Every term is a mean
  over the batch of the per-sample quantity (Eq. 12's sums over n and s divided by the batch size).
* ``init``: the memberships the first M-step trains with. ``none``: γ = 0, so G, E and D first learn the
  mixture without the likelihood term and the first E-step reads the partition off that encoder; which digits
  share a component is then whatever G's components happened to draw. ``tsne-ward``: each sample's cluster
  from Ward's clustering of a t-SNE map of the data (:func:`gan_em_tf.baselines.tsne_ward`), crisp, and ω their
  shares. Starting EM from a classical clustering is the standard start for mixtures (scikit-learn's
  GaussianMixture starts from k-means); DNN-MM's EM keeps the start's partition (ACC within −0.01 and +0.03 of
  the start's), so the start sets the result, and t-SNE + Ward is taken because it clustered every set measured
  here best (at seed 10, MNIST 0-4 / 0-6 / digits / UCI Segmentation: 0.980 / 0.956 / 0.951 / 0.736 against
  Ward on 50 principal components' 0.973 / 0.788 / 0.839 / 0.708 and k-means' 0.871 / 0.705 / 0.792 / 0.665:
  RESULTS.md). E then maps each of those clusters to its mean from the
  first step, so G's component k is held to draw what cluster k holds, as labelled samples hold it with
  Eq. 13. With labels each image takes the class of its nearest labelled images on the same map
  (:func:`gan_em_tf.baselines.tsne_label_spread`; Ward's K clusters named by the labels joined part of the 5s
  to the 3s on MNIST 0-6 whatever the labels said) and the labelled images keep their own class. The slides
  do not say how EM starts.
* ``critic``: ``bce`` reads Eq. 7–8 as the standard GAN game (as printed, D's objective is unbounded below:
  D(G(y)) → 0 sends log D(G(y)) to −∞): D minimises BCE(D(x), real) + BCE(D(G(y)), fake), G maximises
  log D(G(y)) (the non-saturating form of the printed term). ``gp``: WGAN-GP, as ClusterGAN trains.
"""
from __future__ import annotations

from dataclasses import dataclass

from gan_em_tf.configio import from_dict_strict

CRITICS = ("bce", "gp")
INITS = ("none", "tsne-ward")


@dataclass
class TrainConfig:
    """Networks, latent mixture, loss weights and optimizers of one MinMax+EM run."""

    lr: float = 2e-4  # Adam, every network
    beta_2: float = 0.999  # Adam's β2 (β1 = 0.5)
    batch_size: int = 64
    critic: str = "bce"  # bce: Eq. 7–8 as the standard GAN game | gp: WGAN-GP
    critic_steps: int = 1  # discriminator updates per generator/encoder update
    gp_weight: float = 10.0  # with critic = gp
    latent_dim: int = 0  # d (≥ K); 0: K
    separation: float = 6.0  # ‖μ_i − μ_j‖ for i ≠ j
    consistency: float = 1.0  # λ1: ‖y − E(G(y))‖² (Eq. 5–6)
    gan_weight: float = 1.0  # λ2 (Eq. 7–8)
    net_width: float = 1.0  # multiplier of every hidden layer (1: ClusterGAN's networks)
    init: str = "none"  # γ before the first E-step: none (no likelihood term yet) | tsne-ward

    @classmethod
    def from_dict(cls, d: dict, m_epochs: float = 1.0) -> "TrainConfig":
        return from_dict_strict(cls, dict(d), "train")
