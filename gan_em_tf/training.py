"""Plumbing every method's training phases share: Keras models with a custom ``train_step``, losses reduced
over the global batch, optimizers, and the process-wide runtime settings of one run.

A phase is a :class:`Phase` (a ``keras.Model`` that holds already-built sub-networks, compiles its own
optimizers and overrides ``train_step``); its logged scalars are :class:`keras.metrics.Mean` trackers named
like the keys ``train_step`` returns. Every loss term goes through :func:`gan_em_tf.losses.global_mean`, so one
step on 1 or N MirroredStrategy replicas gives the same update (gradients are summed across replicas).
"""
from __future__ import annotations

import contextlib

import keras
import numpy as np
import tensorflow as tf

from gan_em_tf.errors import UserError
from gan_em_tf.losses import global_mean  # noqa: F401  (phases import it from here with the batch helpers)


def num_replicas() -> int:
    return tf.distribute.get_strategy().num_replicas_in_sync


def global_batch(replica_batch: tf.Tensor):
    """Size of the global batch from one replica's batch tensor."""
    return tf.shape(replica_batch)[0] * num_replicas()


class Phase(keras.Model):
    """One training phase: trackers named like the logged keys, listed in ``metrics``.

    ``fit`` takes a ``tf.data.Dataset`` of global batches; under a multi-worker strategy each worker keeps its
    share of every batch (sharding by data: the in-memory datasets here have no files to split).
    """

    def __init__(self, tracker_names, **kwargs):
        super().__init__(**kwargs)
        self.trackers = {n: keras.metrics.Mean(name=n) for n in tracker_names}
        self.built = True  # the sub-networks are built Functional models

    @property
    def metrics(self):
        return list(self.trackers.values())

    def fit(self, x=None, *args, **kwargs):
        if isinstance(x, tf.data.Dataset):
            options = tf.data.Options()
            options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
            x = x.with_options(options)
        return super().fit(x, *args, **kwargs)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Nothing to build: a phase holds built networks and builds its optimizers itself. (Keras 3's own
        version averages a sample batch across replicas, which fails under MultiWorkerMirroredStrategy:
        keras-team/keras#20585.)"""

    def log(self, **values):
        """Update the trackers with replica-local values scaled back to global means; returns the epoch means.

        Under a multi-worker strategy each mean is returned as a 1-vector: Keras 3 averages the logs of the
        replicas along axis 0 there, which a scalar does not have (:func:`last_epoch` reads either form)."""
        r = float(num_replicas())
        for name, value in values.items():
            self.trackers[name].update_state(value * r)
        shape = [1] if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy) else []
        return {n: tf.reshape(t.result(), shape) for n, t in self.trackers.items()}


class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` whose update is TensorFlow's fused kernel (``ResourceApplyAdam``).

    Keras 3 updates each variable with separate element-wise ops (m, v and the variable each read and written
    by their own kernels, with temporaries between them); without XLA that cost the authors' 28×28 M-step
    41 ms of its 239 (paper_repro/RESULTS.md, Speed). The fused kernel makes one pass over the variable, m, v
    and the gradient. The same rule (m ← β1 m + (1 − β1) g, v ← β2 v + (1 − β2) g², θ ← θ − α m / (√v + ε),
    α = lr √(1 − β2^t) / (1 − β1^t)), the same slot variables, so checkpoints of either load into the other.
    AMSGrad and sparse gradients take the Keras path."""

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable), m=_handle(self._momentums[index]), v=_handle(self._velocities[index]),
            beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype), use_locking=False)


def _handle(variable):
    """The resource handle of a Keras or TensorFlow variable (of this replica's copy when mirrored)."""
    return (variable.value if isinstance(variable, keras.Variable) else variable).handle


def make_optimizer(kind: str, lr: float, beta1: float = 0.5, beta2: float = 0.999):
    """Adam (β = (beta1, beta2), fused: :class:`FusedAdam`) or RMSprop at ``lr``."""
    if kind == "adam":
        return FusedAdam(lr, beta_1=beta1, beta_2=beta2)
    if kind == "rmsprop":
        return keras.optimizers.RMSprop(lr)
    raise UserError(f"unknown optimizer {kind!r}; use adam or rmsprop")


def last_epoch(history) -> dict:
    """The last epoch's value of every logged key of a ``fit`` History."""
    return {k: float(np.ravel(v[-1])[0]) for k, v in history.history.items()}


@contextlib.contextmanager
def runtime_scope(runtime):
    """The process-wide settings of one run — the bfloat16 policy (``--mixed-precision``) and op determinism
    (``--deterministic``) — for the body only; the previous ones are restored afterwards, so a later build in
    the same process (an export, the next test) is not changed by them."""
    from tensorflow.python.framework import config as tf_config  # its public API can enable but not disable

    policy = keras.mixed_precision.global_policy().name
    determinism = tf_config.is_op_determinism_enabled()
    if runtime.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    if runtime.deterministic and not determinism:
        tf.config.experimental.enable_op_determinism()
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(policy)
        if runtime.deterministic and not determinism:
            tf_config.disable_op_determinism()
