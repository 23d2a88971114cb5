"""The generator G(y), encoder E(x) and discriminator D(x) of DNN-MM and ClusterGAN, sized from the sample shape.

Images (both sides ≥ 16): ClusterGAN's official networks (ANCHORS.md), with one more stride-2 stage for 64×64:

* G: y → FC 1024 → BN → ReLU → FC (H/4)(W/4)·128 → BN → ReLU → ConvT 64 (4×4, s2) → BN → ReLU → ConvT C (4×4,
  s2) → sigmoid.
* D: Conv 64 (4×4, s2) → LReLU 0.2 → Conv 128 → LReLU → FC 1024 → LReLU → FC 1 (no BatchNorm, so that a
  gradient penalty is per sample).
* E: D's trunk → ``outputs`` linear units.

Vectors and small images (8×8 digits): G y → 256 → ReLU → 256 → ReLU → d (sigmoid for images, linear for
vectors); D and E: d → 256 → LReLU → 256 → LReLU → 1 / ``outputs``.
"""
from __future__ import annotations

import functools
import math

import keras
from keras import layers

from gan_em_tf.architecture import conv_stages
from gan_em_tf.networks import Dense, batch_norm, scaled_units


def build_generator(shape: tuple, latent: int, width: float = 1.0, sync_bn: bool = False, name: str = "generator"):
    """G(y): latent points [N, latent] → samples of ``shape`` (in [0, 1] for images)."""
    u = functools.partial(scaled_units, width=width)
    y = keras.Input((latent,), name="latent")
    stages = conv_stages(shape)
    if stages:
        h_side, w_side, channels = shape
        side_h, side_w = h_side // 2**stages, w_side // 2**stages
        h = layers.ReLU()(batch_norm(sync_bn)(layers.Dense(u(1024))(y)))
        h = layers.ReLU()(batch_norm(sync_bn)(layers.Dense(side_h * side_w * u(128))(h)))
        h = layers.Reshape((side_h, side_w, u(128)))(h)
        for filters in [u(128)] * (stages - 2) + [u(64)]:
            h = layers.ReLU()(batch_norm(sync_bn)(layers.Conv2DTranspose(filters, 4, 2, padding="same")(h)))
        h = layers.Conv2DTranspose(channels, 4, 2, padding="same")(h)
        out = layers.Activation("sigmoid", dtype="float32", name="sample")(h)
    else:
        h = layers.ReLU()(layers.Dense(u(256))(y))
        h = layers.ReLU()(layers.Dense(u(256))(h))
        h = layers.Dense(math.prod(shape))(h)
        h = layers.Activation("sigmoid" if len(shape) > 1 else "linear", dtype="float32")(h)
        out = layers.Reshape(shape, name="sample")(h)
    return keras.Model(y, out, name=name)


def _trunk(x, shape: tuple, width: float):
    u = functools.partial(scaled_units, width=width)
    stages = conv_stages(shape)
    if stages:
        h = x
        for filters in [u(64), u(128)] + [u(256)] * (stages - 2):
            h = layers.LeakyReLU(0.2)(layers.Conv2D(filters, 4, 2, padding="same")(h))
        return layers.LeakyReLU(0.2)(Dense(u(1024))(layers.Flatten()(h)))
    h = layers.LeakyReLU(0.2)(layers.Dense(u(256))(layers.Flatten()(x)))
    return layers.LeakyReLU(0.2)(layers.Dense(u(256))(h))


def build_discriminator(shape: tuple, width: float = 1.0, name: str = "discriminator"):
    """D(x) → one logit per sample (the probability of "real" is its sigmoid; a WGAN critic's score with gp)."""
    x = keras.Input(shape, name="images")
    logit = layers.Dense(1, dtype="float32")(_trunk(x, shape, width))
    return keras.Model(x, layers.Reshape((), name="logit")(logit), name=name)


def build_encoder(shape: tuple, outputs: int, width: float = 1.0, name: str = "encoder"):
    """E(x) → ``outputs`` linear units: a latent point (DNN-MM) or [z_n, z_c logits] (ClusterGAN)."""
    x = keras.Input(shape, name="images")
    return keras.Model(x, layers.Dense(outputs, dtype="float32", name="latent")(_trunk(x, shape, width)), name=name)
