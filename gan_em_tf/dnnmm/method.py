"""DNN-MM trained by MinMax+EM (Pande & Awate, slides) as a :class:`~gan_em_tf.method.Method`, and ClusterGAN
(Mukherjee et al. 2019, ``--method clustergan``), its baseline, on the same loop.

One EM iteration:

    M-step: p passes of :class:`~gan_em_tf.dnnmm.models.MinMaxStep` with the memberships γ^t fixed (Eq. 12;
            Eq. 13 with labels: a labelled sample's γ is its crisp class, in every term, as written)
    E-step: γ_nk ∝ ω_k N(E(x_n); μ_k, I) over all the data (Eq. 3), then ω_k = Σ_n γ_nk / N — the closed form
            that maximises Eq. 12's ω terms Σ_n Σ_k γ_nk log ω_k. ω also weights the generated terms (Eq. 6, 8);
            that dependence is not part of its update (it is the mixture the generator samples).

The first M-step has no memberships yet (γ = 0, so the likelihood term is 0; labelled samples keep their crisp
class): G, E and D first learn a generator of the mixture and its inverse, and the first E-step reads the
partition off that encoder. With ``init`` tsne-ward the first M-step trains with the clusters of t-SNE + Ward
as γ instead.
(Started instead from γ = 1/K, the likelihood term pulls every E(x) toward the centre of the means and ω
collapsed onto one component within ten iterations on MNIST: RESULTS.md.) A sample's cluster is argmax_k γ_nk
(``assign``).

ClusterGAN has no E-step of its own: its prior is uniform (ω stays 1/K) and its cluster is argmax z_c of the
encoder (the official code scores k-means on the encoder's outputs; argmax z_c is what a served model
computes alone). ClusterGANss: with ``--labels``, the cross-entropy of z_c against the labelled images' classes.

Noise and shuffling come from seeds of (seed, iteration): a resumed run continues where it stopped.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from gan_em_tf import networks as shared_networks
from gan_em_tf.architecture import compiles_with_xla
from gan_em_tf.data import shuffled_passes
from gan_em_tf.dnnmm import networks
from gan_em_tf.dnnmm.config import TrainConfig
from gan_em_tf.dnnmm.models import MinMaxStep
from gan_em_tf.dnnmm.priors import ClusterGanPrior, GaussianMixture, log_weights
from gan_em_tf.method import BenchPhase, Iteration, Method
from gan_em_tf.training import last_epoch, make_optimizer


def build(cfg, shape: tuple, n_samples: int, strategy) -> "DnnMm":
    return DnnMm(cfg, shape, n_samples, strategy)


def make_prior(method: str, clusters: int, t):
    """The latent side of ``method`` (minmax-em or clustergan) with K = ``clusters`` and settings ``t``."""
    if method == "clustergan":
        return ClusterGanPrior(clusters, t.latent_dim, label_weight=t.consistency)
    return GaussianMixture(clusters, t.latent_dim or clusters, t.separation)


class DnnMm(Method):
    """G, E, D, the latent prior, the memberships γ of every sample and the mixture weights ω."""

    def __init__(self, cfg, shape: tuple, n_samples: int, strategy):
        t, k = cfg.train, cfg.clusters
        self.cfg, self.shape, self.clusters, self.name = cfg, tuple(shape), k, cfg.method
        self.prior = make_prior(cfg.method, k, t)
        keras.utils.set_random_seed(cfg.runtime.seed)
        sync = strategy.num_replicas_in_sync > 1
        xla = compiles_with_xla(self.shape, cfg.runtime.jit_compile) and t.critic != "gp"
        with strategy.scope():
            self.generator = networks.build_generator(self.shape, self.prior.latent_dim, t.net_width, sync)
            self.encoder = networks.build_encoder(self.shape, self.prior.encoder_outputs, t.net_width)
            self.discriminator = networks.build_discriminator(self.shape, t.net_width)
            self.omega = tf.Variable(np.full(k, 1.0 / k, np.float32), trainable=False, name="omega")
            self.optimizers = {name: make_optimizer("adam", t.lr, beta1=0.5, beta2=t.beta_2) for name in ("d", "ge")}
            self.step = MinMaxStep(self.generator, self.encoder, self.discriminator, self.prior, t, self.omega)
            self.step.compile(self.optimizers["d"], self.optimizers["ge"], jit_compile=xla)
        self.networks = {"generator": self.generator, "encoder": self.encoder, "discriminator": self.discriminator}
        self.n_samples, self.iteration = n_samples, 0
        self.gamma = np.zeros((n_samples, k), np.float32)  # none before the first E-step

    # ------------------------------------------------------------------ the runner's interface
    def start(self, x: np.ndarray, labelled=None) -> None:
        """``init`` tsne-ward: γ crisp on each sample's cluster from t-SNE + Ward, ω their shares; with labels
        each sample's class from its nearest labelled images on the t-SNE map, the labelled ones crisp on their
        own class (Eq. 13)."""
        if self.cfg.train.init != "none":
            from gan_em_tf.baselines import start_memberships

            self.gamma = start_memberships(self.cfg.train.init, x, self.clusters, self.cfg.runtime.seed,
                                           labelled=labelled)
            self.keep_crisp(labelled)
            self.omega.assign(self.gamma.mean(axis=0))

    def describe_start(self) -> str:
        if self.cfg.train.init == "none":
            return ""
        from gan_em_tf.baselines import start_description

        return f"γ from {start_description(self.cfg.train.init, self.n_samples, self.cfg.semi_supervised)}"

    def describe_next(self) -> str:
        e_step = "argmax z_c" if self.cfg.method == "clustergan" else "γ and ω over the data"
        return f"M-step {self.m_batches()} steps, E-step: {e_step}"

    def em_iteration(self, x: np.ndarray, verbose: int, labelled=None) -> Iteration:
        mask = np.zeros(len(x), np.float32)
        if labelled is not None:
            mask[labelled.index] = 1.0
        self.keep_crisp(labelled)
        logs = self.m_step_fit(x, mask, verbose)
        before = np.where(self.gamma.any(axis=1), self.gamma.argmax(axis=1), -1)  # -1: no membership yet
        encoded = self.encode(x)
        self.gamma = self.posterior(x, encoded)
        self.keep_crisp(labelled)
        if self.cfg.method != "clustergan":
            self.omega.assign(self.gamma.mean(axis=0))  # the closed-form M-step of ω
        self.iteration += 1
        assign = self.posterior(x, encoded).argmax(axis=1)  # with the new ω, as the assign endpoint
        omega = self.omega.numpy()
        logs.update(omega_min=float(omega.min()), omega_max=float(omega.max()),
                    moved=float(np.mean(before != self.gamma.argmax(axis=1))))
        return Iteration(logs, assign)

    def keep_crisp(self, labelled) -> None:
        """Eq. 13: a labelled sample's membership is its class."""
        if labelled is not None:
            self.gamma[labelled.index] = np.eye(self.clusters, dtype=np.float32)[labelled.y]

    def encode(self, x: np.ndarray) -> np.ndarray:
        return self.encoder.predict(x, batch_size=500, verbose=0)

    def describe_logs(self, logs: dict) -> str:
        losses = " ".join(f"{k}={logs[k]:.4f}" for k in ("d_loss", "g_loss", "likelihood", "consistency"))
        return f"ω min={logs['omega_min']:.3f} max={logs['omega_max']:.3f} moved={logs['moved']:.3f} | {losses}"

    def posterior(self, x: np.ndarray, encoded: np.ndarray | None = None) -> np.ndarray:
        """[N, K]: γ of Eq. 3 (DNN-MM), softmax z_c (ClusterGAN); ``encoded``: E(x) when already computed."""
        encoded = self.encode(x) if encoded is None else encoded
        return self.prior.posterior(tf.constant(encoded), log_weights(self.omega)).numpy().astype(np.float32)

    def state(self) -> dict:
        return {"gamma": self.gamma, "omega": self.omega.numpy(), "iteration": np.int64(self.iteration)}

    def load_state(self, state: dict) -> None:
        if state["gamma"].shape != self.gamma.shape:
            from gan_em_tf.errors import UserError

            raise UserError(f"the checkpoint holds memberships of shape {state['gamma'].shape}, but this run has "
                            f"{self.gamma.shape} (data or K changed); start a new --out")
        self.gamma, self.iteration = state["gamma"], int(state["iteration"])
        self.omega.assign(state["omega"])

    def sample_grid(self, per_cluster: int, seed: int) -> np.ndarray:
        noise = np.random.default_rng(seed).standard_normal((per_cluster, self.prior.noise_dim)).astype(np.float32)
        rows = [self.generator.predict(self.prior.sample(np.full(per_cluster, k), noise), verbose=0)
                for k in range(self.clusters)]
        return np.stack(rows)

    def embed(self, x: np.ndarray) -> np.ndarray:
        """E(x) (DNN-MM's latent point; ClusterGAN's [z_n, softmax z_c]): embedding.npy and its t-SNE."""
        return np.asarray(self.prior.embedding(tf.constant(self.encode(x))), np.float32)

    def endpoints(self) -> tuple[list, dict]:
        """``assign(images)`` → γ as ``probabilities`` and ``cluster``; ``generate(noise, cluster)`` → images of
        component ``cluster`` (noise N(0, I) of size ``noise_dim``; ids outside [0, K) are an error);
        ``embed(images)`` → E(x) as ``embedding``."""
        k, shape, prior = self.clusters, self.shape, self.prior
        generator, encoder, log_omega = self.generator, self.encoder, tf.constant(log_weights(self.omega))

        @tf.function(input_signature=[tf.TensorSpec((None,) + shape, tf.float32, name="images")])
        def assign(images):
            probs = prior.posterior(tf.cast(encoder(images, training=False), tf.float32), log_omega)
            return {"probabilities": probs, "cluster": tf.argmax(probs, axis=-1)}

        @tf.function(input_signature=[tf.TensorSpec((None, prior.noise_dim), tf.float32, name="noise"),
                                      tf.TensorSpec((None,), tf.int32, name="cluster")])
        def generate(noise, cluster):
            checks = [tf.debugging.assert_greater_equal(cluster, 0, message=f"cluster ids must be in [0, {k})"),
                      tf.debugging.assert_less(cluster, k, message=f"cluster ids must be in [0, {k})")]
            with tf.control_dependencies(checks):
                y = prior.sample(cluster, noise)
            return {"images": tf.cast(generator(y, training=False), tf.float32)}

        @tf.function(input_signature=[tf.TensorSpec((None,) + shape, tf.float32, name="images")])
        def embed(images):
            return {"embedding": prior.embedding(tf.cast(encoder(images, training=False), tf.float32))}

        return [generator, encoder], {"assign": assign, "generate": generate, "embed": embed}

    # ------------------------------------------------------------------ the M-step
    def m_batches(self) -> int:
        """Steps of the coming M-step: p passes over the data, the first (before any E-step) × ``first_m_scale``."""
        s, t = self.cfg.schedule, self.cfg.train
        return s.m_batches(self.n_samples, t.batch_size * t.critic_steps, s.first_m_scale if self.iteration == 0 else 1)

    def m_step_fit(self, x: np.ndarray, labelled: np.ndarray, verbose: int) -> dict:
        t, steps = self.cfg.train, self.m_batches()
        ds = m_step_batches(x, self.gamma, labelled, steps, t.batch_size, t.critic_steps, self.clusters,
                            self.prior.noise_dim, self.cfg.runtime.seed, self.iteration)
        return last_epoch(self.step.fit(ds, epochs=1, steps_per_epoch=steps, verbose=verbose, shuffle=False))


def m_step_batches(x: np.ndarray, gamma: np.ndarray, labelled: np.ndarray, steps: int, batch: int,
                   critic_steps: int, clusters: int, noise: int, seed: int, iteration: int):
    """The M-step's input (:class:`MinMaxStep`): the data shuffled pass after pass, each sample with its γ and
    labelled flag, and per step the components k ~ U{0..K−1}, noise N(0, I) and the penalty's mix, all fixed by
    (seed, iteration)."""
    rng = np.random.default_rng([seed, iteration, 11])
    need = steps * critic_steps * batch
    index = shuffled_passes(rng, len(x), need).reshape(steps, batch, critic_steps)
    images, memberships, flags = tf.convert_to_tensor(x), tf.constant(gamma), tf.constant(labelled)

    def draw(i, idx):
        s = tf.stack([tf.cast(seed, tf.int64) + 104729, tf.cast(iteration, tf.int64) * 1_000_000 + i])
        return {"x": tf.gather(images, idx), "gamma": tf.gather(memberships, idx), "labelled": tf.gather(flags, idx),
                "k": tf.random.stateless_uniform([batch, critic_steps + 1], seed=s, maxval=clusters, dtype=tf.int32),
                "noise": tf.random.stateless_normal([batch, critic_steps + 1, noise], seed=s + 1),
                "mix": tf.random.stateless_uniform([batch, critic_steps], seed=s + 2)}

    ds = tf.data.Dataset.from_tensor_slices(index).enumerate().map(draw, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def bench_phases(batch_size: int, e_batch_size: int, steps: int, xla: bool, method: str = "minmax-em",
                 t: TrainConfig | None = None) -> list[BenchPhase]:
    """``gan-em bench --method minmax-em`` (or ``clustergan``): the M-step (:class:`MinMaxStep`) of ClusterGAN's
    28×28 networks with K = 10 and the method's default settings ``t`` on random images; the E-step trains nothing
    (γ in closed form), so it is not timed. Multiply-adds per image, counting a trained network's backward
    pass as twice its forward pass and one taken only to the input as once: each D update G + 6 D (G's
    forward pass, D's forward and backward pass on reals and fakes), the G and E update 3 G + 2 D + 6 E (G's
    forward and backward pass, D's forward pass and its backward pass to the input, E's forward and backward
    pass on reals and on fakes). With ``critic="gp"`` the penalty's second-order pass is not counted: no
    GFLOP/s then."""
    shape, k = (28, 28, 1), 10
    t = t or TrainConfig()
    prior = make_prior(method, k, t)
    keras.utils.set_random_seed(0)
    g = networks.build_generator(shape, prior.latent_dim)
    e = networks.build_encoder(shape, prior.encoder_outputs)
    d = networks.build_discriminator(shape)
    omega = tf.Variable(np.full(k, 1.0 / k, np.float32), trainable=False)
    step = MinMaxStep(g, e, d, prior, t, omega)
    step.compile(*(make_optimizer("adam", t.lr, beta1=0.5, beta2=t.beta_2) for _ in "dg"), jit_compile=xla)
    n = batch_size * t.critic_steps * 4
    x = np.random.default_rng(0).random((n,) + shape, dtype=np.float32)
    gamma = np.full((n, k), 1.0 / k, np.float32)
    ds = m_step_batches(x, gamma, np.zeros(n, np.float32), steps, batch_size, t.critic_steps, k, prior.noise_dim,
                        0, 0).cache()
    g_macs, d_macs, e_macs = (shared_networks.forward_macs(net) for net in (g, d, e))
    macs = None if t.critic == "gp" else t.critic_steps * (g_macs + 6 * d_macs) + 3 * g_macs + 2 * d_macs + 6 * e_macs
    return [BenchPhase(f"M-step ({t.critic_steps} D + 1 G/E update)", step, ds, batch_size, step.update, macs)]
