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


def compiles_with_xla(shape: tuple, requested: bool) -> bool:
    """Whether a method compiles its phases for ``shape`` with XLA: as requested (``--xla``/``--no-xla``) for
    MLP networks, and for every network on a GPU; never for convolutional ones on CPUs, whose XLA kernels run
    slower there than TensorFlow's oneDNN kernels (GAN-EM's 28×28 M-step 3.5 against 4.4 steps/s, E-step 3.4
    against 4.9; GANMM's about 6× slower: paper_repro/RESULTS.md, Speed). (No GPU was at hand to measure XLA's
    effect there; ``--no-xla`` turns it off.) Called once TensorFlow runs."""
    if not requested or not uses_conv(shape):
        return requested
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))
