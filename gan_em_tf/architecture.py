"""Which network family a sample shape gets — without importing TensorFlow, so that a recipe can be chosen
and flags checked before it starts (:mod:`gan_em_tf.networks` builds them)."""
from __future__ import annotations

CONV_MIN_SIDE = 16


def conv_stages(shape: tuple) -> int:
    """Number of stride-2 stages of G (2 up to 32×32, 3 above), 0 for MLP inputs."""
    if len(shape) != 3 or min(shape[:2]) < CONV_MIN_SIDE:
        return 0
    stages = 2 if max(shape[:2]) <= 32 else 3
    return stages if shape[0] % 2**stages == 0 and shape[1] % 2**stages == 0 else 0


def uses_conv(shape: tuple) -> bool:
    """Convolutional nets for images with both sides ≥ 16 and divisible by 2^stages; MLPs otherwise."""
    return conv_stages(shape) > 0
