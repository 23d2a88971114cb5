"""DEC (Xie et al. 2016) and its stacked autoencoder: the equations on hand-computed cases, a step that
descends KL(P ‖ Q), and the CLI path embed-sae → baseline --method dec clustering separated blobs (through the
CLI's main in this interpreter)."""
import json

import numpy as np
import pytest

from conftest import cli_in_process

from gan_em_tf.config import DEC_STEPS


def test_soft_assignment_target_and_kl_on_a_hand_computed_case():
    from gan_em_tf import dec

    # Eq. 1: z = (0, 0), centres (0, 0) and (1, 0): distances² 0 and 1 → q ∝ (1, 1/2)
    q = dec.soft_assignment(np.zeros((1, 2), np.float32), np.array([[0, 0], [1, 0]], np.float32)).numpy()
    np.testing.assert_allclose(q, [[2 / 3, 1 / 3]], rtol=1e-6)
    # Eq. 3: q = [[.8, .2], [.4, .6]] → f = (1.2, .8); q²/f = [[.5333, .05], [.1333, .45]], rows normalised
    p = dec.target_distribution(np.array([[0.8, 0.2], [0.4, 0.6]]))
    np.testing.assert_allclose(p, [[0.64 / 1.2 / (0.64 / 1.2 + 0.05), 0.05 / (0.64 / 1.2 + 0.05)],
                                   [0.16 / 1.2 / (0.16 / 1.2 + 0.45), 0.45 / (0.16 / 1.2 + 0.45)]], rtol=1e-6)
    assert p[0, 0] > 0.8 and p[1, 1] > 0.6  # sharper than q where q was confident
    # Eq. 2: KL([1, 0] ‖ [2/3, 1/3]) = log 1.5
    kl = dec.kl_divergence(np.array([[1.0, 0.0]]), np.array([[2 / 3, 1 / 3]], np.float32)).numpy()
    np.testing.assert_allclose(kl, [np.log(1.5)], rtol=1e-5)


def test_a_dec_step_lowers_kl_towards_a_fixed_target():
    """With the sign of the loss flipped the KL rises; a step that changes nothing fails too."""
    import keras

    from gan_em_tf import dec

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5)).astype(np.float32)
    encoder = dec.build_encoder(5, code=3)
    model = dec.Dec(encoder, rng.normal(size=(4, 3)).astype(np.float32))
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9))
    p = np.full((64, 4), 0.05, np.float32)
    p[np.arange(64), np.arange(64) % 4] = 0.85  # a target far from the current q

    def kl():
        return float(np.mean(dec.kl_divergence(p, model(x)).numpy()))

    before = kl()
    for _ in range(20):
        model.train_on_batch({"x": x, "p": p})
    assert kl() < 0.9 * before, (before, kl())


@pytest.fixture(scope="module")
def blobs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dec")
    rng = np.random.default_rng(1)
    centres = np.array([[0, 0, 0, 0, 0], [5, 5, 0, 0, 0], [0, 5, 5, 5, 0]], float)
    y = np.repeat(np.arange(3), 100)
    np.savez(folder / "blobs.npz", x=centres[y] + rng.normal(0, 1, (300, 5)), y=y)
    return folder


def test_embed_sae_then_dec_from_its_encoder_separates_three_blobs(blobs, capsys):
    data = ["--dataset", "file", "--data-file", str(blobs / "blobs.npz")]
    sae = blobs / "sae"
    code, err, out = cli_in_process(capsys, ["embed-sae", *data, "--epochs", "100", "--out", str(sae)])
    assert code == 0, err[-2000:]
    record = json.loads(out.strip().splitlines()[-1])
    codes = np.load(sae / "codes.npz")
    assert codes["x"].shape == (300, 10) and (codes["y"] == np.repeat(np.arange(3), 100)).all()
    from gan_em_tf import data as data_lib

    x = data_lib.load_array_file(str(blobs / "blobs.npz")).x
    assert record["reconstruction_mse"] < 0.5 * x.var(axis=0).mean(), (record, x.var(axis=0).mean())

    code, err, out = cli_in_process(capsys, ["baseline", *data, "--method", "dec", "--clusters", "3", "--sae",
                                             str(sae), "--seeds", "0", "--out", str(blobs / "dec.json")])
    assert code == 0, err[-2000:]
    assert f"DEC seed 0: step 0/{DEC_STEPS}, " in out and "DEC seed 0 done in " in out, out  # a line per target update
    result = json.load(open(blobs / "dec.json"))["results"][0]
    assert result["method"] == "dec" and result["purity"]["mean"] >= 0.95, result

    other = blobs / "other.npz"
    np.savez(other, x=np.random.default_rng(0).random((50, 7)))
    code, err, _ = cli_in_process(capsys, ["baseline", "--dataset", "file", "--data-file", str(other), "--method",
                                           "dec", "--clusters", "3", "--sae", str(sae)])
    msg = [ln for ln in err.splitlines() if ln.startswith("gan-em: error:")]
    assert code == 2 and len(msg) == 1 and "--sae" in msg[0], err[-1500:]


def test_an_interrupted_embed_sae_resumes_from_its_last_finished_pass(blobs, capsys, monkeypatch):
    """Stopped after pass 2 of 4 (a KeyboardInterrupt right after the pass's backup), the folder holds no codes
    and the hint names --resume; --resume runs passes 3 and 4 only and removes the backup. --resume on a finished
    folder, or on one holding nothing, is a one-line error."""
    import keras

    data = ["--dataset", "file", "--data-file", str(blobs / "blobs.npz")]
    out = blobs / "sae-resumed"

    class StopAfterTwoPasses(keras.callbacks.BackupAndRestore):
        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            if epoch == 1:
                raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(keras.callbacks, "BackupAndRestore", StopAfterTwoPasses)
        code, err, _ = cli_in_process(capsys, ["embed-sae", *data, "--epochs", "4", "--out", str(out)])
    assert code == 130 and "continue with --resume" in err, err[-2000:]
    assert (out / "backup").is_dir() and not (out / "codes.npz").exists()
    code, err, _ = cli_in_process(capsys, ["embed-sae", *data, "--seed", "1", "--out", str(out), "--resume"])
    msg = [ln for ln in err.splitlines() if ln.startswith("gan-em: error:")]
    assert code == 2 and len(msg) == 1 and "--seed" in msg[0], err[-1500:]  # another seed: refused, nothing lost
    code, err, printed = cli_in_process(capsys, ["embed-sae", *data, "--epochs", "4", "--out", str(out), "--resume"])
    assert code == 0, err[-2000:]
    passes = [ln.split()[1] for ln in printed.splitlines() if ln.startswith("Epoch ")]
    assert passes == ["3/4", "4/4"], printed[-2000:]
    assert not (out / "backup").exists() and np.load(out / "codes.npz")["x"].shape == (300, 10)
    for folder, says in ((out, "finished"), (blobs / "nothing-here", "start it without --resume")):
        code, err, _ = cli_in_process(capsys, ["embed-sae", *data, "--out", str(folder), "--resume"])
        msg = [ln for ln in err.splitlines() if ln.startswith("gan-em: error:")]
        assert code == 2 and len(msg) == 1 and says in msg[0], err[-1500:]
