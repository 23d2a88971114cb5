"""GANMM's run settings checked against each other and the data, before TensorFlow is imported."""
from __future__ import annotations

from gan_em_tf.checks import common
from gan_em_tf.errors import UserError
from gan_em_tf.ganmm.config import CRITICS, OPTIMIZERS


def validate(cfg, ds) -> None:
    """All checks of a GANMM (or GANMM (EM)) run on ``ds``."""
    t = cfg.train
    common(cfg, ds)
    if cfg.semi_supervised:
        raise UserError(f"--method {cfg.method} clusters without labels; drop --labels (or use --method gan-em)")
    if cfg.embed_dim:
        raise UserError(f"--method {cfg.method} has no embedding layer; drop --embed-dim (or use --method gan-em)")
    if t.critic not in CRITICS or t.optimizer not in OPTIMIZERS:
        raise UserError(f"--critic must be one of {', '.join(CRITICS)} and train.optimizer one of "
                        f"{', '.join(OPTIMIZERS)}, got {t.critic!r} / {t.optimizer!r}")
    for name, value in (("--lr", t.lr), ("--net-width", t.net_width), ("train.clip", t.clip)):
        if not value > 0:
            raise UserError(f"{name} must be positive, got {value}")
    for name, value in (("--batch-size", t.batch_size), ("--critic-steps", t.critic_steps),
                        ("train.e_batch_size", t.e_batch_size)):
        if value < 1:
            raise UserError(f"{name} must be a positive integer, got {value}")
    if not 0 <= t.augment < 1 or t.augment_until < 0:
        raise UserError(f"train.augment must be in [0, 1) and train.augment_until ≥ 0, got {t.augment} / "
                        f"{t.augment_until} (config.json)")
    if len(ds) < t.batch_size:
        raise UserError(f"only {len(ds)} samples for a batch of {t.batch_size}; lower --batch-size")


def lr_schedule_change(old, new, done: int) -> None:
    """GANMM's rates do not change over a run; a resume takes no rate flag."""
