"""The latent side of DNN-MM and ClusterGAN: how a component's latent points are drawn, how the encoder is held
to the generator's inverse on them, and the posterior membership of a real sample.

Both take per-sample values ([N] tensors) for the batch means of :mod:`gan_em_tf.dnnmm.models`.
"""
from __future__ import annotations

import math

import numpy as np
import tensorflow as tf


def log_weights(omega):
    """log ω, with empty components at log 1e-12 rather than −∞."""
    return tf.math.log(tf.maximum(tf.cast(omega, tf.float32), 1e-12))


class GaussianMixture:
    """DNN-MM's latent PDF P(Y) = Σ_k ω_k N(μ_k, I) (slides, Eq. 1–3), means fixed at (separation / √2) · e_k."""

    name = "gaussian mixture"

    def __init__(self, clusters: int, latent_dim: int, separation: float):
        self.clusters, self.latent_dim, self.noise_dim = clusters, latent_dim, latent_dim
        self.encoder_outputs = latent_dim
        self.means = (separation / math.sqrt(2.0) * np.eye(clusters, latent_dim)).astype(np.float32)

    def sample(self, k, noise):
        """y_k = μ_k + ε, ε ~ N(0, I): ``noise`` [N, d] standard normal, ``k`` [N] component ids."""
        return tf.gather(tf.constant(self.means), k) + noise

    def log_joint(self, encoded, log_omega):
        """[N, K]: log ω_k + log N(E(x); μ_k, I) (Eq. 1–2)."""
        sq = tf.reduce_sum(tf.square(encoded[:, None, :] - tf.constant(self.means)[None]), axis=-1)
        return log_omega[None, :] - 0.5 * sq - 0.5 * self.latent_dim * math.log(2.0 * math.pi)

    def posterior(self, encoded, log_omega):
        """γ [N, K] of Eq. 3, a softmax of :meth:`log_joint` (log-sum-exp: no underflow at any distance)."""
        return tf.nn.softmax(self.log_joint(encoded, log_omega), axis=-1)

    def real_term(self, encoded, gamma, labelled, log_omega):
        """Per real sample, to maximise: Σ_k γ_k (log ω_k + log N(E(x); μ_k, I)) (Eq. 12's first line; Eq. 13's
        first two: a labelled sample's γ is its crisp class)."""
        return tf.reduce_sum(gamma * self.log_joint(encoded, log_omega), axis=-1)

    def consistency(self, y, k, encoded):
        """Per latent point, to minimise: ‖y − E(G(y))‖² (Eq. 5–6)."""
        return tf.reduce_sum(tf.square(y - encoded), axis=-1)

    def embedding(self, encoded):
        return encoded


class ClusterGanPrior:
    """ClusterGAN's latent (Mukherjee et al. 2019): y = [σ_n · N(0, I)^noise_dim ; one-hot(k)], σ_n = 0.1; the
    encoder gives [z_n, z_c logits] and is held to G's inverse by β (MSE(z_n) + CE(z_c)) with β_n = β_c; the
    cluster is argmax z_c. ClusterGANss (DNN-MM's slides) adds the cross-entropy of z_c against the true class
    on the labelled real images, here at the same weight β as z_c's on generated ones."""

    name = "ClusterGAN"
    sigma = 0.1

    def __init__(self, clusters: int, noise_dim: int, label_weight: float):
        self.clusters, self.noise_dim, self.label_weight = clusters, noise_dim, label_weight
        self.latent_dim = self.encoder_outputs = noise_dim + clusters

    def sample(self, k, noise):
        return tf.concat([self.sigma * noise, tf.one_hot(k, self.clusters)], axis=-1)

    def posterior(self, encoded, log_omega):
        return tf.nn.softmax(encoded[:, self.noise_dim:], axis=-1)

    def real_term(self, encoded, gamma, labelled, log_omega):
        """Per real sample, to maximise: −β · CE(z_c, class) on labelled samples (γ is their crisp class), 0
        on the others."""
        ce = tf.nn.softmax_cross_entropy_with_logits(gamma, encoded[:, self.noise_dim:])
        return -self.label_weight * labelled * ce

    def consistency(self, y, k, encoded):
        """Per latent point: mean squared error of z_n plus the cross-entropy of z_c against k (the official
        code's β_n · MSE + β_c · CE, here with β_n = β_c, the caller's weight)."""
        mse = tf.reduce_mean(tf.square(y[:, :self.noise_dim] - encoded[:, :self.noise_dim]), axis=-1)
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(k, encoded[:, self.noise_dim:])
        return mse + ce

    def embedding(self, encoded):
        return tf.concat([encoded[:, :self.noise_dim], tf.nn.softmax(encoded[:, self.noise_dim:])], axis=-1)
