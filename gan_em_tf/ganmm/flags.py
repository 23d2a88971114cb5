"""GANMM's own flags, each overriding one value of the recipe (:mod:`gan_em_tf.flags`)."""
from __future__ import annotations

from gan_em_tf.flags import Flag
from gan_em_tf.ganmm.config import CRITICS

FLAGS = (
    Flag("--lr", "train.lr", "learning rate of every generator, critic and the classifier (paper: 5e-5)",
         {"type": float, "metavar": "LR"}),
    Flag("--batch-size", "train.batch_size", "real (and generated) samples per critic step (paper: 50)",
         {"type": int, "metavar": "B"}),
    Flag("--critic-steps", "train.critic_steps", "critic updates per generator update (paper: 5)",
         {"type": int, "metavar": "N"}),
    Flag("--critic", "train.critic", "clip: WGAN with weight clipping (the paper); gp: WGAN-GP's gradient penalty",
         {"choices": CRITICS}),
    Flag("--net-width", "train.net_width", "multiply every hidden layer of the generators, critics and the "
         "classifier by W (1: the authors' networks)", {"type": float, "metavar": "W"}),
)
SUPERVISION = ()
RESUMABLE = ("--iterations",)
