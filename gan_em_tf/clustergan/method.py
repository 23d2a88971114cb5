"""ClusterGAN is built by DNN-MM's method with ClusterGAN's prior (:func:`gan_em_tf.dnnmm.method.make_prior`)."""
from gan_em_tf.clustergan.config import TrainConfig
from gan_em_tf.dnnmm import method
from gan_em_tf.dnnmm.method import build  # noqa: F401


def bench_phases(batch_size: int, e_batch_size: int, steps: int, xla: bool):
    """``gan-em bench --method clustergan``: DNN-MM's M-step with ClusterGAN's prior and settings."""
    return method.bench_phases(batch_size, e_batch_size, steps, xla, "clustergan", TrainConfig())
