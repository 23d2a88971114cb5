"""GAN-EM's two training phases as Keras models with a custom ``train_step``.

* :class:`MStep` — the conditional GAN of §3.1: one D update on Eq. 2 (+ the
  real/fake unit of §4.3) and one G update on Eq. 1 (or the authors' one-hot
  variant) per batch {x_real, w, z, c} (real images, their soft labels, noise,
  fake classes).
* :class:`EStep` — the E-net of §3.2 trained on generated batches (z, c) with
  c ~ φ (Eq. 5); G is frozen.
* :class:`LabelStep` — semi-supervised only (§5.3): the E-net trained on the
  labelled real images.

Each reduces every loss over the global batch (:func:`gan_em_tf.losses.global_mean`), so
they give the same update on any number of MirroredStrategy replicas.
"""
from __future__ import annotations

import tensorflow as tf

from gan_em_tf.augment import affine_jitter
from gan_em_tf.gan_em import losses
from gan_em_tf.training import Phase, global_batch, global_mean


class MStep(Phase):
    """M-step GAN (Algorithm 1, lines 5–8): alternating D and G updates.

    Args:
        generator: G(z, one-hot c) → images.
        discriminator: D(x) → K + 1 logits.
        clusters: K.
        generator_loss: ``"exp"`` (Eq. 1) or ``"onehot"`` (authors' code); see losses.
        real_unit_weight: weight of the real/fake unit on real images.

    ``g_class_weight`` (a variable, 1 by default) scales the class-unit term of G's loss; 0 trains G
    through the real/fake unit only (``g_class_start``).
    """

    def __init__(self, generator, discriminator, clusters, generator_loss="exp", real_unit_weight=1.0, **kwargs):
        super().__init__(("d_loss", "g_loss", "d_real", "d_fake"), **kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.clusters = clusters
        self.generator_loss_kind = generator_loss
        self.real_unit_weight = real_unit_weight
        # weight of the class-unit term of G's loss; the method sets it per EM iteration (g_class_start)
        self.g_class_weight = tf.Variable(1.0, trainable=False, name="g_class_weight")

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        """Attach one optimizer per network and build their slots now.

        Building here (in the strategy scope, outside the train step) matters:
        a lazy build inside a MirroredStrategy replica context fails in Keras 3.
        """
        super().compile(optimizer=None, **kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        g_optimizer.build(self.generator.trainable_variables)
        d_optimizer.build(self.discriminator.trainable_variables)

    def call(self, inputs, training=False):
        """G(z, c) for a batch dict (lets Keras build the model from a data batch)."""
        onehot = tf.one_hot(tf.cast(inputs["c"], tf.int32), self.clusters)
        return self.generator([inputs["z"], onehot], training=training)

    def update(self, x_real, w, z, c):
        """One D step then one G step; returns (d_loss, g_loss, real_logits, fake_logits).

        G's forward pass is recorded once and reused: D is updated on the
        detached fakes, then the G loss is taken through the updated D.
        """
        batch = global_batch(x_real)
        onehot = tf.one_hot(c, self.clusters)
        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        with tf.GradientTape() as g_tape:
            fake = self.generator([z, onehot], training=True)
            with g_tape.stop_recording():
                with tf.GradientTape() as d_tape:
                    real_logits = self.discriminator(x_real, training=True)
                    fake_logits = self.discriminator(tf.stop_gradient(fake), training=True)
                    real_l, fake_l = losses.discriminator_loss(real_logits, w, fake_logits, self.real_unit_weight)
                    d_loss = global_mean(real_l, batch) + global_mean(fake_l, batch)
                self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss, d_vars), d_vars))
            g_logits = self.discriminator(fake, training=True)
            g_loss = global_mean(
                losses.generator_loss(g_logits, c, self.clusters, self.generator_loss_kind, self.g_class_weight),
                batch)
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_loss, g_vars), g_vars))
        return d_loss, g_loss, real_logits, fake_logits

    def train_step(self, data):
        d_loss, g_loss, real_logits, fake_logits = self.update(**data)
        batch = global_batch(data["x_real"])
        return self.log(d_loss=d_loss, g_loss=g_loss,
                        d_real=global_mean(tf.sigmoid(real_logits[:, -1]), batch),
                        d_fake=global_mean(tf.sigmoid(fake_logits[:, -1]), batch))


class _ENetPhase(Phase):
    """A phase that trains only the E-net by cross-entropy on (images, classes) (Eq. 5 / §5.3)."""

    def compile(self, e_optimizer, **kwargs):
        super().compile(optimizer=None, **kwargs)
        self.e_optimizer = e_optimizer
        e_optimizer.build(self.enet.trainable_variables)

    def _enet_step(self, images, classes, batch):
        """One E-net step on CE(E(images), classes) over the global batch; returns (loss, logits)."""
        e_vars = self.enet.trainable_variables
        with tf.GradientTape() as tape:
            logits = self.enet(images, training=True)
            loss = global_mean(losses.enet_loss(logits, classes), batch)
        self.e_optimizer.apply_gradients(zip(tape.gradient(loss, e_vars), e_vars))
        return loss, logits


class EStep(_ENetPhase):
    """E-step (Algorithm 1, lines 9–12): train the E-net on (G(z, c), c), Eq. 5.

    G runs in inference mode and is not updated. ``e_acc`` is the E-net's
    accuracy at recovering c from G(z, c). Batches that carry draws ``u``
    (``--e-augment``; not in the paper) have each G(z, c) jittered by them
    before the E-net sees it (:func:`~gan_em_tf.augment.affine_jitter`).
    """

    def __init__(self, generator, enet, clusters, **kwargs):
        super().__init__(("e_loss", "e_acc"), **kwargs)
        self.generator = generator
        self.enet = enet
        self.clusters = clusters

    def call(self, inputs, training=False):
        """E(G(z, c)) for a batch dict {z, c}."""
        fake = self.generator([inputs["z"], tf.one_hot(tf.cast(inputs["c"], tf.int32), self.clusters)], training=False)
        return self.enet(fake, training=training)

    def update(self, z, c, u=None):
        """One E-net step on generated images, jittered by ``u`` when given; returns (e_loss, logits)."""
        fake = self.generator([z, tf.one_hot(c, self.clusters)], training=False)
        if u is not None:
            fake = affine_jitter(fake, u)
        return self._enet_step(fake, c, global_batch(z))

    def train_step(self, data):
        z, c = data["z"], data["c"]
        e_loss, logits = self.update(z, c, data.get("u"))
        hit = tf.cast(tf.equal(tf.argmax(logits, axis=1, output_type=tf.int32), tf.cast(c, tf.int32)), tf.float32)
        return self.log(e_loss=e_loss, e_acc=global_mean(hit, global_batch(z)))


class LabelStep(_ENetPhase):
    """Semi-supervised E-net training (§5.3): L_E = CE(E(x_real), u) on labelled real images.

    Run after each E-step, a pass at a time, until the E-net's error on the
    labelled set is below ε (:meth:`gan_em_tf.gan_em.method.GanEm.supervise`).
    """

    def __init__(self, enet, **kwargs):
        super().__init__(("label_loss",), **kwargs)
        self.enet = enet

    def call(self, inputs, training=False):
        return self.enet(inputs["x"], training=training)

    def update(self, x, y):
        """One step of CE(E(x), y) over the global batch; returns the loss."""
        return self._enet_step(x, y, global_batch(x))[0]

    def train_step(self, data):
        return self.log(label_loss=self.update(data["x"], data["y"]))
