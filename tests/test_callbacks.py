"""MotifMatchCallback on our models and on a user's own model."""

import csv
import json

import keras
import numpy as np
import pytest

from keras_motifs.callbacks import MotifMatchCallback
from keras_motifs.models import build_model
from keras_motifs.training import compile_model


def users_model():
    """A small model defined here, with its own layer names."""
    inputs = keras.Input((200, 4), name="dna")
    x = keras.layers.Conv1D(6, 11, padding="same", name="motif_scanner")(inputs)
    x = keras.layers.BatchNormalization(name="scanner_norm")(x)
    x = keras.layers.Activation("relu", name="scanner_relu")(x)
    x = keras.layers.MaxPooling1D(20, name="bottleneck")(x)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inputs, keras.layers.Dense(12, activation="sigmoid", name="tf_binding")(x))
    return compile_model(model)


def test_metrics_reach_history_for_our_model(small_dataset):
    model = compile_model(build_model("cnn-25"))
    callback = MotifMatchCallback.for_dataset(small_dataset)
    assert callback.ground_truth["NFYB"] == ["MA0502", "MA0060"] and len(callback.x) == len(small_dataset.x["valid"])
    history = model.fit(small_dataset.x["train"], small_dataset.y["train"], epochs=2, batch_size=100,
                        callbacks=[callback], verbose=0)
    for key in ("motif_match_frac", "motif_gt_frac"):
        assert len(history.history[key]) == 2
        assert all(0.0 <= v <= 1.0 for v in history.history[key])
    assert [s["epoch"] for s in callback.scores] == [0, 1, None]  # two epochs, then the end of training
    assert callback.final_score["num_filters"] == 30 and callback.final_score["layer"] == "conv1"
    assert history.history["motif_match_frac"][-1] == pytest.approx(callback.scores[1]["match_any_frac"])


@pytest.mark.parametrize("layer", ["motif_scanner", 1])
def test_users_model_by_name_or_index(tmp_path, small_dataset, layer):
    callback = MotifMatchCallback(small_dataset.x["valid"], layer=layer, every=2, save_dir=tmp_path)
    csv_log = tmp_path / "log.csv"
    history = users_model().fit(
        small_dataset.x["train"], small_dataset.y["train"], epochs=3, verbose=0,
        callbacks=[callback, keras.callbacks.CSVLogger(str(csv_log))],
    )
    assert sorted(callback.epoch_logs) == [0, 1]  # the first epoch, then every second; epoch 3 skipped
    assert history.history["motif_match_frac"] == [callback.epoch_logs[e]["motif_match_frac"] for e in (0, 1)]
    assert "motif_gt_frac" not in history.history  # no ground truth given
    rows = list(csv.DictReader(csv_log.read_text().splitlines()))
    assert [row["motif_match_frac"] == "NA" for row in rows] == [False, False, True]
    assert sorted(p.name for p in tmp_path.glob("epoch*.meme")) == ["epoch001.meme", "epoch002.meme"]
    assert callback.final_score["layer"] == "motif_scanner" and callback.final_score["num_filters"] == 6


class _StubModel:
    """Stands in for the model a fit sets: what EarlyStopping touches."""

    stop_training = False


def test_hooks_reset_state_and_skipped_epochs_do_not_count_for_early_stopping(small_dataset):
    """Hooks called directly, as Keras' own callback tests do."""
    model = users_model()
    callback = MotifMatchCallback(small_dataset.x["valid"], every=3, ground_truth={"SP1": ["MA0079"]})
    stopper = keras.callbacks.EarlyStopping(monitor="motif_gt_frac", mode="max", patience=1)
    callback.set_model(model)
    stopper.set_model(_StubModel())
    for _ in range(2):  # one instance, two fits
        callback.on_train_begin()
        stopper.on_train_begin()
        assert callback.scores == [] and callback.epoch_logs == {} and callback.final_score is None
        stops = []
        for epoch in range(6):
            logs = {"loss": 1.0}
            callback.on_epoch_end(epoch, logs)
            assert ("motif_gt_frac" in logs) == (epoch in (0, 2, 5))
            stopper.on_epoch_end(epoch, logs)
            stops.append(stopper.model.stop_training)
            stopper.model.stop_training = False
        # The fraction cannot rise on an untrained model, so patience 1 stops training at the
        # first scored epoch after the first (epoch 3), not at the skipped epoch 2.
        assert stops == [False, False, True, False, False, True] and stopper.wait == 2
        callback.on_train_end()
        assert [s["epoch"] for s in callback.scores] == [0, 2, 5, None]


def test_can_drive_early_stopping(small_dataset):
    stopper = keras.callbacks.EarlyStopping(monitor="motif_match_frac", mode="max", patience=0)
    history = users_model().fit(small_dataset.x["train"], small_dataset.y["train"], epochs=3, verbose=0,
                                callbacks=[MotifMatchCallback(small_dataset.x["valid"]), stopper])
    values = history.history["motif_match_frac"]
    assert 1 <= len(values) <= 3 and stopper.best == pytest.approx(max(values))


def test_config_is_json_ready_and_bad_arguments_are_refused(small_dataset):
    callback = MotifMatchCallback(small_dataset.x["valid"], layer="conv1", ground_truth={"SP1": ["MA0079"]}, every=3)
    config = json.loads(json.dumps(callback.get_config()))
    assert config["every"] == 3 and config["layer"] == "conv1" and config["num_sequences"] == 30
    assert config["ground_truth"] == {"SP1": ["MA0079"]} and config["database"] == "JASPAR2016"
    with pytest.raises(ValueError, match="every must be a positive integer, got 0"):
        MotifMatchCallback(small_dataset.x["valid"], every=0)
    with pytest.warns(DeprecationWarning, match="'thresh' is now called 'evalue_threshold'"):
        former = MotifMatchCallback(small_dataset.x["valid"], thresh=0.05)  # the argument's former name
    assert former.get_config()["evalue_threshold"] == 0.05 and config["evalue_threshold"] == 0.1
    with pytest.raises(ValueError, match=r"x must be one-hot sequences \(n, length, 4\) or \(n, 4, length\), got shape \(5, 3\)"):
        MotifMatchCallback(np.zeros((5, 3)))


def test_a_missing_meme_suite_fails_before_the_first_epoch(tmp_path, monkeypatch, small_dataset):
    """engine='meme' without MEME's tomtom on PATH: refused at the start of training, not after an epoch."""
    from keras_motifs.errors import KerasMotifsError

    monkeypatch.setenv("PATH", str(tmp_path))
    model = compile_model(build_model("cnn-25"))
    batches = []
    counter = keras.callbacks.LambdaCallback(on_train_batch_begin=lambda batch, logs: batches.append(batch))
    callback = MotifMatchCallback(small_dataset.x["valid"][:50], engine="meme")
    with pytest.raises(KerasMotifsError, match="MotifMatchCallback: engine 'meme': MEME suite executable 'tomtom' not found"):
        model.fit(small_dataset.x["train"], small_dataset.y["train"], epochs=2, callbacks=[callback, counter], verbose=0)
    assert batches == []  # not one training step: the epoch's end, where Tomtom runs, is too late
