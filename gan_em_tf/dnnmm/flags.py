"""DNN-MM's own flags, each overriding one value of the recipe (:mod:`gan_em_tf.flags`). Its E-step computes
γ in closed form and trains nothing, so the shared ``--e-steps`` is not among them."""
from __future__ import annotations

from gan_em_tf.dnnmm.config import INITS
from gan_em_tf.flags import SCHEDULE as SHARED, Flag

SCHEDULE = tuple(f for f in SHARED if f.name != "--e-steps")
FLAGS = (
    Flag("--lr", "train.lr", "Adam learning rate of every network", {"type": float, "metavar": "LR"}),
    Flag("--batch-size", "train.batch_size", "real (and generated) samples per step", {"type": int, "metavar": "B"}),
    Flag("--latent-dim", "train.latent_dim", "latent dimension d (≥ K; default K): the means are scaled one-hot "
         "directions of its first K axes", {"type": int, "metavar": "d"}),
    Flag("--separation", "train.separation", "distance between any two component means (unit covariances)",
         {"type": float, "metavar": "S"}),
    Flag("--consistency", "train.consistency", "λ1: weight of ‖y − E(G(y))‖² (Eq. 5–6)",
         {"type": float, "metavar": "λ1"}),
    Flag("--gan-weight", "train.gan_weight", "λ2: weight of the GAN terms (Eq. 7–8)", {"type": float, "metavar": "λ2"}),
    Flag("--init", "train.init", "memberships γ of the first M-step: none (the likelihood term waits for the first "
         "E-step) or tsne-ward (each sample's cluster from Ward's clustering of a t-SNE map of the data: a "
         "classical start for EM; not in the slides; with labels each sample takes the class of its nearest "
         "labelled samples on the map)",
         {"choices": INITS}),
    Flag("--net-width", "train.net_width", "multiply every hidden layer by W (1: ClusterGAN's networks)",
         {"type": float, "metavar": "W"}),
)
SUPERVISION = ()
RESUMABLE = ("--iterations",)
