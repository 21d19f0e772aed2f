"""MotifMatchCallback on our models and on a user's own model."""

import json
import math

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
        small_dataset.x["train"], small_dataset.y["train"], epochs=2, verbose=0,
        callbacks=[callback, keras.callbacks.CSVLogger(str(csv_log))],
    )
    values = history.history["motif_match_frac"]
    assert math.isnan(values[0]) and 0.0 <= values[1] <= 1.0  # scored every second epoch
    assert "motif_gt_frac" not in history.history  # no ground truth given
    assert "motif_match_frac" in csv_log.read_text().splitlines()[0]
    assert (tmp_path / "epoch002.meme").exists() and not (tmp_path / "epoch001.meme").exists()
    assert callback.final_score["layer"] == "motif_scanner" and callback.final_score["num_filters"] == 6


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
    with pytest.raises(ValueError, match=r"x must be one-hot sequences \(n, length, 4\) or \(n, 4, length\), got shape \(5, 3\)"):
        MotifMatchCallback(np.zeros((5, 3)))
