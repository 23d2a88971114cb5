"""gan_em_tf: Keras 3 / TensorFlow reference implementation of GAN-EM.

Zhao, Wang, Xie, Shi, Xu. *GAN-EM: GAN Based EM Learning Framework*, IJCAI 2019.
The package holds the shared pieces (data, networks, losses, metrics, export,
CLI) and one sub-package per method (``gan_em_tf.gan_em``).
"""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
