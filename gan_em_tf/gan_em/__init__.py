"""GAN-EM (paper 000, §3 and Algorithm 1): its training phases and its EM loop."""
