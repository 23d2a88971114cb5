"""GANMM's networks (the authors' code, ANCHORS.md), sized from the sample shape.

Images (both sides ≥ 16, :func:`gan_em_tf.architecture.uses_conv`):

* G: z ~ N(0, I)^128 → FC s·s·4W → BN → ReLU → ConvT 5×5 s2 2W (cropped to H/4 for 28×28) → BN → ReLU →
  ConvT 5×5 s2 W → BN → ReLU → ConvT 5×5 s2 C → sigmoid, with s = ⌈H/8⌉ and W = 64.
* critic: Conv 5×5 s2 W → LReLU 0.2 → Conv 2W → BN → LReLU → Conv 4W → BN → LReLU → FC 1.
* classifier: Conv 5×5 s2 W → ReLU → Conv 2W → ReLU → FC 4W → ReLU → FC K logits (the paper's "two
  convolution layers and two dense layers"; the code has one dense layer).

Vectors and small images: G z^64 → 64 → ReLU → d (linear, or sigmoid for images); critic d → 64 → ReLU → 1;
classifier d → 64 → ReLU → K.

Two defects of the authors' code are not copied: its classifier ends in a softmax that is fed to a
softmax cross-entropy (softmax twice) — here the classifier gives logits; its weight clipping reaches
the critic's BatchNorm scale and offset — here only kernels and biases are clipped (a Keras constraint,
applied by the optimizer after every update, also under a distribution strategy). (The third, a vector
classifier layer never trained, cannot happen: every classifier variable is trained.)
"""
from __future__ import annotations

import functools
import math

import keras
from keras import layers

from gan_em_tf.architecture import uses_conv
from gan_em_tf.networks import batch_norm, scaled_units


@keras.saving.register_keras_serializable(package="gan_em_tf")
class Clip(keras.constraints.Constraint):
    """WGAN's weight clipping: every value in [−c, c]."""

    def __init__(self, c: float):
        self.c = float(c)

    def __call__(self, w):
        return keras.ops.clip(w, -self.c, self.c)

    def get_config(self):
        return {"c": self.c}


def noise_dim(shape: tuple, configured: int = 0) -> int:
    """The authors' noise size: 128 for images with convolutional networks, 64 for vectors (or ``configured``)."""
    return configured or (128 if uses_conv(shape) else 64)


def build_generator(shape: tuple, noise: int, width: float = 1.0, sync_bn: bool = False, name: str = "generator"):
    """G(z): noise [N, noise] ~ N(0, I) → samples of ``shape`` (in [0, 1] for images)."""
    u = functools.partial(scaled_units, width=width)
    z = keras.Input((noise,), name="noise")
    if uses_conv(shape):
        h_side, w_side, channels = shape
        base_h, base_w = -(-h_side // 8), -(-w_side // 8)
        h = layers.Dense(base_h * base_w * u(256))(z)
        h = layers.ReLU()(batch_norm(sync_bn)(h))
        h = layers.Reshape((base_h, base_w, u(256)))(h)
        for filters, divisor in ((u(128), 4), (u(64), 2)):
            h = layers.Conv2DTranspose(filters, 5, 2, padding="same")(h)
            extra_h, extra_w = h.shape[1] - h_side // divisor, h.shape[2] - w_side // divisor
            if extra_h or extra_w:  # 8 → 7 for 28×28, as the authors' [:7, :7]
                h = layers.Cropping2D(((0, extra_h), (0, extra_w)))(h)
            h = layers.ReLU()(batch_norm(sync_bn)(h))
        h = layers.Conv2DTranspose(channels, 5, 2, padding="same")(h)
        out = layers.Activation("sigmoid", dtype="float32", name="sample")(h)
    else:
        h = layers.ReLU()(layers.Dense(u(64))(z))
        h = layers.Dense(math.prod(shape))(h)
        image = len(shape) > 1  # small images stay in [0, 1]; vectors are linear, as the authors'
        h = layers.Activation("sigmoid" if image else "linear", dtype="float32")(h)
        out = layers.Reshape(shape, name="sample")(h)
    return keras.Model(z, out, name=name)


def build_critic(shape: tuple, width: float = 1.0, clip: float | None = None, sync_bn: bool = False,
                 name: str = "critic"):
    """f(x) → one unbounded score per sample (the WGAN critic); ``clip``: every kernel and bias in ±clip."""
    u = functools.partial(scaled_units, width=width)
    limits = {} if clip is None else {"kernel_constraint": Clip(clip), "bias_constraint": Clip(clip)}
    x = keras.Input(shape, name="images")
    if uses_conv(shape):
        h = layers.LeakyReLU(0.2)(layers.Conv2D(u(64), 5, 2, padding="same", **limits)(x))
        for filters in (u(128), u(256)):
            h = layers.LeakyReLU(0.2)(batch_norm(sync_bn)(layers.Conv2D(filters, 5, 2, padding="same", **limits)(h)))
        h = layers.Flatten()(h)
    else:
        h = layers.ReLU()(layers.Dense(u(64), **limits)(layers.Flatten()(x)))
    score = layers.Dense(1, dtype="float32", **limits)(h)
    return keras.Model(x, layers.Reshape((), name="score")(score), name=name)


def build_classifier(shape: tuple, clusters: int, width: float = 1.0, name: str = "classifier"):
    """h_q(x) → K logits: the ε-E-step's classifier of moderate capacity (§3)."""
    u = functools.partial(scaled_units, width=width)
    x = keras.Input(shape, name="images")
    if uses_conv(shape):
        h = layers.ReLU()(layers.Conv2D(u(64), 5, 2, padding="same")(x))
        h = layers.ReLU()(layers.Conv2D(u(128), 5, 2, padding="same")(h))
        h = layers.ReLU()(layers.Dense(u(256))(layers.Flatten()(h)))
    else:
        h = layers.ReLU()(layers.Dense(u(64))(layers.Flatten()(x)))
    return keras.Model(x, layers.Dense(clusters, dtype="float32", name="logits")(h), name=name)
