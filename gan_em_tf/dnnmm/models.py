"""The M-step of MinMax+EM (slides, Eq. 12–13) as a Keras model with a custom ``train_step``.

One step: ``critic_steps`` discriminator updates, then one joint update of the generator and the encoder:

    D:     min  λ2 · mean[ℓ_real(D(x))] + λ2 · mean[w_k · ℓ_fake(D(G(y_k)))]  (+ gradient penalty with gp)
    G, E:  min  −mean[real_term(E(x), γ)] + λ1 · mean[w_k · consistency(y_k, E(G(y_k)))]
                + λ2 · mean[w_k · ℓ_gen(D(G(y_k)))]

y_k = a latent point of component k, k drawn uniformly and weighted by w_k = K · ω_k, so each mean over the batch
estimates Eq. 6 and 8's Σ_k ω_k E_{y_k}. ℓ for ``critic="bce"``: real → BCE toward "real", fake → toward
"fake", gen → −log D(G(y)); for ``gp``: the WGAN critic's −f(x), f(G(y)) and −f(G(y)). γ is the E-step's
membership (crisp for labelled samples, Eq. 13). Every mean is over the global batch
(:func:`gan_em_tf.losses.global_mean`).
"""
from __future__ import annotations

import tensorflow as tf

from gan_em_tf.dnnmm.priors import log_weights
from gan_em_tf.losses import gradient_penalty
from gan_em_tf.training import Phase, global_batch, global_mean


class MinMaxStep(Phase):
    """Batches ``{"x": [B, c, ...], "gamma": [B, c, K], "labelled": [B, c], "k": [B, c + 1], "noise": [B, c + 1,
    n], "mix": [B, c]}`` for c = ``critic_steps``: D's update j takes x[:, j] against G(y(k[:, j], noise[:, j])),
    then G and E take x[:, c − 1] and y(k[:, c], noise[:, c]). ``omega`` (ω, set after every E-step) weights
    the generated terms. Logged: d_loss, g_loss (the GAN part), likelihood (mean real term), consistency."""

    def __init__(self, generator, encoder, discriminator, prior, t, omega, **kwargs):
        super().__init__(("d_loss", "g_loss", "likelihood", "consistency"), **kwargs)
        self.generator, self.encoder, self.discriminator, self.prior = generator, encoder, discriminator, prior
        self.t, self.omega = t, omega

    def compile(self, d_optimizer, ge_optimizer, **kwargs):
        super().compile(optimizer=None, **kwargs)
        self.d_optimizer, self.ge_optimizer = d_optimizer, ge_optimizer
        d_optimizer.build(self.discriminator.trainable_variables)
        ge_optimizer.build(self.generator.trainable_variables + self.encoder.trainable_variables)

    def call(self, inputs, training=False):
        return self.generator(inputs["noise"][:, 0], training=training)

    def weights_of(self, k):
        """w_k = K · ω_k per generated sample."""
        omega = tf.cast(self.omega, tf.float32)
        return tf.gather(omega, k) * tf.cast(tf.shape(omega)[0], tf.float32)

    def d_terms(self, real_logits, fake_logits):
        """Per sample, D's (ℓ_real, ℓ_fake)."""
        real, fake = tf.cast(real_logits, tf.float32), tf.cast(fake_logits, tf.float32)
        if self.t.critic == "gp":
            return -real, fake
        return tf.nn.softplus(-real), tf.nn.softplus(fake)

    def g_term(self, fake_logits):
        """Per generated sample, G's ℓ_gen: −log D(G(y)) (bce) or −f(G(y)) (gp)."""
        fake = tf.cast(fake_logits, tf.float32)
        return -fake if self.t.critic == "gp" else tf.nn.softplus(-fake)

    def d_update(self, x, k, noise, mix):
        t, batch = self.t, global_batch(x)
        fake = self.generator(self.prior.sample(k, noise), training=True)
        w = self.weights_of(k)
        variables = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            real_loss, fake_loss = self.d_terms(self.discriminator(x, training=True),
                                                self.discriminator(fake, training=True))
            per = t.gan_weight * (real_loss + w * fake_loss)
            if t.critic == "gp":
                per = per + t.gp_weight * gradient_penalty(self.discriminator, x, fake, mix)
            loss = global_mean(per, batch)
        self.d_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    def ge_update(self, x, gamma, labelled, k, noise):
        t, batch = self.t, global_batch(x)
        log_omega = log_weights(self.omega)
        w = self.weights_of(k)
        variables = self.generator.trainable_variables + self.encoder.trainable_variables
        with tf.GradientTape() as tape:
            y = self.prior.sample(k, noise)
            fake = self.generator(y, training=True)
            real_term = global_mean(self.prior.real_term(self.encoder(x, training=True), gamma, labelled,
                                                         log_omega), batch)
            consistency = global_mean(w * self.prior.consistency(y, k, self.encoder(fake, training=True)), batch)
            g_loss = global_mean(w * self.g_term(self.discriminator(fake, training=True)), batch)
            loss = -real_term + t.consistency * consistency + t.gan_weight * g_loss
        self.ge_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return g_loss, real_term, consistency

    def update(self, x, gamma, labelled, k, noise, mix):
        """One step on a batch of the class docstring's form; returns (d_loss, g_loss, likelihood, consistency)."""
        steps = self.t.critic_steps
        d_total = 0.0
        for j in range(steps):
            d_total += self.d_update(x[:, j], k[:, j], noise[:, j], mix[:, j])
        g_loss, real_term, consistency = self.ge_update(x[:, steps - 1], gamma[:, steps - 1],
                                                        labelled[:, steps - 1], k[:, steps], noise[:, steps])
        return d_total / steps, g_loss, real_term, consistency

    def train_step(self, data):
        d_loss, g_loss, real_term, consistency = self.update(**data)
        return self.log(d_loss=d_loss, g_loss=g_loss, likelihood=real_term, consistency=consistency)
