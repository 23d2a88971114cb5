"""ClusterGAN's checks are DNN-MM's."""
from gan_em_tf.dnnmm.checks import lr_schedule_change, validate  # noqa: F401
