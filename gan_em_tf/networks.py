"""The three networks as Functional Keras models, sized from the input shape.

For images of side ≥ 16 they follow the InfoGAN-style nets of the authors'
code (paper Appendix B; ANCHORS.md). For 28×28 (MNIST) and 32×32 (SVHN):

* G: one-hot(K) ⊕ noise → FC 1024 → BN → ReLU → FC 128·(H/4)·(W/4) → BN → ReLU
  → ConvT 64 (4×4, s2) → BN → ReLU → ConvT C (4×4, s2) → sigmoid.
* D: Conv 64 → Conv 128 → Conv 256 (4×4, s2, BN, LeakyReLU 0.2) → FC 1024 → BN
  → LeakyReLU → K + 1 logits (K class units of Eq. 2, one real/fake unit, §4.3).
* E-net: the same trunk → [layer r of k units, §5.4] → K logits.

Larger images (CelebA 64×64) get one more stride-2 stage in each net, so the
first feature map stays ≤ 8×8: G projects to 256·(H/8)·(W/8) and upsamples
256 → 128 → 64 → C; D and E use Conv 64 → 128 → 256 → 512.

For small inputs (8×8 digits, feature vectors) the same roles are small MLPs.
With ``sync_bn`` the BatchNorm layers are ``synchronized`` so that statistics
are over the global batch under a MirroredStrategy (one step on 1 or 2
replicas gives the same weights); on one replica plain BatchNorm is the same
computation without the all-reduce. Logits are float32 even under a
mixed-precision policy.
"""
from __future__ import annotations

import functools
import math

import keras
import tensorflow as tf
from keras import layers

from gan_em_tf.architecture import conv_stages, uses_conv  # noqa: F401  (the shape rule, TensorFlow-free)


@keras.saving.register_keras_serializable(package="gan_em_tf")
class BatchNormalization(layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` computed by TensorFlow's fused kernel (FusedBatchNormV3).

    Keras 3 normalises with separate ops (cast to float32, mean, variance, scale, cast back), which on a
    CPU without XLA costs about a sixth of an M-step of the 28×28 nets in bfloat16 (oneDNN has a fused
    bfloat16 kernel; README, speed). The same statistics, moving averages (population variance, as Keras
    keeps it) and gradients; the weights and the layer names are those of the Keras layer, so weight
    files of either load into the other. Synchronized (multi-replica) layers, masks and renorm, and inputs
    other than [N, C] or [N, H, W, C] with channels last take the Keras path."""

    def call(self, inputs, training=None, mask=None):
        rank = len(inputs.shape)
        if (mask is not None or self.synchronized or self.renorm or rank not in (2, 4)
                or self.axis not in (-1, rank - 1)):
            return super().call(inputs, training=training, mask=mask)
        channels = inputs.shape[-1]
        x = tf.reshape(inputs, [-1, 1, 1, channels]) if rank == 2 else inputs
        if x.dtype not in (tf.float32, tf.bfloat16, tf.float16):
            x = tf.cast(x, tf.float32)
        gamma = self.gamma if self.scale else tf.ones([channels])
        beta = self.beta if self.center else tf.zeros([channels])
        if training and self.trainable:
            y, mean, variance = tf.compat.v1.nn.fused_batch_norm(x, gamma, beta, epsilon=self.epsilon,
                                                                 is_training=True)
            n = tf.cast(tf.size(x) // channels, tf.float32)
            variance = variance * (n - 1.0) / n  # the kernel returns the Bessel-corrected batch variance
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        else:
            y, _, _ = tf.compat.v1.nn.fused_batch_norm(x, gamma, beta, mean=self.moving_mean,
                                                       variance=self.moving_variance, epsilon=self.epsilon,
                                                       is_training=False)
        if rank == 2:
            y = tf.reshape(y, tf.shape(inputs))
        return tf.cast(y, self.compute_dtype)


@tf.custom_gradient
def _matmul_kernel_first(x, kernel):
    """x · W, with the gradient with respect to x computed as (W · dyᵀ)ᵀ instead of TensorFlow's dy · Wᵀ."""
    def grad(dy):
        return tf.transpose(tf.matmul(kernel, dy, transpose_b=True)), tf.matmul(x, dy, transpose_a=True)
    return tf.matmul(x, kernel), grad


@keras.saving.register_keras_serializable(package="gan_em_tf")
class Dense(layers.Dense):
    """``keras.layers.Dense`` whose gradient with respect to its input multiplies the kernel in its stored
    layout, (W · dyᵀ)ᵀ, where TensorFlow's own gradient, dy · Wᵀ, makes oneDNN read W transposed. Used where a
    flattened feature map meets a narrower layer (D's and the E-net's 4,096 → 1,024; DNN-MM's 6,272 → 1,024).
    At the first, batch 70, TensorFlow's form took 9.2 ms against 5.3 ms (1.1× at batch 200; AMD EPYC,
    paper_repro/RESULTS.md, speed), and an M-step takes that gradient three times (D on the reals, on the
    fakes, G's loss through D). At narrow layers the stored-layout form is the slower one, so other layers
    stay ``keras.layers.Dense``. The same outputs, gradients up to rounding, weights and class name as Keras'
    layer (weight files are keyed by the class name), so weight files of either load into the other. Inputs
    other than [N, features] take the Keras path."""

    def call(self, inputs, training=None):
        if len(inputs.shape) != 2:
            return super().call(inputs, training=training)
        y = _matmul_kernel_first(inputs, tf.convert_to_tensor(self.kernel))
        if self.bias is not None:
            y = tf.nn.bias_add(y, self.bias)
        return y if self.activation is None else self.activation(y)


def batch_norm(sync: bool):
    return BatchNormalization(synchronized=sync, momentum=0.9, epsilon=1e-5)


def scaled_units(n: int, width: float) -> int:
    """``n`` filters or units scaled by the width multiplier (at least 1)."""
    return max(1, round(n * width))


def build_generator(shape: tuple, clusters: int, noise_dim: int, sync_bn: bool = False,
                    width: float = 1.0) -> keras.Model:
    """G(z, c): noise [N, noise_dim] and one-hot class [N, K] → samples in [0, 1] of ``shape``.

    ``width`` scales every hidden layer's filters and units (1: the authors' nets)."""
    u = functools.partial(scaled_units, width=width)
    z = keras.Input((noise_dim,), name="noise")
    c = keras.Input((clusters,), name="class_onehot")
    h = layers.Concatenate()([c, z])
    stages = conv_stages(shape)
    if stages:
        hh, ww, ch = shape
        base_h, base_w, base_ch = hh // 2**stages, ww // 2**stages, u(64 * 2 ** (stages - 1))
        for units in (u(1024), base_ch * base_h * base_w):
            h = layers.ReLU()(batch_norm(sync_bn)(layers.Dense(units)(h)))
        h = layers.Reshape((base_h, base_w, base_ch))(h)
        for filters in (64 * 2**i for i in reversed(range(stages - 1))):  # 64 (28×28); 128, 64 (64×64)
            up = layers.Conv2DTranspose(u(filters), 4, 2, padding="same")
            h = layers.ReLU()(batch_norm(sync_bn)(up(h)))
        h = layers.Conv2DTranspose(ch, 4, 2, padding="same")(h)
    else:
        for units in (u(256), u(256)):
            h = layers.ReLU()(batch_norm(sync_bn)(layers.Dense(units)(h)))
        h = layers.Dense(math.prod(shape))(h)
        h = layers.Reshape(shape)(h)
    out = layers.Activation("sigmoid", dtype="float32", name="sample")(h)
    return keras.Model([z, c], out, name="generator")


def _trunk(x, shape: tuple, sync_bn: bool, width: float = 1.0):
    """Shared feature extractor f(x) of D and E (§4.3)."""
    u = functools.partial(scaled_units, width=width)
    stages = conv_stages(shape)
    if stages:
        h = x
        for filters in (64, 128, 256, 512)[: stages + 1]:
            h = layers.LeakyReLU(0.2)(batch_norm(sync_bn)(layers.Conv2D(u(filters), 4, 2, padding="same")(h)))
        h = layers.Flatten()(h)
        return layers.LeakyReLU(0.2)(batch_norm(sync_bn)(Dense(u(1024))(h)))
    h = layers.Flatten()(x)
    for units in (u(256), u(256)):
        h = layers.LeakyReLU(0.2)(layers.Dense(units)(h))
    return h


def build_discriminator(shape: tuple, clusters: int, sync_bn: bool = False, width: float = 1.0) -> keras.Model:
    """D(x) → K + 1 logits: σ(logit_i) = D_i(x) of Eq. 2 for i < K; index K is real-vs-fake."""
    x = keras.Input(shape, name="images")
    h = _trunk(x, shape, sync_bn, width=width)
    logits = layers.Dense(clusters + 1, dtype="float32", name="logits")(h)
    return keras.Model(x, logits, name="discriminator")


def build_enet(shape: tuple, clusters: int, embed_dim: int | None = None, sync_bn: bool = False,
               width: float = 1.0) -> keras.Model:
    """E-net: x → K logits (softmax = w of Eq. 4).

    The E-net is trained on batch statistics of *generated* images and applied to real ones with its
    BatchNorm's moving averages. With ``embed_dim`` = k, layer r of k units sits right before the output
    layer (§5.4); its activations (the layer named ``embedding``) are the reduced representation
    (:func:`embedding_model`).
    """
    x = keras.Input(shape, name="images")
    h = _trunk(x, shape, sync_bn, width=width)
    if embed_dim:
        h = layers.Dense(embed_dim, name="embedding_dense")(h)
        h = layers.LeakyReLU(0.2, name=EMBEDDING)(h)
    logits = layers.Dense(clusters, dtype="float32", name="logits")(h)
    return keras.Model(x, logits, name="enet")


EMBEDDING = "embedding"


def embedding_model(enet: keras.Model) -> keras.Model:
    """x → layer r's activations: the E-net without its output layer (§5.4)."""
    return keras.Model(enet.inputs, enet.get_layer(EMBEDDING).output, name="embedder")


def copy_class(generator: keras.Model, discriminator: keras.Model, enet: keras.Model, src: int, dst: int) -> None:
    """Make class ``dst`` a copy of class ``src``: G's weights from the one-hot input (its first Dense layer, whose
    first K input rows are the class code), D's class unit and the E-net's output unit, so that after a split
    (``--grow-from``) both halves start from the networks of the cluster they came from."""
    g_first = next(layer for layer in generator.layers if isinstance(layer, layers.Dense))
    kernel = g_first.kernel.numpy()
    kernel[dst] = kernel[src]
    g_first.kernel.assign(kernel)
    for net in (discriminator, enet):
        out = net.get_layer("logits")
        kernel, bias = out.kernel.numpy(), out.bias.numpy()
        kernel[:, dst], bias[dst] = kernel[:, src], bias[src]
        out.kernel.assign(kernel)
        out.bias.assign(bias)


def forward_macs(model: keras.Model) -> int:
    """Multiply-adds of one sample's forward pass through ``model``'s Dense, Conv2D and Conv2DTranspose layers
    (the products that dominate its cost; a convolution counts kernel size × input channels × filters per
    output position, a transposed one per input position)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.Dense):
            total += math.prod(layer.kernel.shape)
        elif isinstance(layer, layers.Conv2DTranspose):
            total += math.prod(layer.input.shape[1:3]) * math.prod(layer.kernel.shape)
        elif isinstance(layer, layers.Conv2D):
            total += math.prod(layer.output.shape[1:3]) * math.prod(layer.kernel.shape)
    return total

