"""GAN-EM (Zhao et al., IJCAI 2019) as a :class:`~gan_em_tf.method.Method`: one EM iteration of Algorithm 1.

    w ← 1/K                                  (line 1; or from t-SNE + Ward, a recipe's choice)
    for iteration = 1..n:
        φ_i ← N_i / N = mean_x w_i(x)        (lines 3–4, §4.1)
        p passes of the M-step GAN           (lines 5–8, Eq. 1–2)
        q steps of the E-net on G(z, c)      (lines 9–12, Eq. 5)
        [semi-supervised, §5.3: train E on the labelled reals until error < ε]
        w ← E(x_real)                        (line 13, Eq. 4; kept for a while after a partition move)
        [a partition move on w, if one is due (moves.py; not in the paper)]

Learning rates decay by ``lr_decay`` per EM iteration (from ``lr_decay_start`` on). All noise and
shuffling is drawn from stateless seeds of (seed, iteration), so a resumed run continues exactly where
the interrupted one stopped.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from gan_em_tf import data as data_lib
from gan_em_tf import networks
from gan_em_tf import recipes
from gan_em_tf.architecture import compiles_with_xla
from gan_em_tf.config import SUPERVISION_CHECK, RunConfig
from gan_em_tf.gan_em.config import TrainConfig
from gan_em_tf.gan_em.models import EStep, LabelStep, MStep
from gan_em_tf.gan_em.moves import PartitionMoves, describe
from gan_em_tf.method import BenchPhase, Iteration, Method
from gan_em_tf.training import last_epoch, make_optimizer

START_CONFIDENCE = 0.9  # init "tsne-ward": w = 0.9 on each sample's cluster, the rest spread evenly


def build(cfg: RunConfig, shape: tuple, n_samples: int, strategy) -> "GanEm":
    return GanEm(cfg, shape, n_samples, strategy)


class GanEm(Method):
    """G, D and the E-net of one run, their training phases and the EM state (w, φ, the moves' hold)."""

    name = "gan-em"

    def __init__(self, cfg: RunConfig, shape: tuple, n_samples: int, strategy):
        t, k = cfg.train, cfg.clusters
        self.cfg, self.shape, self.clusters = cfg, tuple(shape), k
        self.strategy = strategy
        keras.utils.set_random_seed(cfg.runtime.seed)
        sync = strategy.num_replicas_in_sync > 1
        xla = compiles_with_xla(self.shape, cfg.runtime.jit_compile)
        with strategy.scope():
            self.generator = networks.build_generator(self.shape, k, t.noise_dim, sync_bn=sync, width=t.net_width)
            self.discriminator = networks.build_discriminator(self.shape, k, sync_bn=sync, width=t.net_width)
            self.enet = networks.build_enet(self.shape, k, embed_dim=cfg.embed_dim, sync_bn=sync, width=t.net_width)
            self.optimizers = {"g": make_optimizer(t.optimizer, t.lr_g, t.adam_beta1),
                               "d": make_optimizer(t.optimizer, t.lr_d, t.adam_beta1),
                               "e": make_optimizer(t.optimizer, t.lr_e, t.adam_beta1)}
            self.m_step = MStep(self.generator, self.discriminator, k, t.generator_loss, t.real_unit_weight)
            self.m_step.compile(self.optimizers["g"], self.optimizers["d"], jit_compile=xla)
            self.e_step = EStep(self.generator, self.enet, k)
            # --e-augment's affine warp (ImageProjectiveTransformV3) has no XLA kernel, so that E-step runs without
            self.e_step.compile(self.optimizers["e"], jit_compile=xla and not t.e_augment)
            self.label_step = None
            if cfg.semi_supervised:
                self.label_step = LabelStep(self.enet)
                self.label_step.compile(self.optimizers["e"], jit_compile=xla)
        self.networks = {"generator": self.generator, "discriminator": self.discriminator, "enet": self.enet}
        self.base_lr = {"g": t.lr_g, "d": t.lr_d, "e": t.lr_e}
        self.moves = PartitionMoves(t.moves, t.growth, k, cfg.schedule.iterations, cfg.runtime.seed)
        self.n_samples = n_samples
        self.iteration = 0
        a = self.active_clusters
        self.w = np.zeros((n_samples, k), np.float32)
        self.w[:, :a] = 1.0 / a  # Algorithm 1, line 1
        self.phi = self.w[0].astype(np.float64)

    @property
    def active_clusters(self) -> int:
        """The columns of w in use: K, or K0 before the growth (``train.growth``)."""
        return self.moves.active_clusters(self.iteration)

    # ------------------------------------------------------------------ the runner's interface
    def start(self, x: np.ndarray, labelled=None) -> None:
        """``init`` tsne-ward: ``START_CONFIDENCE`` of w on each sample's cluster from Ward's clustering of a t-SNE
        map (:func:`gan_em_tf.baselines.tsne_ward`) — EM for mixtures usually starts from a classical clustering
        (scikit-learn's GaussianMixture from k-means; on the bundled digits this one ends higher: RESULTS.md);
        Algorithm 1 starts from uniform w."""
        if self.cfg.train.init != "uniform":
            from gan_em_tf.baselines import start_memberships

            self.w = start_memberships(self.cfg.train.init, x, self.clusters, self.cfg.runtime.seed,
                                       START_CONFIDENCE)

    def describe_start(self) -> str:
        if self.cfg.train.init == "uniform":
            return ""
        from gan_em_tf.baselines import start_description

        return f"w from {start_description(self.cfg.train.init, len(self.w))}"

    def describe_next(self) -> str:
        return f"M-step {self.m_batches()} batches, E-step {self.cfg.schedule.e_steps} steps"

    def em_iteration(self, x: np.ndarray, verbose: int, labelled=None) -> Iteration:
        """One pass of Algorithm 1's loop and the move due after it; ``labelled``: the
        :class:`~gan_em_tf.scoring.Labelled` examples for §5.3."""
        t, active = self.cfg.train, self.active_clusters
        self.set_learning_rates()
        self.phi = self.w.mean(axis=0).astype(np.float64)  # φ_i = N_i / N
        self.m_step.g_class_weight.assign(1.0 if self.iteration + 1 >= t.g_class_start else 0.0)
        logs = self.m_step_fit(x, verbose)
        logs.update(self.e_step_fit(verbose))
        if labelled is not None:
            logs.update(self.supervise(labelled.x, labelled.y))
        if self.moves.take_hold():  # G and D go on training on the moved labels
            logs["w_held"] = 1.0
            # label-free sign of whether G and the E-net take the move: rising when they do
            logs["e_agrees_held"] = float(np.mean(self.posterior(x).argmax(axis=1) == self.w.argmax(axis=1)))
        else:
            self.w = self.posterior(x)  # line 13
        self.iteration += 1
        assign = self.w.argmax(axis=1)  # scored: the E-step's w, before any move
        phi = self.phi[:active]
        logs.update(phi_min=float(phi.min()), phi_max=float(phi.max()))
        kind = self.moves.due(self.iteration)
        if kind:
            logs.update(self.make_move(kind, x))
        return Iteration(logs, assign)

    def describe_logs(self, logs: dict) -> str:
        losses = " ".join(f"{k}={logs[k]:.4f}" for k in ("d_loss", "g_loss", "e_loss", "e_acc", "label_error")
                          if k in logs)
        held = f" | w held (E agrees {logs['e_agrees_held']:.3f})" if logs.get("w_held") else ""
        return f"phi min={logs['phi_min']:.3f} max={logs['phi_max']:.3f} | {losses}{held}{describe(logs)}"

    def posterior(self, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
        """w = softmax(E(x)) (Eq. 4), over the columns in use (the others get 0)."""
        logits = self.enet.predict(x, batch_size=batch_size, verbose=0)
        logits[:, self.active_clusters:] = -np.inf
        return tf.nn.softmax(logits).numpy().astype(np.float32)

    def state(self) -> dict:
        return {"w": self.w, "phi": self.phi, "iteration": np.int64(self.iteration),
                "sm_hold_left": np.int64(self.moves.hold_left)}

    def load_state(self, state: dict) -> None:
        if state["w"].shape != self.w.shape:
            from gan_em_tf.errors import UserError

            raise UserError(f"the checkpoint holds w of shape {state['w'].shape}, but this run has {self.w.shape} "
                            "(data or K changed); start a new --out")
        self.w, self.phi, self.iteration = state["w"], state["phi"], int(state["iteration"])
        self.moves.hold_left = int(state.get("sm_hold_left", 0))

    def sample_grid(self, per_cluster: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        z = rng.random((self.clusters * per_cluster, self.cfg.train.noise_dim), dtype=np.float32)
        c = np.repeat(np.arange(self.clusters), per_cluster)
        imgs = self.generator.predict([z, np.eye(self.clusters, dtype=np.float32)[c]], verbose=0)
        return imgs.reshape((self.clusters, per_cluster) + self.shape)

    def embed(self, x: np.ndarray, batch_size: int = 500) -> np.ndarray | None:
        """Layer r's activations for x (§5.4), for runs with ``embed_dim`` > 0."""
        if not self.cfg.embed_dim:
            return None
        return networks.embedding_model(self.enet).predict(x, batch_size=batch_size, verbose=0)

    def endpoints(self) -> tuple[list, dict]:
        """``assign(images)`` → probabilities (softmax of the E-net, Eq. 4) and cluster; ``generate(noise,
        cluster)`` → images (noise U[0, 1) as in training; a cluster id outside [0, K) is an error); ``embed``
        (runs with ``embed_dim``) → layer r."""
        enet, generator, k, noise_dim = self.enet, self.generator, self.clusters, self.cfg.train.noise_dim
        images_spec = tf.TensorSpec((None,) + self.shape, tf.float32, name="images")

        @tf.function(input_signature=[images_spec])
        def assign(images):
            probs = tf.nn.softmax(tf.cast(enet(images, training=False), tf.float32), axis=-1)
            return {"probabilities": probs, "cluster": tf.argmax(probs, axis=-1)}

        @tf.function(input_signature=[tf.TensorSpec((None, noise_dim), tf.float32, name="noise"),
                                      tf.TensorSpec((None,), tf.int32, name="cluster")])
        def generate(noise, cluster):
            checks = [tf.debugging.assert_greater_equal(cluster, 0, message=f"cluster ids must be in [0, {k})"),
                      tf.debugging.assert_less(cluster, k, message=f"cluster ids must be in [0, {k})")]
            with tf.control_dependencies(checks):
                images = generator([noise, tf.one_hot(cluster, k)], training=False)
            return {"images": tf.cast(images, tf.float32)}

        functions = {"assign": assign, "generate": generate}
        if self.cfg.embed_dim:
            embedder = networks.embedding_model(enet)

            @tf.function(input_signature=[images_spec])
            def embed(images):
                return {"embedding": tf.cast(embedder(images, training=False), tf.float32)}

            functions["embed"] = embed
        return [generator, enet], functions

    # ------------------------------------------------------------------ the parts of one EM iteration
    def set_learning_rates(self) -> None:
        """lr × γ^max(0, iteration − S) (``lr_decay``, ``lr_decay_start``)."""
        decay = self.cfg.train.lr_factor(self.iteration)
        for key, opt in self.optimizers.items():
            opt.learning_rate.assign(self.base_lr[key] * decay)

    def m_batches(self) -> int:
        """Batches of the coming M-step: the schedule's, × ``first_m_scale`` for the first and × the moves'
        ``m_step_scale`` right after a move."""
        s = self.cfg.schedule
        scale = s.first_m_scale if self.iteration == 0 else self.moves.m_step_scale(self.iteration)
        return s.m_batches(self.n_samples, self.cfg.train.batch_size, scale)

    def m_step_fit(self, x: np.ndarray, verbose: int) -> dict:
        """The M-step GAN on (x, w) (Algorithm 1, lines 3–8), on a new shuffle of the data every EM iteration."""
        t = self.cfg.train
        steps, per_pass = self.m_batches(), len(x) // t.batch_size
        ds = data_lib.real_batches(x, self.w, t.batch_size, self.cfg.runtime.seed, self.iteration, t.noise_dim,
                                   self.active_clusters, epochs=-(-steps // per_pass))
        # the whole M-step is one fit "epoch", so it shows as one progress bar
        return last_epoch(self.m_step.fit(ds, epochs=1, steps_per_epoch=steps, verbose=verbose, shuffle=False))

    def e_step_fit(self, verbose: int) -> dict:
        """q E-net steps on generated batches, c ~ φ or balanced (lines 9–12, Eq. 5); jittered with
        ``e_augment`` from EM iteration ``e_augment_start`` + 1 on."""
        t, s = self.cfg.train, self.cfg.schedule
        jitter = t.e_augment and self.iteration >= t.e_augment_start
        ds = data_lib.noise_batches(t.e_batch_size, s.e_steps, self.cfg.runtime.seed, self.iteration, t.noise_dim,
                                    self.phi[:self.active_clusters], balanced=t.e_class_prior == "uniform",
                                    jitter=jitter)
        return last_epoch(self.e_step.fit(ds, epochs=1, steps_per_epoch=s.e_steps, verbose=verbose, shuffle=False))

    def supervise(self, x_l: np.ndarray, y_l: np.ndarray) -> dict:
        """§5.3: train the E-net on the labelled reals until its error on them is below ε.

        The error is measured in inference mode before training and then every ``SUPERVISION_CHECK`` steps (at
        least one pass over the labelled set); training stops once it is below ``epsilon`` or once ``max_steps``
        (rounded up to whole checks) have run.
        """
        sup, batch = self.cfg.supervision, min(self.cfg.train.batch_size, len(x_l))
        error = _error(self.enet, x_l, y_l)
        steps = 0
        if error >= sup.epsilon:
            per_round = max(SUPERVISION_CHECK, len(x_l) // batch)
            ds = data_lib.labelled_batches(x_l, y_l, batch, self.cfg.runtime.seed, self.iteration).repeat()
            stop = _StopBelowError(self.enet, x_l, y_l, sup.epsilon)
            self.label_step.fit(ds, epochs=-(-sup.max_steps // per_round), steps_per_epoch=per_round, verbose=0,
                                shuffle=False, callbacks=[stop])
            error, steps = stop.error, stop.rounds * per_round
        return {"label_error": error, "label_steps": float(steps)}

    def d_features(self, x: np.ndarray, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
        """D's penultimate features and its K + 1 logits on x (what the moves split and score by)."""
        disc = self.discriminator
        penultimate = keras.Model(disc.inputs, [disc.layers[-2].output, disc.output])
        return penultimate.predict(x, batch_size=batch_size, verbose=0)

    def make_move(self, kind: str, x: np.ndarray) -> dict:
        """Make the move due after the iteration just completed on w; a growth's new classes start as copies of
        their parents in G, D and the E-net. Returns the move's record."""
        features, logits = self.d_features(x)
        self.w, record, splits = self.moves.make(kind, self.w, features, logits, self.active_clusters)
        for parent, new in splits:
            networks.copy_class(self.generator, self.discriminator, self.enet, parent, new)
        return record


def _error(enet, x, y, batch_size: int = 500) -> float:
    """Classification error of the E-net (inference mode) on labelled images."""
    pred = np.concatenate([np.asarray(enet(x[i:i + batch_size], training=False)).argmax(axis=1)
                           for i in range(0, len(x), batch_size)])
    return float(np.mean(pred != y))


class _StopBelowError(keras.callbacks.Callback):
    """Stops a LabelStep fit once the E-net's error on the labelled set is below ε (§5.3)."""

    def __init__(self, enet, x, y, epsilon: float):
        super().__init__()
        self.enet, self.x, self.y, self.epsilon = enet, x, y, epsilon
        self.error, self.rounds = 1.0, 0

    def on_epoch_end(self, epoch, logs=None):
        self.rounds = epoch + 1
        self.error = _error(self.enet, self.x, self.y)
        if self.error < self.epsilon:
            self.model.stop_training = True


def bench_phases(batch_size: int, e_batch_size: int, steps: int, xla: bool) -> list[BenchPhase]:
    """``gan-em bench``: the M- and E-step of the authors' 28×28 networks (K = 10) on random images, with the
    multiply-adds per image counted from the networks' layers. An M-step image costs G's forward pass, D's on
    the reals, the fakes and the fakes again, D's backward pass for its update on both (2 × 2 D), D's
    backward pass to its input and G's backward pass: 3 G + 8 D (193 M with these networks); an E-step
    image G's forward pass and E's forward and backward passes: G + 3 E."""
    shape, k = (28, 28, 1), 10
    values = recipes.resolved_values("gan-em", "authors")
    t = TrainConfig(**{path.split(".", 1)[1]: v for path, v in values.items()})
    keras.utils.set_random_seed(0)
    g = networks.build_generator(shape, k, t.noise_dim)
    d = networks.build_discriminator(shape, k)
    e = networks.build_enet(shape, k)
    m = MStep(g, d, k, t.generator_loss, t.real_unit_weight)
    m.compile(make_optimizer("adam", t.lr_g), make_optimizer("adam", t.lr_d), jit_compile=xla)
    es = EStep(g, e, k)
    es.compile(make_optimizer("adam", t.lr_e), jit_compile=xla)
    n = batch_size * steps
    x = np.random.default_rng(0).random((n,) + shape, dtype=np.float32)
    w = np.full((n, k), 1.0 / k, np.float32)
    m_ds = data_lib.real_batches(x, w, batch_size, 0, 0, t.noise_dim, k, epochs=2).cache()
    e_ds = data_lib.noise_batches(e_batch_size, steps, 0, 0, t.noise_dim, np.full(k, 1 / k), True).cache()
    g_macs, d_macs, e_macs = (networks.forward_macs(net) for net in (g, d, e))
    return [BenchPhase("M-step", m, m_ds, batch_size, m.update, 3 * g_macs + 8 * d_macs),
            BenchPhase("E-step", es, e_ds, e_batch_size, es.update, g_macs + 3 * e_macs)]
