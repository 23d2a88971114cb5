"""ClusterGAN (Mukherjee et al., AAAI 2019), DNN-MM's baseline, and ClusterGANss with ``--labels``: DNN-MM's
loop (:mod:`gan_em_tf.dnnmm`) with ClusterGAN's prior, losses and settings."""
