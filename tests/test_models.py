"""The architecture registry, the builder, ConvBlock and the receptive-field report."""

import json

import keras
import numpy as np
import pytest

from keras_motifs.errors import KerasMotifsError
from keras_motifs.layers import ConvBlock
from keras_motifs.models import ARCHITECTURES, build_model, get_spec, load_spec, readable_layers, receptive_fields

# name -> (first filters, first width, (pool, stride) per conv layer, second width)
PAPER = {
    "cnn-1": (30, 19, [(1, 1), (100, 100)], 5),
    "cnn-2": (30, 19, [(2, 2), (50, 50)], 5),
    "cnn-4": (30, 19, [(4, 4), (25, 25)], 5),
    "cnn-10": (30, 19, [(10, 10), (10, 10)], 5),
    "cnn-25": (30, 19, [(25, 25), (4, 4)], 5),
    "cnn-50": (30, 19, [(50, 50), (2, 2)], 5),
    "cnn-100": (30, 19, [(100, 100), (1, 1)], 5),
    "cnn-50-2": (30, 19, [(50, 2), (50, 50)], 5),
    "cnn-50-2-samesize": (30, 19, [(50, 2), (50, 50)], 5),
    "cnn9-4": (30, 9, [(4, 4), (25, 25)], 5),
    "cnn9-25": (30, 9, [(25, 25), (4, 4)], 5),
    "cnn3-2": (30, 3, [(2, 2), (50, 50)], 5),
    "cnn3-50": (30, 3, [(50, 50), (2, 2)], 5),
    "cnn19-1-2": (30, 19, [(2, 2), (50, 50)], 1),
    "cnn-1-1-100": (30, 19, [(1, 1), (1, 1), (100, 100)], 5),
    "cnn-25-60": (60, 19, [(25, 25), (4, 4)], 5),
    "cnn-25-90": (90, 19, [(25, 25), (4, 4)], 5),
    "cnn-25-120": (120, 19, [(25, 25), (4, 4)], 5),
}

#: (second-layer filters, dense units) where they differ from 128 and 512: the released cnn_50_2.
NARROW = {"cnn-50-2": (64, 96)}


def test_registry_holds_every_paper_architecture():
    assert set(ARCHITECTURES) == set(PAPER)


@pytest.mark.parametrize("name", sorted(PAPER))
def test_every_architecture_builds_with_documented_shapes(name):
    filters, width, pools, width2 = PAPER[name]
    model = build_model(name)
    blocks = [layer for layer in model.layers if isinstance(layer, ConvBlock)]
    assert [b.name for b in blocks] == [f"conv{i}" for i in range(1, len(pools) + 1)]
    assert [(b.pool_size, b.strides) for b in blocks] == pools
    assert blocks[0].conv.kernel.shape == (width, 4, filters)
    filters2, units = NARROW.get(name, (128, 512))
    assert blocks[1].conv.kernel.shape == (width2, filters, filters2)
    assert model.get_layer("flatten").output.shape == (None, 2 * filters2)  # Dense sees 2 positions
    assert model.get_layer("dense").kernel.shape == (2 * filters2, units)
    assert model.output.shape == (None, 12)
    assert blocks[0].conv.use_bias is False and blocks[0].dropout.rate == pytest.approx(0.1)


def test_cnn_50_2_is_the_released_network_and_its_same_size_variant_is_cnn_2_sized():
    def trainable(name):
        return sum(int(np.prod(w.shape)) for w in build_model(name).trainable_weights)

    assert trainable("cnn-50-2") == 25712  # the released performance table's count
    assert trainable("cnn-50-2-samesize") == trainable("cnn-2") == 160048


def test_other_lengths_and_classes():
    model = build_model("cnn-25", input_length=1000, num_classes=3)
    assert model.get_layer("flatten").output.shape == (None, 10 * 128)  # 1000 / 25 / 4 positions
    assert model.output.shape == (None, 3)


def test_overrides_change_one_layer():
    spec = get_spec("cnn-25", layer1={"activation": "exponential", "filters": 64}, l2=0.0)
    assert spec.conv_layers[0].activation == "exponential" and spec.conv_layers[0].filters == 64
    assert spec.conv_layers[1] == ARCHITECTURES["cnn-25"].conv_layers[1] and spec.l2 == 0.0
    model = build_model(spec)
    assert model.get_layer("conv1").activation_name == "exponential"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: build_model("cnn-7"), "unknown architecture 'cnn-7'; known: cnn-1, cnn-2"),
        (lambda: build_model("cnn-100", input_length=60), "layer 1 pools over 100 positions but only 60 remain"),
        (lambda: build_model("cnn-25", input_length=60), "layer 2 pools over 4 positions but only 3 remain"),
        (lambda: build_model("cnn-25", layer3={"filters": 1}), "has 2 conv layers"),
        (lambda: build_model({"conv_layers": [{"filters": 8}]}), "missing field"),
        (lambda: build_model({"conv_layers": [{"filters": 8, "kernel_size": 3, "pool": 2}]}), "unknown field"),
        (lambda: build_model({"conv_layers": [{"filters": -1, "kernel_size": 3}]}), "filters must be a positive"),
        (lambda: build_model("cnn-25", num_classes=0), "num_classes"),
    ],
)
def test_bad_architectures_fail_clearly(call, message):
    with pytest.raises(KerasMotifsError, match=message):
        call()


def test_spec_file_round_trip(tmp_path):
    spec = get_spec("cnn-50-2")
    path = tmp_path / "my-arch.json"
    path.write_text(json.dumps(spec.to_dict()))
    assert load_spec(path) == spec
    path.write_text("{")
    with pytest.raises(KerasMotifsError, match="my-arch.json: not valid JSON"):
        load_spec(path)


def test_saved_model_reloads_without_custom_objects(tmp_path):
    model = build_model("cnn-4", layer1={"activation": "exponential"})
    x = np.random.default_rng(0).random((4, 200, 4)).astype("float32")
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "m.keras")
    reloaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    block = reloaded.get_layer("conv1")
    assert isinstance(block, ConvBlock) and block.get_config()["activation"] == "exponential"
    np.testing.assert_array_equal(block.conv.kernel.numpy(), model.get_layer("conv1").conv.kernel.numpy())


def test_conv_block_in_a_users_sequential_model():
    model = keras.Sequential([keras.Input((100, 4)), ConvBlock(8, 7, pool_size=10, name="motifs"),
                              keras.layers.Flatten(), keras.layers.Dense(1)])
    assert model.output_shape == (None, 1)
    block = model.get_layer("motifs")
    assert block.conv.name == "motifs_conv" and block.compute_output_shape((None, 100, 4)) == (None, 10, 8)
    feature_map = block.feature_map(np.zeros((2, 100, 4), "float32"))
    assert feature_map.shape == (2, 100, 8)


def test_receptive_fields_name_the_bottleneck():
    neck = receptive_fields("cnn-25")
    assert neck.bottleneck_layer == 1 and neck.first_layer_whole_motifs
    assert [(f.receptive_field, f.spatial_uncertainty, f.positions) for f in neck.layers] == [(19, 25, 8), (143, 100, 2)]
    small = receptive_fields("cnn-2")
    assert small.bottleneck_layer == 2 and not small.first_layer_whole_motifs
    deep = receptive_fields(build_model("cnn-1-1-100"))
    assert [f.receptive_field for f in deep.layers] == [19, 23, 27] and deep.bottleneck_layer == 3
    assert "conv3" in deep.summary() and "partial motifs" in deep.summary()


def test_receptive_fields_of_a_plain_keras_model():
    model = keras.Sequential([keras.Input((200, 4)), keras.layers.Conv1D(16, 11, name="c1"),
                              keras.layers.MaxPooling1D(20), keras.layers.Conv1D(8, 3, name="c2"),
                              keras.layers.MaxPooling1D(2)])
    report = receptive_fields(model)
    assert [(f.layer, f.pool_size, f.receptive_field) for f in report.layers] == [("c1", 20, 11), ("c2", 2, 11 + 19 + 40)]
    assert report.first_layer_whole_motifs


def test_readable_layers_from_the_spec():
    assert readable_layers(get_spec("cnn-25")) == ["conv1"]
    assert readable_layers(get_spec("cnn-1")) == ["conv1", "conv2"]
    assert readable_layers(get_spec("cnn-1-1-100")) == ["conv1", "conv2", "conv3"]
    assert readable_layers(get_spec("cnn-50-2")) == ["conv1"]
