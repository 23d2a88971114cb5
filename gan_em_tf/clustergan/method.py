"""ClusterGAN is built by DNN-MM's method with ClusterGAN's prior (:func:`gan_em_tf.dnnmm.method.make_prior`)."""
from gan_em_tf.dnnmm.method import build  # noqa: F401
