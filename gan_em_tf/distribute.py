"""Choosing the tf.distribute strategy (``--strategy auto|mirrored|default``)."""
from __future__ import annotations

import tensorflow as tf

from gan_em_tf.config import STRATEGIES
from gan_em_tf.errors import UserError


def make_strategy(name: str = "auto", devices: list[str] | None = None) -> tf.distribute.Strategy:
    """``auto``: MirroredStrategy when more than one GPU is visible, else the default strategy."""
    if name not in STRATEGIES:
        raise UserError(f"unknown --strategy {name!r}; choose one of: {', '.join(STRATEGIES)}")
    if name == "auto":
        name = "mirrored" if len(tf.config.list_logical_devices("GPU")) > 1 else "default"
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices)
    return tf.distribute.get_strategy()
