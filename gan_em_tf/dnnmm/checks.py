"""DNN-MM's (and ClusterGAN's) run settings checked against each other and the data, before TensorFlow starts."""
from __future__ import annotations

from gan_em_tf.checks import common, labels_fit
from gan_em_tf.dnnmm.config import CRITICS, INITS
from gan_em_tf.errors import UserError


def validate(cfg, ds) -> None:
    t = cfg.train
    common(cfg, ds)
    labels_fit(cfg, ds)
    if cfg.embed_dim:
        raise UserError(f"--method {cfg.method} embeds with its encoder (embedding.npy, the embed endpoint) and has "
                        "no --embed-dim; drop it")
    if t.critic not in CRITICS:
        raise UserError(f"train.critic must be one of {', '.join(CRITICS)}, got {t.critic!r} (config.json)")
    if t.init not in INITS:
        raise UserError(f"train.init must be one of {', '.join(INITS)}, got {t.init!r} (config.json)")
    if t.init != "none" and cfg.method == "clustergan":
        raise UserError(f"--init {t.init} starts the memberships of minmax-em; ClusterGAN has none: drop --init")
    for name, value in (("--lr", t.lr), ("--net-width", t.net_width), ("--separation", t.separation)):
        if not value > 0:
            raise UserError(f"{name} must be positive, got {value}")
    for name, value in (("--consistency", t.consistency), ("--gan-weight", t.gan_weight)):
        if not value >= 0:
            raise UserError(f"{name} must be 0 or positive, got {value}")
    for name, value in (("--batch-size", t.batch_size), ("train.critic_steps", t.critic_steps)):
        if value < 1:
            raise UserError(f"{name} must be a positive integer, got {value}")
    if t.latent_dim < 0 or (cfg.method == "clustergan" and t.latent_dim < 1):
        raise UserError(f"--latent-dim must be a positive integer, got {t.latent_dim}")
    if cfg.method == "minmax-em" and 0 < t.latent_dim < cfg.clusters:
        raise UserError(f"--latent-dim {t.latent_dim} is below --clusters {cfg.clusters}: each component's mean "
                        f"takes its own axis; pass --latent-dim {cfg.clusters} or more")
    if len(ds) < t.batch_size:
        raise UserError(f"only {len(ds)} samples for a batch of {t.batch_size}; lower --batch-size")


def lr_schedule_change(old, new, done: int) -> None:
    """The rates do not change over a run; a resume takes no rate flag."""
