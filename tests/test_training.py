"""Training a run folder and evaluating on the test split."""

import json
from dataclasses import replace

import keras
import numpy as np
import pytest

from keras_motifs.data.reader import load_dataset
from keras_motifs.defaults import PAPER, Protocol
from keras_motifs.errors import KerasMotifsError
from keras_motifs.models import build_model
from keras_motifs.training import auroc, choose_steps_per_execution, compile_model, evaluate, fit, train_run


def test_train_run_writes_a_complete_folder(tmp_path, small_dataset_file):
    dataset = load_dataset(small_dataset_file)
    metrics = train_run(dataset, "cnn-25", tmp_path / "run", replace(PAPER, epochs=2, patience=5), seed=1, trial=3,
                        verbose=0)
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == ["config.json", "history.csv", "metrics.json", "model.keras"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary folder left

    config = json.loads((run / "config.json").read_text())
    assert config["arch"] == "cnn-25" and config["trial"] == 3 and config["lr"] == 3e-4
    assert config["spec"]["conv_layers"][0]["pool_size"] == 25 and config["epochs_run"] == 2
    assert config["class_names"] == dataset.class_names and config["input_length"] == 200

    history = (run / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,") and "val_loss" in history[0] and len(history) == 3

    assert json.loads((run / "metrics.json").read_text()) == metrics
    assert set(metrics["auroc"]) == set(dataset.class_names)
    assert 0 <= metrics["mean_auroc"] <= 1 and 0 <= metrics["mean_aupr"] <= 1

    model = keras.models.load_model(run / "model.keras")
    assert model.name == "cnn-25"
    again = evaluate(model, dataset.x["test"], dataset.y["test"], dataset.class_names)
    assert again["auroc"] == pytest.approx(metrics["auroc"]) and again["mean_aupr"] == pytest.approx(metrics["mean_aupr"])



@pytest.mark.parametrize("seed", [1, 2])
def test_auroc_agrees_with_scikit_learn_ties_included(seed):
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, (200, 3)).astype(np.uint8)
    for scores in (np.round(rng.random((200, 3)), 1), rng.random((200, 3)).astype(np.float32)):  # many ties, none
        expected = [roc_auc_score(y[:, k], scores[:, k]) for k in range(3)]
        np.testing.assert_allclose(auroc(y, scores), expected, rtol=1e-12)
    assert np.isnan(auroc(np.zeros((5, 1)), scores[:5, :1])).all()
    assert np.isnan(auroc(np.ones((5, 1)), scores[:5, :1])).all()


def test_evaluate_scores_auroc_as_scikit_learn_and_refuses_nan_predictions():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    x, y = rng.random((64, 4)).astype(np.float32), rng.integers(0, 2, (64, 2)).astype(np.uint8)
    y[:, 1] = 1  # one label value: no AUROC
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="sigmoid")])
    metrics = evaluate(model, x, y, ["a", "b"])
    predictions = model.predict(x, verbose=0)
    assert metrics["auroc"]["a"] == pytest.approx(roc_auc_score(y[:, 0], predictions[:, 0]), rel=1e-12)
    assert metrics["auroc"]["b"] is None and metrics["mean_auroc"] == metrics["auroc"]["a"]
    model.layers[-1].kernel.assign(np.full((4, 2), np.nan, dtype=np.float32))
    with pytest.raises(ValueError, match="NaN or infinity"):
        evaluate(model, x, y, ["a", "b"])

def test_best_weights_are_kept(small_dataset):
    """The model ends with the weights of the epoch of lowest validation loss."""
    model = build_model("cnn-4")
    history = fit(model, small_dataset, replace(PAPER, epochs=3, patience=3, lr=0.05), verbose=0)
    best = int(np.argmin(history.history["val_loss"]))
    assert history.best_epoch == best  # what config.json records: Keras' own count, not a copy of it
    final_loss = model.evaluate(small_dataset.x["valid"], small_dataset.y["valid"], verbose=0, return_dict=True)["loss"]
    assert final_loss == pytest.approx(history.history["val_loss"][best], rel=1e-4)


def test_training_computes_only_what_is_watched(small_dataset):
    """The loss, plus the one metric early stopping watches: none for the loss, AUROC for val_auroc."""
    history = fit(build_model("cnn-25"), small_dataset, replace(PAPER, epochs=1), verbose=0)
    assert set(history.history) == {"loss", "val_loss"}
    history = fit(build_model("cnn-25"), small_dataset, replace(PAPER, epochs=1, monitor="val_aupr"), verbose=0)
    assert set(history.history) == {"loss", "val_loss", "aupr", "val_aupr"}


def test_several_steps_per_call_train_the_same_model(small_dataset):
    """Steps per execution change how often Python runs, not what is computed."""
    protocol = replace(PAPER, epochs=2, batch_size=10)
    keras.utils.set_random_seed(3)
    model = build_model("cnn-25")
    history = fit(model, small_dataset, protocol, seed=3, verbose=0)
    assert history.steps_per_execution == choose_steps_per_execution(10, -(-len(small_dataset.x["train"]) // 10)) > 1
    assert model.steps_per_execution == 1  # predictions (test metrics, the saved model) one step per call
    assert model.optimizer.iterations.numpy() == 2 * -(-len(small_dataset.x["train"]) // 10)  # Adam's state kept
    keras.utils.set_random_seed(3)
    one_step = compile_model(build_model("cnn-25"), protocol.lr, metrics=())
    keras.utils.set_random_seed(3)
    plain = one_step.fit(small_dataset.x["train"], small_dataset.y["train"], epochs=2, batch_size=10, verbose=0,
                         validation_data=(small_dataset.x["valid"], small_dataset.y["valid"]))
    assert history.history["val_loss"] == pytest.approx(plain.history["val_loss"], rel=1e-6)


@pytest.mark.parametrize(("batch_size", "steps", "backend", "expected"),
                         [(50, 350, "tensorflow", 50), (100, 175, "jax", 25), (50, 10, "tensorflow", 10),
                          (5000, 4, "tensorflow", 1), (50, 350, "torch", 1)])
def test_steps_per_execution_by_backend(batch_size, steps, backend, expected):
    assert choose_steps_per_execution(batch_size, steps, backend) == expected


def test_labels_not_matching_the_model(small_dataset):
    with pytest.raises(KerasMotifsError, match="labels have 12 classes but model 'cnn-25' has 3 outputs"):
        fit(build_model("cnn-25", num_classes=3), small_dataset, replace(PAPER, epochs=1))
    with pytest.raises(KerasMotifsError, match=r"sequences are 200 x 4 but model 'cnn-25' expects inputs \(400, 4\)"):
        fit(build_model("cnn-25", input_length=400), small_dataset, replace(PAPER, epochs=1))


def test_failed_training_leaves_no_folder(tmp_path, small_dataset):
    with pytest.raises(KerasMotifsError, match="epochs"):
        train_run(small_dataset, "cnn-25", tmp_path / "run", replace(PAPER, epochs=0))
    assert list(tmp_path.iterdir()) == []


def test_protocol_callbacks_and_their_settings():
    from keras_motifs.training import protocol_callbacks

    stop, = protocol_callbacks(PAPER)  # the paper's protocol: a constant learning rate
    assert isinstance(stop, keras.callbacks.EarlyStopping)
    assert (stop.monitor, stop.patience, stop.restore_best_weights) == ("val_loss", 20, True)
    stop, cut = protocol_callbacks(replace(PAPER, patience=8, lr_patience=3, lr_factor=0.5))
    assert isinstance(cut, keras.callbacks.ReduceLROnPlateau)
    assert (cut.monitor, cut.patience, cut.factor, stop.patience) == ("val_loss", 3, 0.5, 8)
    with pytest.raises(KerasMotifsError, match="lr_factor must be between 0 and 1, got 1.5"):
        protocol_callbacks(replace(PAPER, lr_patience=2, lr_factor=1.5))
    with pytest.raises(KerasMotifsError, match="lr_patience must be an integer >= 0, got -1"):
        protocol_callbacks(replace(PAPER, lr_patience=-1))




def test_a_full_disk_while_saving_leaves_nothing_anywhere(tmp_path, capsys, monkeypatch, small_dataset_file):
    """Keras' assets folder, made in TMPDIR while the model is saved, goes with the refused command."""
    import errno
    import tempfile

    from keras.src.saving import saving_lib

    from keras_motifs.cli import main

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(saving_lib, "_write_to_zip_recursively", full_disk)  # writing the assets into model.keras
    scratch = tmp_path / "TMPDIR"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    out = tmp_path / "run"
    status = main(["train", "--data", str(small_dataset_file), "--arch", "cnn-25", "--out", str(out), "--epochs", "1",
                   "--no-motif-callback"])
    assert status == 2 and capsys.readouterr().err == f"keras-motifs: error: {out}: no space left on device\n"
    assert list(scratch.iterdir()) == [] and [p.name for p in tmp_path.iterdir()] == ["TMPDIR"]


def test_train_run_takes_the_former_name_of_callback_every(tmp_path, small_dataset_file, monkeypatch):
    """``motif_every``, train_run's keyword before ``callback_every``, still works, with a DeprecationWarning."""
    import keras_motifs.training as training

    seen = {}

    def for_dataset(dataset, **kwargs):
        seen.update(kwargs)
        return keras.callbacks.Callback()

    monkeypatch.setattr(training.MotifMatchCallback, "for_dataset", staticmethod(for_dataset))
    dataset = load_dataset(small_dataset_file)
    with pytest.warns(DeprecationWarning, match="'motif_every' is now called 'callback_every'"):
        train_run(dataset, "cnn-25", tmp_path / "run", replace(PAPER, epochs=1), verbose=0, motif_every=2)
    assert seen["every"] == 2
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert Protocol.from_config(config) == replace(PAPER, epochs=1)  # config.json holds the protocol under its names
    with pytest.raises(TypeError, match="got 'motif_every' and 'callback_every'; give only 'callback_every'"):
        train_run(dataset, "cnn-25", tmp_path / "again", motif_every=2, callback_every=2)


def test_compile_model_takes_its_former_learning_rate_keyword():
    with pytest.warns(DeprecationWarning, match="'learning_rate' is now called 'lr'"):
        model = compile_model(build_model("cnn-25"), learning_rate=0.01, metrics=())
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
