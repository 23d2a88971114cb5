"""DNN-MM trained by MinMax+EM (Pande & Awate): a generator, an encoder and a discriminator with a Gaussian
mixture in latent space."""
