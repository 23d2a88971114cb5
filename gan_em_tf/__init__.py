"""gan_em_tf: Keras 3 / TensorFlow reference implementation of GAN-EM.

Zhao, Wang, Xie, Shi, Xu. *GAN-EM: GAN Based EM Learning Framework*, IJCAI 2019.
The package holds the shared pieces (data, networks, losses, metrics, the EM runner, run folder,
export, CLI) and one subpackage per method (``gan_em_tf.gan_em``; :mod:`gan_em_tf.methods`).
"""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"
