"""Porting TF1 checkpoints of the authors' released code (keras_motifs.released, `keras-motifs port`).

The checkpoints here are written by the test itself, in TF1 format (a tf.compat.v1 graph
and Saver) with the released code's variable names; none of the authors' files is used.
"""

import keras
import numpy as np
import pytest

from keras_motifs.cli import main
from keras_motifs.errors import KerasMotifsError
from keras_motifs.models import build_model
from keras_motifs.released import RELEASED_EPSILON, port_checkpoint, read_checkpoint, released_model

tf = pytest.importorskip("tensorflow")

#: A small architecture of the released family: two conv blocks, a hidden dense layer.
TINY = {"name": "tiny", "conv_layers": [{"filters": 3, "kernel_size": 5, "pool_size": 4},
                                        {"filters": 4, "kernel_size": 3, "pool_size": 5}], "dense_units": 6}
LENGTH, CLASSES = 40, 2


def released_variables(spec=TINY, second_filters=None, rng=None):
    """Random values under the released code's names, optimizer slots included."""
    rng = rng or np.random.default_rng(0)
    values, c_in, positions = {}, 4, LENGTH
    for i, layer in enumerate(spec["conv_layers"]):
        c_out = second_filters if (i == 1 and second_filters) else layer["filters"]
        values[f"conv1d_{i}/conv1d/Variable"] = rng.normal(0, 0.1, (layer["kernel_size"], 1, c_in, c_out))
        values.update(_norm(f"conv1d_{i}", c_out, rng, variance=0.05 * (1 + i)))
        c_in, positions = c_out, -(-positions // layer["pool_size"])
    values["dense_0/dense/Variable"] = rng.normal(0, 0.01, (positions * c_in, spec["dense_units"]))
    values.update(_norm("dense_0", spec["dense_units"], rng, variance=1e-3))
    values["dense_1/dense/Variable"] = rng.normal(0, 1.0, (spec["dense_units"], CLASSES))
    values["dense_1/bias/Variable"] = rng.normal(0, 0.1, CLASSES)
    slots = {f"{name}/adam": v * 0 for name, v in values.items()} | {f"{name}/adam_1": v * 0 for name, v in values.items()}
    return values, {**slots, "beta1_power": np.float32(0.9), "beta2_power": np.float32(0.99)}


def _norm(scope, size, rng, variance):
    """Gamma, beta and moving statistics around ``variance`` (the epsilon matters where it is small)."""
    return {f"{scope}/norm/Variable": rng.uniform(0.5, 1.5, size), f"{scope}/norm/Variable_1": rng.normal(0, 0.1, size),
            f"{scope}/moments/Squeeze/ExponentialMovingAverage": rng.normal(0, 0.01, size),
            f"{scope}/moments/Squeeze_1/ExponentialMovingAverage": rng.uniform(0.5, 1.5, size) * variance}


def write_tf1_checkpoint(prefix, values):
    """Save ``values`` under their names the way the released code did (TF1 Saver)."""
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        variables = {name: tf.compat.v1.Variable(np.asarray(value, np.float32)) for name, value in values.items()}
        session.run(tf.compat.v1.global_variables_initializer())
        tf.compat.v1.train.Saver(var_list=variables).save(session, str(prefix))
    return prefix


def released_forward(values, x, pools, epsilon=RELEASED_EPSILON):
    """The released graph at inference, in NumPy: conv (same) -> BN -> ReLU -> max-pool (same), dense..."""
    def batch_norm(h, scope):
        mean = values[f"{scope}/moments/Squeeze/ExponentialMovingAverage"]
        variance = values[f"{scope}/moments/Squeeze_1/ExponentialMovingAverage"]
        return values[f"{scope}/norm/Variable"] * (h - mean) / np.sqrt(variance + epsilon) + values[f"{scope}/norm/Variable_1"]

    h = x.astype(np.float64)
    for i, pool in enumerate(pools):
        kernel = values[f"conv1d_{i}/conv1d/Variable"][:, 0]
        k = kernel.shape[0]
        padded = np.pad(h, ((0, 0), ((k - 1) // 2, k // 2), (0, 0)))
        windows = np.lib.stride_tricks.sliding_window_view(padded, k, axis=1)  # (n, L, c_in, k)
        h = np.maximum(batch_norm(np.einsum("nlck,kco->nlo", windows, kernel), f"conv1d_{i}"), 0)
        positions = -(-h.shape[1] // pool)
        h = np.pad(h, ((0, 0), (0, positions * pool - h.shape[1]), (0, 0)), constant_values=-np.inf)
        h = h.reshape(len(h), positions, pool, -1).max(axis=2)
    h = np.maximum(batch_norm(h.reshape(len(h), -1) @ values["dense_0/dense/Variable"], "dense_0"), 0)
    return 1 / (1 + np.exp(-(h @ values["dense_1/dense/Variable"] + values["dense_1/bias/Variable"])))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    values, slots = released_variables()
    prefix = write_tf1_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny_best.ckpt", {**values, **slots})
    return prefix, values


@pytest.fixture(scope="module")
def x():
    return np.eye(4, dtype="float32")[np.random.default_rng(1).integers(0, 4, (16, LENGTH))]


def test_reading_skips_optimizer_slots(checkpoint):
    prefix, values = checkpoint
    read = read_checkpoint(f"{prefix}.index")
    assert set(read) == set(values)
    np.testing.assert_array_equal(read["dense_1/bias/Variable"], values["dense_1/bias/Variable"].astype(np.float32))


def test_ported_model_computes_what_the_released_graph_computed(checkpoint, x):
    prefix, values = checkpoint
    model = released_model(read_checkpoint(prefix), TINY, input_length=LENGTH)
    expected = released_forward(values, x, pools=[4, 5])
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=2e-5)
    # Copied without folding the epsilon into gamma, the predictions move.
    naive = build_model(TINY, input_length=LENGTH, num_classes=CLASSES)
    naive.set_weights(model.get_weights())
    for layer in (naive.get_layer("conv1").bn, naive.get_layer("conv2").bn, naive.get_layer("dense_bn")):
        scope = {"conv1_bn": "conv1d_0", "conv2_bn": "conv1d_1", "dense_bn": "dense_0"}[layer.name]
        _, beta, mean, variance = layer.get_weights()
        layer.set_weights([values[f"{scope}/norm/Variable"], beta, mean, variance])
    assert np.abs(naive.predict(x, verbose=0) - expected).max() > 1e-2


def test_port_writes_a_keras_model_that_reloads(checkpoint, x, tmp_path):
    prefix, values = checkpoint
    out = port_checkpoint(prefix, TINY, tmp_path / "tiny.keras", input_length=LENGTH)
    reloaded = keras.models.load_model(out)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), released_forward(values, x, pools=[4, 5]), atol=2e-5)
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.keras"]  # nothing staged is left


def test_a_checkpoint_of_another_shape_is_refused(tmp_path, capsys):
    values, _ = released_variables(second_filters=7)  # 7 second-layer filters where TINY has 4
    prefix = write_tf1_checkpoint(tmp_path / "other_best.ckpt", values)
    with pytest.raises(KerasMotifsError, match=r"other_best.ckpt: variable conv1d_1/conv1d/Variable has shape "
                                               r"\(3, 1, 3, 7\), but tiny's conv2 kernel has shape \(3, 1, 3, 4\)"):
        port_checkpoint(prefix, TINY, tmp_path / "m.keras", input_length=LENGTH)
    assert main(["port", "--checkpoint", str(prefix), "--arch", "cnn-25", "--out", str(tmp_path / "m.keras")]) == 2
    assert "other_best.ckpt: variable conv1d_0/conv1d/Variable has shape (5, 1, 4, 3), but cnn-25's conv1 kernel " \
           "has shape (19, 1, 4, 30)" in capsys.readouterr().err
    assert not (tmp_path / "m.keras").exists()


def test_cli_port_takes_the_released_names(tmp_path, capsys):
    rng = np.random.default_rng(2)
    values = {}
    for i, (k, c_in, c_out) in enumerate([(19, 4, 30), (5, 30, 64)]):
        values[f"conv1d_{i}/conv1d/Variable"] = rng.normal(0, 0.1, (k, 1, c_in, c_out))
        values.update(_norm(f"conv1d_{i}", c_out, rng, variance=0.05))
    values["dense_0/dense/Variable"] = rng.normal(0, 0.1, (128, 96))
    values.update(_norm("dense_0", 96, rng, variance=0.05))
    values["dense_1/dense/Variable"] = rng.normal(0, 0.1, (96, 12))
    values["dense_1/bias/Variable"] = np.zeros(12)
    prefix = write_tf1_checkpoint(tmp_path / "cnn_50_2_best.ckpt", values)
    assert main(["port", "--checkpoint", str(prefix), "--arch", "cnn_50_2", "--out", str(tmp_path / "m.keras")]) == 0
    assert "cnn-50-2 with the weights of" in capsys.readouterr().out
    assert main(["port", "--checkpoint", str(prefix), "--arch", "cnn-50-2-samesize",
                 "--out", str(tmp_path / "n.keras")]) == 2
    assert "has shape (5, 1, 30, 64), but cnn-50-2-samesize's conv2 kernel has shape (5, 1, 30, 128)" in \
           capsys.readouterr().err
    assert main(["port", "--checkpoint", str(tmp_path / "absent.ckpt"), "--arch", "cnn-25",
                 "--out", str(tmp_path / "o.keras")]) == 2
    assert "absent.ckpt: no TensorFlow checkpoint there" in capsys.readouterr().err
