"""Users' own saved models from the command line: custom losses, registered layers, channels-first inputs.

Each model is small and untrained; filter 0 of its convolution is planted with the
log-odds of the first class's JASPAR matrix, so the command line must carry it from
the saved file through ``filters`` to ``tomtom`` and find that matrix again.
"""

import csv
import importlib.util
import re

import keras
import numpy as np
import pytest

from keras_motifs.cli import main
from keras_motifs.data.reader import load_dataset
from keras_motifs.motifs.jaspar import get_motif
from keras_motifs.probe.paths import layer_paths

#: A user's module: a layer scanning both strands with one shared convolution, and a subclassed model using it.
USER_MODULE = '''
import keras


@keras.saving.register_keras_serializable(package="zoo")
class RCShared(keras.layers.Layer):
    """One Conv1D over both strands; the larger of the two responses at each position."""

    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size = filters, kernel_size
        self.conv = keras.layers.Conv1D(filters, kernel_size, padding="same", name="conv")

    def build(self, input_shape):
        self.conv.build(input_shape)

    def call(self, x):
        forward = self.conv(x)
        reverse = keras.ops.flip(self.conv(keras.ops.flip(x, axis=(1, 2))), axis=1)
        return keras.ops.maximum(forward, reverse)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable(package="zoo")
class RCNet(keras.Model):
    def __init__(self, num_classes, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.scan = RCShared(8, 12, name="scan")
        self.pool = keras.layers.GlobalMaxPooling1D(name="pool")
        self.out = keras.layers.Dense(num_classes, activation="sigmoid", name="out")

    def call(self, x):
        return self.out(self.pool(self.scan(x)))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}
'''


@keras.saving.register_keras_serializable(package="zoo")
def multinomial_nll(y_true, y_pred):
    """A custom loss, as BPNet's."""
    return -keras.ops.sum(y_true * keras.ops.log(y_pred + 1e-7), axis=-1)


def run(argv, capsys):
    """Run the CLI in-process; return (exit status, stdout, stderr)."""
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def plant(model, dataset):
    """Filter 0 of the model's first Conv1D = log-odds of the first class's matrix; return that matrix's ID."""
    motif = get_motif(dataset.class_motif_ids[dataset.class_names[0]][0])
    conv = next(layer for layer in layer_paths(model).values() if isinstance(layer, keras.layers.Conv1D))
    kernel, *rest = conv.get_weights()
    log_odds = np.log2((motif.ppm + 0.01) / 0.25)
    kernel[:, :, 0] = 0
    kernel[: motif.width, :, 0] = log_odds[: len(kernel)]
    conv.set_weights([kernel, *rest])
    return motif.id.split(".")[0]


def unregistered(monkeypatch, *names):
    """Take registered objects out of Keras' registry for the rest of the test, as in a fresh process."""
    registry = keras.saving.get_custom_objects()
    for name in names:
        monkeypatch.delitem(registry, name)


@pytest.fixture(scope="module")
def dataset(small_dataset_file):
    return load_dataset(small_dataset_file)


def custom_loss_model(path, dataset, monkeypatch):
    inputs = keras.Input((dataset.input_length, 4), name="dna")
    x = keras.layers.Conv1D(8, 15, padding="same", name="conv1")(inputs)
    x = keras.layers.GlobalMaxPooling1D()(keras.layers.ReLU()(x))
    model = keras.Model(inputs, keras.layers.Dense(dataset.num_classes, activation="sigmoid")(x), name="bpnet_like")
    model.compile(optimizer="adam", loss=multinomial_nll)
    planted = plant(model, dataset)
    model.save(path)
    unregistered(monkeypatch, "zoo>multinomial_nll")
    return [], planted


def registered_layer_model(path, dataset, monkeypatch):
    module_file = path.with_name("zoo_layers.py")
    module_file.write_text(USER_MODULE)
    spec = importlib.util.spec_from_file_location("zoo_layers", module_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.RCNet(dataset.num_classes, name="rc_net")
    model(dataset.x["test"][:2].astype(np.float32))
    planted = plant(model, dataset)
    model.save(path)
    unregistered(monkeypatch, "zoo>RCShared", "zoo>RCNet")
    return ["--import", module_file], planted


def channels_first_model(path, dataset, monkeypatch):
    inputs = keras.Input((4, dataset.input_length), name="dna")
    x = keras.layers.Conv1D(8, 15, padding="same", data_format="channels_first", name="conv1")(inputs)
    x = keras.layers.GlobalMaxPooling1D(data_format="channels_first")(keras.layers.ReLU()(x))
    model = keras.Model(inputs, keras.layers.Dense(dataset.num_classes, activation="sigmoid")(x), name="cf")
    planted = plant(model, dataset)
    model.save(path)
    return [], planted


@pytest.mark.parametrize("builder", [custom_loss_model, registered_layer_model, channels_first_model])
def test_users_models_run_through_describe_filters_importance_and_tomtom(
        builder, tmp_path, capsys, monkeypatch, small_dataset_file, dataset):
    model = tmp_path / "model.keras"
    options, planted = builder(model, dataset, monkeypatch)
    status, out, err = run(["describe", "--model", model, *options], capsys)
    assert status == 0, err
    assert "yes" in out
    meme = tmp_path / "f.meme"
    status, _, err = run(["filters", "--model", model, "--data", small_dataset_file, "--split", "train",
                          "--out", meme, *options], capsys)
    assert status == 0, err
    status, _, err = run(["importance", "--model", model, "--data", small_dataset_file, "--out",
                          tmp_path / "i.tsv", *options], capsys)
    assert status == 0, err
    with open(tmp_path / "i.tsv", newline="") as handle:
        assert len(list(csv.DictReader(handle, delimiter="\t"))) == 8
    status, _, err = run(["tomtom", "--query", meme, "--out", tmp_path / "t.tsv"], capsys)
    assert status == 0, err
    with open(tmp_path / "t.tsv", newline="") as handle:
        hits = [row["Target_ID"].split(".")[0] for row in csv.DictReader(handle, delimiter="\t")
                if row["Query_ID"] == "filter0"]
    assert planted in hits


def test_a_model_with_unregistered_classes_says_to_import_them(tmp_path, capsys, monkeypatch, dataset):
    model = tmp_path / "model.keras"
    registered_layer_model(model, dataset, monkeypatch)
    status, _, err = run(["describe", "--model", model], capsys)
    assert status == 2 and err.count("\n") == 1
    assert "Could not locate class 'RCNet'" in err and "--import MODULE_OR_FILE" in err


@pytest.mark.parametrize("module, message", [
    ("no_such_module_xyz", r"--import no_such_module_xyz: cannot import it \(ModuleNotFoundError: No module named "
                           r"'no_such_module_xyz'\); for a file, give its path"),
    ("{tmp}/missing.py", r"--import .*missing.py: file not found"),
    ("{tmp}/broken.py", r"--import .*broken.py: cannot import it \(ZeroDivisionError: division by zero\)"),
])
def test_an_import_that_fails_names_the_module_and_the_error(module, message, tmp_path, capsys):
    (tmp_path / "broken.py").write_text("import keras\nratio = 1 / 0\n")
    model = tmp_path / "model.keras"
    status, _, err = run(["describe", "--model", model, "--import", module.format(tmp=tmp_path)], capsys)
    assert status == 2 and err.count("\n") == 1
    assert re.search(message, err), err


def test_safe_mode_stays_on_with_an_import(tmp_path, capsys):
    """Only imported code runs: a Lambda layer's code stored in the file is still refused."""
    (tmp_path / "harmless.py").write_text("import keras\n")
    inputs = keras.Input((50, 4))
    x = keras.layers.Lambda(lambda t: t * 2.0, name="double")(keras.layers.Conv1D(4, 5, name="conv1")(inputs))
    keras.Model(inputs, x).save(tmp_path / "lambda.keras")
    status, _, err = run(["describe", "--model", tmp_path / "lambda.keras", "--import", tmp_path / "harmless.py"],
                         capsys)
    assert status == 2 and err.count("\n") == 1 and "`Lambda` layer" in err
