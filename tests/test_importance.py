"""Filter importance by ablation, checked on a model whose wiring is known.

The planted model scans with 12 JASPAR matrices as log-odds filters (plus one filter
that no class reads), takes each filter's maximum over the sequence, and class k's
output reads filter k only. Ablating filter k must then hurt class k most, and the
unread filter must change nothing.
"""

import keras
import numpy as np
import pytest

from keras_motifs.errors import KerasMotifsError, KerasMotifsWarning
from keras_motifs.importance import filter_importance
from keras_motifs.motifs.jaspar import PAPER_TFS, get_motif

WIDTH = 19


def planted_model(x_train: np.ndarray, y_train: np.ndarray) -> keras.Model:
    """Conv1D of the paper's 12 TF matrices as log-odds (and one unread filter), global max, class k <- filter k.

    Each class's weight and bias on its filter's maximum are fitted by logistic
    regression on the training sequences, so that the head is the best use of that
    one figure and a filter replaced by a constant can only make its class worse.
    """
    from sklearn.linear_model import LogisticRegression

    motifs = [get_motif(tf) for tf in PAPER_TFS.values()]
    num_classes = len(motifs)
    kernel = np.zeros((WIDTH, 4, num_classes + 1), dtype=np.float32)
    for k, motif in enumerate(motifs):
        kernel[: motif.width, :, k] = np.log2((motif.ppm + 1e-3) / 0.25)
    kernel[:, :, num_classes] = np.random.default_rng(0).normal(size=(WIDTH, 4))
    inputs = keras.Input((200, 4))
    scan = keras.layers.Conv1D(num_classes + 1, WIDTH, use_bias=False, name="scan")(inputs)
    best = keras.layers.GlobalMaxPooling1D(name="best")(scan)
    head = keras.layers.Dense(num_classes, activation="sigmoid", name="head")(best)
    model = keras.Model(inputs, head, name="planted")
    model.get_layer("scan").set_weights([kernel])
    scores = keras.Model(inputs, best).predict(x_train.astype(np.float32), verbose=0)
    weights, biases = np.zeros((num_classes + 1, num_classes), np.float32), np.zeros(num_classes, np.float32)
    for k in range(num_classes):
        fit = LogisticRegression(C=100.0).fit(scores[:, [k]], y_train[:, k])
        weights[k, k], biases[k] = fit.coef_[0, 0], fit.intercept_[0]
    model.get_layer("head").set_weights([weights, biases])
    return model


@pytest.fixture(scope="module")
def planted(small_dataset):
    return planted_model(small_dataset.x["train"], small_dataset.y["train"])


@pytest.mark.parametrize("ablation", ["mean", "zero"])
def test_ablating_filter_k_hurts_class_k_most(planted, small_dataset, ablation):
    # On the sequences the head was fitted to, no constant in place of a filter can do better.
    x, y = small_dataset.x["train"], small_dataset.y["train"]
    names = small_dataset.class_names
    table = filter_importance(planted, x, y, class_names=names, ablation=ablation, batch_size=25)
    assert list(table.columns[:4]) == ["filter", "layer", "importance", "top_class"]
    assert list(table.columns[4:16]) == names and list(table.columns[16:]) == [f"auroc_drop:{n}" for n in names]
    assert list(table["filter"]) == [f"filter{k}" for k in range(13)] and set(table["layer"]) == {"scan"}
    losses = table[names].to_numpy()
    for k, name in enumerate(names):
        assert table.loc[k, "top_class"] == name
        assert losses[k, k] > 0 and np.allclose(np.delete(losses[k], k), 0, atol=1e-6)
    assert np.allclose(losses[12], 0, atol=1e-6) and table.loc[12, "importance"] == pytest.approx(0, abs=1e-6)
    drops = table[[f"auroc_drop:{n}" for n in names]].to_numpy()
    measured = ~np.isnan(np.diag(drops))
    assert measured.sum() >= 10 and (np.diag(drops)[measured] > 0).all()


def test_the_same_table_for_a_subclassed_model_with_the_layer_nested(planted, small_dataset):
    class Wrapped(keras.Model):
        def __init__(self, inner, **kwargs):
            super().__init__(**kwargs)
            self.inner = inner

        def call(self, x):
            return self.inner(x)

    x, y = small_dataset.x["test"], small_dataset.y["test"]
    flat = filter_importance(planted, x, y, layer="scan")
    nested = filter_importance(Wrapped(planted, name="outer"), x, y, layer="planted/scan", batch_size=7)
    assert nested["layer"].iloc[0] == "planted/scan"
    np.testing.assert_allclose(nested["importance"], flat["importance"], atol=1e-6)


def test_bad_inputs_are_refused_with_a_reason(planted, small_dataset):
    x, y = small_dataset.x["test"], small_dataset.y["test"]
    with pytest.raises(KerasMotifsError, match="y has 3 columns but model 'planted' has 12 outputs"):
        filter_importance(planted, x, y[:, :3])
    linear = keras.Model(planted.inputs, keras.layers.Dense(12)(planted.get_layer("scan").output[:, 0]))
    with pytest.raises(KerasMotifsError, match="outside \\[0, 1\\]; the loss figures assume probabilities"):
        filter_importance(linear, x, y)
    broken = keras.Model(planted.inputs, keras.layers.Lambda(lambda t: t * np.nan)(planted.output))
    with pytest.raises(KerasMotifsError, match="outputs NaN or values outside"):  # not NaN figures without a word
        filter_importance(broken, x, y)
    with pytest.raises(KerasMotifsError, match="outputs of 'head' have no positions"):
        filter_importance(planted, x, y, layer="head")
    with pytest.raises(KerasMotifsError, match="ablation must be one of mean, zero"):
        filter_importance(planted, x, y, ablation="shuffle")


def test_too_few_sequences_for_auroc_give_nan_with_a_warning(planted, small_dataset):
    x, y = small_dataset.x["test"][:3], small_dataset.y["test"][:3]
    with pytest.warns(KerasMotifsWarning, match="one label value only"):
        table = filter_importance(planted, x, y)
    assert table.filter(like="auroc_drop:").isna().any().any() and table["importance"].notna().all()


def test_cli_writes_the_documented_columns(planted, small_dataset_file, small_dataset, tmp_path, capsys):
    import pandas as pd

    from keras_motifs.cli import main

    planted.save(tmp_path / "model.keras")
    out = tmp_path / "conv1.importance.tsv"
    assert main(["importance", "--model", str(tmp_path / "model.keras"), "--data", str(small_dataset_file),
                 "--out", str(out), "--layer", "scan", "--ablation", "zero"]) == 0
    assert "13 filters of scan" in capsys.readouterr().out
    table = pd.read_csv(out, sep="\t")
    names = small_dataset.class_names
    assert list(table.columns) == ["filter", "layer", "importance", "top_class", *names,
                                   *[f"auroc_drop:{name}" for name in names]]
    assert len(table) == 13 and table.loc[12, "importance"] == pytest.approx(0, abs=1e-6)
    assert main(["importance", "--model", str(tmp_path / "model.keras"), "--data", str(small_dataset_file),
                 "--out", str(tmp_path / "x.tsv"), "--layer", "head"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("keras-motifs: error: ") and "outputs of 'head' have no positions" in err
    assert not (tmp_path / "x.tsv").exists()


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_zero_ablation_equals_zeroing_the_filter_when_later_layers_read_the_input_too(small_dataset, data_format):
    """A linear scan whose filter k is set to zero outputs zeros: the same as ablating it, even for a
    model whose layers after the scan also take the raw sequence (replayed inputs are tiled), and for
    a channels-first model (filters on axis 1)."""
    x, y = small_dataset.x["test"].astype(np.float32), small_dataset.y["test"][:, :3]
    first = data_format == "channels_first"
    if first:
        x = x.transpose(0, 2, 1)
    inputs = keras.Input((4, 200) if first else (200, 4))
    scan = keras.layers.Conv1D(6, 7, padding="same", data_format=data_format, name="scan")(inputs)
    both = keras.layers.Concatenate(axis=1 if first else -1)([scan, inputs])  # after the scan, the sequence again
    best = keras.layers.GlobalMaxPooling1D(data_format=data_format)(both)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="sigmoid")(best))
    table = filter_importance(model, x, y, layer="scan", ablation="zero", batch_size=16)

    def loss(predictions):
        p = np.clip(predictions, 1e-7, 1 - 1e-7)
        return -(y * np.log(p) + (1 - y) * np.log1p(-p)).mean(axis=0)

    kernel, bias = model.get_layer("scan").get_weights()
    baseline = loss(model.predict(x, verbose=0))
    for k in range(6):
        zeroed_kernel, zeroed_bias = kernel.copy(), bias.copy()
        zeroed_kernel[..., k], zeroed_bias[k] = 0, 0
        model.get_layer("scan").set_weights([zeroed_kernel, zeroed_bias])
        expected = loss(model.predict(x, verbose=0)) - baseline
        np.testing.assert_allclose(table.loc[k, ["class0", "class1", "class2"]].astype(float), expected, atol=1e-5)
    model.get_layer("scan").set_weights([kernel, bias])


def test_a_layer_shared_across_strands_is_ablated_on_both(small_dataset):
    """Zero ablation of filter f of a convolution run on both strands = the model with filter f's weights zero."""

    class BothStrands(keras.Model):
        def __init__(self):
            super().__init__(name="both_strands")
            self.scan = keras.layers.Conv1D(4, 9, name="scan")
            self.out = keras.layers.Dense(3, activation="sigmoid", name="out")

        def call(self, x):
            forward = keras.ops.max(self.scan(x), axis=1)
            reverse = keras.ops.max(self.scan(keras.ops.flip(x, axis=(1, 2))), axis=1)
            return self.out(keras.ops.concatenate([forward, reverse], axis=-1))

    x, y = small_dataset.x["test"][:40].astype(np.float32), small_dataset.y["test"][:40, :3]
    model = BothStrands()
    model(x[:2])
    table = filter_importance(model, x, y, ablation="zero", batch_size=16)
    kernel, bias = model.scan.get_weights()
    for f in range(4):
        model.scan.set_weights([np.where(np.arange(4) == f, 0, kernel), np.where(np.arange(4) == f, 0, bias)])
        p = np.clip(model.predict(x, verbose=0), 1e-7, 1 - 1e-7)
        model.scan.set_weights([kernel, bias])
        loss = -(y * np.log(p) + (1 - y) * np.log1p(-p)).mean(axis=0)
        base = np.clip(model.predict(x, verbose=0), 1e-7, 1 - 1e-7)
        expected = loss - (-(y * np.log(base) + (1 - y) * np.log1p(-base)).mean(axis=0))
        np.testing.assert_allclose(table.loc[f, ["class0", "class1", "class2"]].to_numpy(float), expected, atol=1e-5)


def test_a_read_layer_shared_with_other_convolutions_is_ablated_only_after_the_probed_one(small_dataset):
    """One ReLU after every convolution (common in subclassed models): only its call on conv1 is ablated."""

    class Tower(keras.Model):
        def __init__(self, shared: bool):
            super().__init__()
            self.conv1 = keras.layers.Conv1D(4, 9, padding="same", name="conv1")
            self.conv2 = keras.layers.Conv1D(6, 5, padding="same", name="conv2")  # not conv1's filter count
            self.relu1 = keras.layers.ReLU(name="relu")
            self.relu2 = self.relu1 if shared else keras.layers.ReLU(name="relu2")
            self.out = keras.layers.Dense(3, activation="sigmoid", name="out")

        def call(self, x):
            h = self.relu2(self.conv2(self.relu1(self.conv1(x))))
            return self.out(keras.ops.max(h, axis=1))

    x, y = small_dataset.x["test"][:40].astype(np.float32), small_dataset.y["test"][:40, :3]
    shared, separate = Tower(shared=True), Tower(shared=False)
    shared(x[:2]), separate(x[:2])
    separate.set_weights(shared.get_weights())
    np.testing.assert_allclose(shared.predict(x, verbose=0), separate.predict(x, verbose=0), atol=1e-6)
    columns = ["class0", "class1", "class2"]
    expected = filter_importance(separate, x, y, layer="conv1", batch_size=16)[columns].to_numpy(float)
    found = filter_importance(shared, x, y, layer="conv1", batch_size=16)[columns].to_numpy(float)
    np.testing.assert_allclose(found, expected, atol=1e-5)
