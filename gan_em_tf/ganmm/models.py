"""GANMM's training phases as Keras models with a custom ``train_step``.

* :class:`WganStep` — the M-step (Algorithm 1, line 12, trainWGAN): for each of its pairs,
  ``critic_steps`` critic updates on batches of that pair's cluster, then one generator update. A
  step holds all K pairs (one graph) or one (K separate phases); ``gan-em bench --method ganmm`` times
  both. The pairs are K models, not one network of K groups: grouped convolutions ran the K critics 3.6×
  slower on this project's CPUs (paper_repro/RESULTS.md, Speed).
* :class:`ClassifierStep` — the ε-E-step's classifier h_q (lines 5–7) trained on a balanced generated set:
  ``e_batch_size`` samples of every generator, labelled by its index.

Every loss goes through :func:`gan_em_tf.losses.global_mean`, so a step on 1 or N MirroredStrategy
replicas gives the same update.
"""
from __future__ import annotations

import tensorflow as tf

from gan_em_tf.ganmm import losses
from gan_em_tf.training import Phase, global_batch, global_mean


class WganStep(Phase):
    """The WGAN updates of ``len(generators)`` generator/critic pairs, each on its own data.

    A batch is ``{"x": [B, P, c, ...], "z": [B, P, c + 1, noise], "mix": [B, P, c]}`` for P pairs and c =
    ``critic_steps`` (batch first, so MirroredStrategy replicas split the samples, not the pairs): pair p's
    critic takes c steps on x[:, p, j] against G_p(z[:, p, j]) (``mix``: the gradient penalty's interpolation
    weights, used with ``gp_weight`` > 0), then G_p one step on z[:, p, c]. Logged: the critic loss (the
    negative of the Wasserstein estimate) and the generator loss, averaged over the pairs.
    """

    def __init__(self, generators, critics, gp_weight: float = 0.0, **kwargs):
        super().__init__(("d_loss", "g_loss"), **kwargs)
        self.generators, self.critics, self.gp_weight = list(generators), list(critics), float(gp_weight)

    def compile(self, g_optimizers, d_optimizers, **kwargs):
        """One optimizer per network, their slots built here (in the strategy scope, outside the step)."""
        super().compile(optimizer=None, **kwargs)
        self.g_optimizers, self.d_optimizers = list(g_optimizers), list(d_optimizers)
        for opt, net in zip(self.g_optimizers + self.d_optimizers, self.generators + self.critics):
            opt.build(net.trainable_variables)

    def call(self, inputs, training=False):
        return self.generators[0](inputs["z"][:, 0, 0], training=training)

    def critic_update(self, p: int, real, z, mix):
        """One update of critic p on real vs G_p(z); returns its loss."""
        critic, batch = self.critics[p], global_batch(real)
        fake = self.generators[p](z, training=True)
        variables = critic.trainable_variables
        with tf.GradientTape() as tape:
            per_example = losses.critic_loss(critic(real, training=True), critic(fake, training=True))
            if self.gp_weight > 0:
                per_example = per_example + self.gp_weight * losses.gradient_penalty(critic, real, fake, mix)
            loss = global_mean(per_example, batch)
        self.d_optimizers[p].apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    def generator_update(self, p: int, z):
        """One update of G_p through critic p; returns its loss."""
        generator, variables = self.generators[p], self.generators[p].trainable_variables
        with tf.GradientTape() as tape:
            loss = global_mean(losses.generator_loss(self.critics[p](generator(z, training=True), training=True)),
                               global_batch(z))
        self.g_optimizers[p].apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    def update(self, x, z, mix):
        """Every pair's critic steps then its generator step; returns (mean critic loss, mean generator loss)."""
        pairs, steps = len(self.generators), x.shape[2]
        d_total, g_total = 0.0, 0.0
        for p in range(pairs):
            for j in range(steps):
                d_total += self.critic_update(p, x[:, p, j], z[:, p, j], mix[:, p, j])
            g_total += self.generator_update(p, z[:, p, steps])
        return d_total / (pairs * steps), g_total / pairs

    def train_step(self, data):
        d_loss, g_loss = self.update(data["x"], data["z"], data["mix"])
        return self.log(d_loss=d_loss, g_loss=g_loss)


class ClassifierStep(Phase):
    """The ε-E-step classifier on ``{"z": [b, K, noise]}``: G_k(z[:, k]) labelled k, cross-entropy (Algorithm 1,
    line 6). ``e_acc`` is its accuracy on those samples."""

    def __init__(self, generators, classifier, **kwargs):
        super().__init__(("e_loss", "e_acc"), **kwargs)
        self.generators, self.classifier = list(generators), classifier

    def compile(self, optimizer, **kwargs):
        super().compile(optimizer=None, **kwargs)
        self.e_optimizer = optimizer
        optimizer.build(self.classifier.trainable_variables)

    def call(self, inputs, training=False):
        return self.classifier(self.generators[0](inputs["z"][:, 0], training=False), training=training)

    def update(self, z):
        """One step on every generator's samples; returns (loss, logits, labels)."""
        k, b = len(self.generators), tf.shape(z)[0]
        fakes = tf.concat([self.generators[i](z[:, i], training=False) for i in range(k)], axis=0)
        labels = tf.repeat(tf.range(k), b)
        variables = self.classifier.trainable_variables
        with tf.GradientTape() as tape:
            logits = self.classifier(fakes, training=True)
            loss = global_mean(losses.class_cross_entropy(logits, labels), global_batch(fakes))
        self.e_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss, logits, labels

    def train_step(self, data):
        loss, logits, labels = self.update(data["z"])
        hit = tf.cast(tf.equal(tf.argmax(logits, axis=1, output_type=tf.int32), labels), tf.float32)
        return self.log(e_loss=loss, e_acc=global_mean(hit, global_batch(logits)))
