"""GAN-EM's named recipes (``gan-em cluster --recipe NAME``; ``gan-em recipes`` lists them with their values).

``paper`` and ``authors`` are the two published configurations; the others are the schedules that
measured best on this project's CPU machines (paper_repro/RESULTS.md has every number). Values not
named keep :class:`~gan_em_tf.gan_em.config.TrainConfig`'s and the schedule's defaults (paper §5.1;
p = 5 passes, more on small data so an M-step is at least 700 batches; q = 1000; n = 20).
"""
from __future__ import annotations

from gan_em_tf.gan_em.config import GrowthConfig, MoveConfig
from gan_em_tf.recipes import Recipe

# The authors' public code (ANCHORS.md): Adam β1 0.5, lr D 2e-4 / G 6e-4 / E 6e-5, batch 70, balanced E-step
# batches of 200, G trained toward its own one-hot class, weight 2 on the real/fake unit.
AUTHORS = {"train.optimizer": "adam", "train.lr_g": 6e-4, "train.lr_d": 2e-4, "train.lr_e": 6e-5,
           "train.batch_size": 70, "train.e_batch_size": 200, "train.generator_loss": "onehot",
           "train.e_class_prior": "uniform", "train.real_unit_weight": 2.0}
# M-steps of one pass over the data, at most 500 batches of 70 (one pass of MNIST's 10,000 test images: 142)
CPU_M_STEP = {"schedule.m_epochs": 1.0, "schedule.m_steps": 500}

RECIPES = {r.name: r for r in [
    Recipe("paper", "§5.1 as printed: RMSprop 2e-4, batch 64, generator loss of Eq. 1, E-step classes drawn "
           "from φ (Eq. 5), uniform start; 20 EM iterations of 5 passes + 1000 E-steps", {}),
    Recipe("authors", "the authors' public code: Adam, G toward its own one-hot class, balanced E-step batches",
           AUTHORS),
    Recipe("small", "for small images and vectors (MLP networks): the authors' settings with G's rate lowered to "
           "D's half, which cures G's collapse to one sample per cluster there, and w started from t-SNE + Ward "
           "(--init tsne-ward); bundled digits ACC 0.91, about 3 min on 2 CPU cores",
           {"train.lr_g": 1e-4, "train.init": "tsne-ward"}, based_on="authors"),
    Recipe("small-semi", "small with labels (--labels N): uniform start, the E-net at 6e-4, the labels trained "
           "every E-step (ε = 0) and the E-step's fakes jittered (--e-augment)",
           {"train.lr_g": 1e-4, "train.lr_e": 6e-4, "supervision.epsilon": 0.0, "train.e_augment": True},
           based_on="authors"),
    Recipe("cpu", "28x28 images on a CPU: half-width networks, M-steps of one pass (at most 500 batches), 50 "
           "E-steps at 6e-4, constant rates, classes drawn from φ, and partition moves from iteration 40 to a last "
           "one after 90; 170 EM iterations (MNIST-test ACC 0.915 ± 0.045, ≈ 45 min on 2 cores)",
           {"train.net_width": 0.5, **CPU_M_STEP, "schedule.e_steps": 50, "train.lr_e": 6e-4,
            "train.lr_decay": 1.0, "train.e_class_prior": "phi", "train.moves": MoveConfig(),
            "schedule.iterations": 170}, based_on="authors"),
    Recipe("cpu-grow", "cpu for more clusters than classes (--clusters 20, 30): 10 clusters until iteration 40, "
           "then cut into K (MNIST-test error K = 20: 0.045 ± 0.010, K = 30: 0.055 ± 0.007)",
           {"train.growth": GrowthConfig()}, based_on="cpu"),
    Recipe("cpu-fig3", "cpu-grow for paper Fig. 3 (--clusters 20 --embed-dim 1000): rates annealed by 0.95 per "
           "iteration and the E-step's fakes jittered (--e-augment) from iteration 110",
           {"train.lr_decay": 0.95, "train.lr_decay_start": 110, "train.e_augment": True,
            "train.e_augment_start": 110}, based_on="cpu-grow"),
    Recipe("cpu-semi", "28x28 images with --labels N on a CPU: M-steps as cpu's (the first three times as long, "
           "G trained through the real/fake unit only in it), 200 E-steps, the labels trained every E-step "
           "(ε = 0), the E-step's fakes jittered; 20 EM iterations (MNIST-test, 100 labels: 2.65 ± 0.16 % error)",
           {**CPU_M_STEP, "schedule.first_m_scale": 3.0, "schedule.e_steps": 200,
            "train.g_class_start": 2, "supervision.epsilon": 0.0, "train.e_augment": True,
            "schedule.iterations": 20}, based_on="authors"),
]}


def default_recipe(conv_networks: bool, clusters: int, labels: int) -> str:
    """The recipe a run without ``--recipe`` uses: the one measured best for data like its own.

    Small images and vectors (MLP networks) take ``small`` (``small-semi`` with labels); images with
    convolutional networks take ``cpu-semi`` with labels, ``cpu-grow`` for more clusters than the growth
    starts from, ``authors`` for K = 2 (the moves need 3), and ``cpu`` otherwise.
    """
    if not conv_networks:
        return "small-semi" if labels else "small"
    if labels:
        return "cpu-semi"
    if clusters < 3:
        return "authors"
    return "cpu-grow" if clusters > GrowthConfig().clusters else "cpu"
