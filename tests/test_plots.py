"""samples.png's mosaic: tile (i, j) is cluster i's j-th sample, white gaps between tiles."""
import numpy as np

from gan_em_tf import plots


def test_the_mosaic_puts_sample_j_of_cluster_i_in_row_i_column_j_with_white_gaps():
    k, n, h, w = 3, 4, 5, 6
    images = (np.arange(k * n, dtype=np.float32) / (k * n)).repeat(h * w).reshape(k, n, h, w, 1)
    mosaic = plots._mosaic(images, gap=2)
    assert mosaic.shape == (k * h + (k - 1) * 2, n * w + (n - 1) * 2)
    for i in range(k):
        for j in range(n):
            tile = mosaic[i * (h + 2):i * (h + 2) + h, j * (w + 2):j * (w + 2) + w]
            np.testing.assert_array_equal(tile, images[i, j, ..., 0])
    assert (mosaic[h:h + 2] == 1).all() and (mosaic[:, w:w + 2] == 1).all()
    assert plots._mosaic(np.zeros((k, n, h, w, 3), np.float32), gap=1).shape == (k * h + k - 1, n * w + n - 1, 3)


def test_sample_grid_writes_a_png_for_images_and_for_feature_vectors(tmp_path):
    rng = np.random.default_rng(0)
    for name, shape in (("images", (3, 10, 8, 8, 1)), ("vectors", (3, 10, 4))):
        plots.sample_grid(rng.random(shape).astype(np.float32), str(tmp_path / f"{name}.png"), "title")
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
