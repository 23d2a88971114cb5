"""The three networks as Functional Keras models, sized from the input shape.

For images of side ≥ 16 they follow the InfoGAN-style nets of the authors'
code (paper Appendix B; ANCHORS.md):

* G: one-hot(K) ⊕ noise → FC 1024 → BN → ReLU → FC 128·(H/4)·(W/4) → BN → ReLU
  → ConvT 64 (4×4, s2) → BN → ReLU → ConvT C (4×4, s2) → sigmoid.
* D: Conv 64 → Conv 128 → Conv 256 (4×4, s2, BN, LeakyReLU 0.2) → FC 1024 → BN
  → LeakyReLU → K + 1 logits (K class units of Eq. 2, one real/fake unit, §4.3).
* E-net: the same trunk → [layer r of k units, §5.4] → K logits.

For small inputs (8×8 digits, feature vectors) the same roles are small MLPs.
With ``sync_bn`` the BatchNorm layers are ``synchronized`` so that statistics
are over the global batch under a MirroredStrategy (one step on 1 or 2
replicas gives the same weights); on one replica plain BatchNorm is the same
computation without the all-reduce. Logits are float32 even under a
mixed-precision policy.
"""
from __future__ import annotations

import math

import keras
from keras import layers

CONV_MIN_SIDE = 16


def uses_conv(shape: tuple) -> bool:
    """Convolutional nets for images with both sides ≥ 16 and divisible by 4."""
    return len(shape) == 3 and min(shape[:2]) >= CONV_MIN_SIDE and shape[0] % 4 == 0 and shape[1] % 4 == 0


def _bn(sync: bool):
    return layers.BatchNormalization(synchronized=sync, momentum=0.9, epsilon=1e-5)


def build_generator(shape: tuple, clusters: int, noise_dim: int, sync_bn: bool = False) -> keras.Model:
    """G(z, c): noise [N, noise_dim] and one-hot class [N, K] → samples in [0, 1] of ``shape``."""
    z = keras.Input((noise_dim,), name="noise")
    c = keras.Input((clusters,), name="class_onehot")
    h = layers.Concatenate()([c, z])
    if uses_conv(shape):
        hh, ww, ch = shape
        for units in (1024, 128 * (hh // 4) * (ww // 4)):
            h = layers.ReLU()(_bn(sync_bn)(layers.Dense(units)(h)))
        h = layers.Reshape((hh // 4, ww // 4, 128))(h)
        h = layers.ReLU()(_bn(sync_bn)(layers.Conv2DTranspose(64, 4, 2, padding="same")(h)))
        h = layers.Conv2DTranspose(ch, 4, 2, padding="same")(h)
    else:
        for units in (256, 256):
            h = layers.ReLU()(_bn(sync_bn)(layers.Dense(units)(h)))
        h = layers.Dense(math.prod(shape))(h)
        h = layers.Reshape(shape)(h)
    out = layers.Activation("sigmoid", dtype="float32", name="sample")(h)
    return keras.Model([z, c], out, name="generator")


def _trunk(x, shape: tuple, sync_bn: bool):
    """Shared feature extractor f(x) of D and E (§4.3)."""
    if uses_conv(shape):
        h = x
        for filters in (64, 128, 256):
            h = layers.LeakyReLU(0.2)(_bn(sync_bn)(layers.Conv2D(filters, 4, 2, padding="same")(h)))
        h = layers.Flatten()(h)
        return layers.LeakyReLU(0.2)(_bn(sync_bn)(layers.Dense(1024)(h)))
    h = layers.Flatten()(x)
    for units in (256, 256):
        h = layers.LeakyReLU(0.2)(layers.Dense(units)(h))
    return h


def build_discriminator(shape: tuple, clusters: int, sync_bn: bool = False) -> keras.Model:
    """D(x) → K + 1 logits: σ(logit_i) = D_i(x) of Eq. 2 for i < K; index K is real-vs-fake."""
    x = keras.Input(shape, name="images")
    h = _trunk(x, shape, sync_bn)
    logits = layers.Dense(clusters + 1, dtype="float32", name="logits")(h)
    return keras.Model(x, logits, name="discriminator")


def build_enet(shape: tuple, clusters: int, embed_dim: int | None = None, sync_bn: bool = False) -> keras.Model:
    """E-net: x → K logits (softmax = w of Eq. 4); optional layer r of ``embed_dim`` units (§5.4)."""
    x = keras.Input(shape, name="images")
    h = _trunk(x, shape, sync_bn)
    if embed_dim:
        h = layers.Dense(embed_dim, name="embedding")(h)
        h = layers.LeakyReLU(0.2)(h)
    logits = layers.Dense(clusters, dtype="float32", name="logits")(h)
    return keras.Model(x, logits, name="enet")
