"""GANMM and GANMM (EM) (Yu & Zhou, IJCAI 2018): a mixture of K WGANs trained by ε-EM (Algorithm 1)."""
