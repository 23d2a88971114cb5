"""ClusterGAN's flags: DNN-MM's but the mixture's means and its start (:mod:`gan_em_tf.dnnmm.flags`)."""
from __future__ import annotations

from gan_em_tf.dnnmm import flags
from gan_em_tf.flags import Flag

SCHEDULE = flags.SCHEDULE
FLAGS = tuple(f for f in flags.FLAGS if f.name not in ("--latent-dim", "--separation", "--consistency", "--init")) + (
    Flag("--latent-dim", "train.latent_dim", "size of z_n (official: 30)", {"type": int, "metavar": "d"}),
    Flag("--consistency", "train.consistency", "β_n = β_c: weight of z_n's MSE and z_c's cross-entropy (official: "
         "10; also the labelled images' cross-entropy of ClusterGANss)", {"type": float, "metavar": "β"}),
)
SUPERVISION = ()
RESUMABLE = ("--iterations",)
