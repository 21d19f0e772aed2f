"""Filter -> PPM extraction on planted truth, for our models and users' own."""

import keras
import numpy as np
import pytest

from keras_motifs.errors import KerasMotifsError
from keras_motifs.filters import extract_filters, write_layer_motifs
from keras_motifs.models import build_model, get_spec, readable_layers
from keras_motifs.motifs.jaspar import PAPER_TFS, get_motif, load_database
from keras_motifs.motifs.meme import read_meme
from keras_motifs.motifs.scoring import read_filter_ids
from keras_motifs.motifs.tomtom import tomtom

PLANTED = [get_motif(matrix_id) for matrix_id in PAPER_TFS.values()]


def planted_model(width=19, dead_filter=False):
    """A user's model whose Conv1D filters are the log-odds of the paper's 12 matrices."""
    weights = np.zeros((width, 4, len(PLANTED) + dead_filter), dtype="float32")
    for f, motif in enumerate(PLANTED):
        weights[: motif.width, :, f] = np.log2((motif.ppm + 0.01) / 0.25)
    if dead_filter:
        weights[:, :, -1] = -5.0  # never positive after ReLU
    inputs = keras.Input((200, 4))
    x = keras.layers.Conv1D(weights.shape[-1], width, padding="same", use_bias=False, name="scan")(inputs)
    x = keras.layers.Activation("relu", name="scan_relu")(x)
    x = keras.layers.GlobalMaxPooling1D(name="global_max")(x)
    model = keras.Model(inputs, keras.layers.Dense(12, activation="sigmoid", name="out")(x))
    model.get_layer("scan").set_weights([weights])
    return model


@pytest.fixture(scope="module")
def sequences():
    from keras_motifs.data.synthetic import simulate

    return simulate(num_seqs=1500, seed=5).x["train"]


@pytest.mark.parametrize("method", ["code", "paper"])
def test_planted_filters_recover_their_matrices(sequences, method):
    result = extract_filters(planted_model(), sequences, method=method)
    assert result.layer == "scan" and result.window == 19 and result.method == method
    assert (result.num_sites > 20).all()
    targets = load_database("JASPAR2016")
    table = tomtom(result.motifs(), targets)
    hits = table.groupby("Query_ID")["Target_ID"].apply(set)
    for f, motif in enumerate(PLANTED):
        assert motif.id in hits.get(f"filter{f}", set()), motif.name  # matches its own ID
    best = table.sort_values("E-value").groupby("Query_ID")["Target_ID"].first()
    assert sum(best.get(f"filter{f}") == motif.id for f, motif in enumerate(PLANTED)) >= 10
    # The aligned matrix itself resembles the planted one (filters start at window position 0,
    # centred windows start (19 - 1) // 2 = 9 positions earlier).
    for f, motif in enumerate(PLANTED):
        aligned = result.ppms[f][: motif.width]
        assert np.corrcoef(aligned.ravel(), motif.ppm.ravel())[0, 1] > 0.8, motif.name


def test_random_filters_match_little(sequences):
    model = build_model("cnn-25")  # untrained: random filters
    result = extract_filters(model, sequences[:500])
    table = tomtom(result.motifs(), load_database("JASPAR2016"))
    planted_ids = {m.id for m in PLANTED}
    assert len(set(table["Query_ID"])) <= 0.5 * 30
    assert len(set(table.loc[table["Target_ID"].isin(planted_ids), "Query_ID"])) <= 3


def test_dead_filter_gives_an_explicit_empty_result(sequences):
    result = extract_filters(planted_model(dead_filter=True), sequences[:200])
    assert result.ppms[-1] is None and result.num_sites[-1] == 0 and result.max_activation[-1] == 0
    assert "filter12" not in [m.id for m in result.motifs()]
    assert result.rows()[-1] == {"filter": "filter12", "layer": "scan", "width": 19, "num_sites": 0,
                                 "max_activation": 0.0, "consensus": ""}
    assert all(np.isfinite(p).all() for p in result.ppms if p is not None)


@pytest.mark.parametrize("method", ["code", "paper"])
def test_streaming_batches_give_identical_results(sequences, monkeypatch, method):
    import keras_motifs.filters

    model = planted_model()
    whole = extract_filters(model, sequences[:300], batch_size=300, method=method)
    streamed = extract_filters(model, sequences[:300], batch_size=7, method=method)
    monkeypatch.setattr(keras_motifs.filters, "ACTIVATION_CACHE_BYTES", 0)  # second forward pass instead
    recomputed = extract_filters(model, sequences[:300].astype(np.uint8), batch_size=7, method=method)
    for other in (streamed, recomputed):
        np.testing.assert_array_equal(whole.num_sites, other.num_sites)
        for a, b in zip(whole.ppms, other.ppms):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_deeper_layer_window_is_its_receptive_field(sequences):
    model = build_model("cnn-1")
    assert extract_filters(model, sequences[:50], layer="conv2").window == 19 + 4
    assert extract_filters(build_model("cnn-1-1-100"), sequences[:50], layer="conv3").window == 27
    with pytest.raises(KerasMotifsError, match="'conv2' come after pooling in 'conv1/conv1_pool'.*read 'conv1'"):
        extract_filters(build_model("cnn-25"), sequences[:50], layer="conv2")


def test_layer_by_index_and_bad_layers(sequences):
    model = planted_model()
    assert extract_filters(model, sequences[:50], layer=1).layer == "scan"
    with pytest.raises(KerasMotifsError, match="has no layer 'conv9'; layers: .*scan"):
        extract_filters(model, sequences[:50], layer="conv9")
    with pytest.raises(KerasMotifsError, match=r"'out' have no positions \(output shape \(None, 12\)\).*read 'scan'"):
        extract_filters(model, sequences[:50], layer="out")
    with pytest.raises(KerasMotifsError, match=r"expects \(None, 200, 4\), got sequences of shape \(50, 100, 4\)"):
        extract_filters(model, sequences[:50, :100])
    with pytest.raises(KerasMotifsError, match="one-hot"):
        extract_filters(model, sequences[:50, :, :3])
    with pytest.raises(KerasMotifsError, match="unknown extraction method"):
        extract_filters(model, sequences[:50], method="mean")


def test_write_layer_motifs_for_every_layer(tmp_path, small_dataset_file):
    model = build_model("cnn-1-1-100")
    model.save(tmp_path / "model.keras")
    written = write_layer_motifs(tmp_path / "model.keras", small_dataset_file, layers=["all"], out_dir=tmp_path / "m")
    assert [p.name for p in written] == ["conv1.meme", "conv2.meme", "conv3.meme"]
    assert read_filter_ids(tmp_path / "m" / "conv2.filters.tsv") == [f"filter{i}" for i in range(128)]
    assert {m.id for m in read_meme(written[0])} <= set(read_filter_ids(tmp_path / "m" / "conv1.filters.tsv"))
    with pytest.raises(KerasMotifsError, match="model file not found"):
        write_layer_motifs(tmp_path / "absent.keras", small_dataset_file, out=tmp_path / "x.meme")


def test_readable_layers_stop_at_the_first_pool():
    from keras_motifs.probe.inputs import SequenceInputs, random_sequences
    from keras_motifs.probe.layer import readable_conv_layers

    for arch, readable in (("cnn-25", ["conv1"]), ("cnn-1", ["conv1", "conv2"]),
                           ("cnn-1-1-100", ["conv1", "conv2", "conv3"])):
        model = build_model(arch)
        measured = readable_conv_layers(model, SequenceInputs(model, random_sequences(2, 200)))
        assert measured == readable == readable_layers(get_spec(arch))  # the spec's rule, measured on the model


def released_alignment(activation, sequences, window, threshold=0.5):
    """The released code's activation_pwm, written out: windows [p - window // 2, p - window // 2 + window)."""
    counts = np.zeros((activation.shape[-1], window, 4))
    for f in range(activation.shape[-1]):
        for n, p in zip(*np.nonzero(activation[:, :, f] > threshold * activation[:, :, f].max())):
            start = p - window // 2
            if 0 <= start and start + window <= sequences.shape[1]:  # keras-motifs drops windows off the ends
                counts[f] += activation[n, p, f] * sequences[n, start : start + window]
    return counts / counts.sum(axis=2, keepdims=True)


@pytest.mark.parametrize("width", [3, 9, 19])
def test_fixed_window_is_placed_as_the_released_code_placed_it(sequences, width):
    inputs = keras.Input((200, 4))
    x = keras.layers.Conv1D(4, width, padding="same", use_bias=False, name="scan")(inputs)
    x = keras.layers.Activation("relu", name="scan_relu")(x)
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GlobalMaxPooling1D()(x)))
    x_small = sequences[:120].astype("float32")
    activation = keras.Model(inputs, model.get_layer("scan_relu").output).predict(x_small, verbose=0)
    result = extract_filters(model, x_small, window=19)
    assert result.window == 19
    np.testing.assert_allclose(np.stack(result.ppms), released_alignment(activation, x_small, 19), atol=1e-5)
    default = extract_filters(model, x_small)
    assert default.window == width  # the receptive field stays the default
    if width == 19:
        for fixed, measured in zip(result.ppms, default.ppms):
            np.testing.assert_array_equal(fixed, measured)


def test_fixed_window_refuses_bad_widths(sequences):
    with pytest.raises(KerasMotifsError, match="window must be a positive integer, got 0"):
        extract_filters(planted_model(), sequences[:20], window=0)
    with pytest.raises(KerasMotifsError, match="window of 201 positions is longer than the sequences"):
        extract_filters(planted_model(), sequences[:20], window=201)


def test_cli_filters_window_sets_every_layers_width(tmp_path, small_dataset_file):
    from keras_motifs.cli import main

    build_model("cnn3-2").save(tmp_path / "model.keras")
    assert main(["filters", "--model", str(tmp_path / "model.keras"), "--data", str(small_dataset_file),
                 "--out", str(tmp_path / "f.meme"), "--window", "19"]) == 0
    assert {row.split("\t")[2] for row in (tmp_path / "f.filters.tsv").read_text().splitlines()[1:]} == {"19"}


def test_an_uninformative_filter_is_left_out_of_tomtom_but_counts_in_the_fractions(tmp_path):
    from keras_motifs.filters import LayerFilters, write_filter_table
    from keras_motifs.motifs.scoring import score_tomtom

    gata = get_motif("MA0035.3").ppm
    flat = np.full((19, 4), 0.25)  # never above 0.5 bits: the released clip_filters kept it whole
    filters = LayerFilters("conv1", 19, [np.vstack([flat[:4], gata, flat[: 15 - len(gata)]]), flat],
                           np.array([50, 50]), np.array([1.0, 1.0]), "code")
    motifs = filters.motifs()
    assert [m.id for m in motifs] == ["filter0"] and motifs[0].width < 19
    write_filter_table(filters, tmp_path / "conv1.filters.tsv")
    table = tomtom(motifs, load_database("JASPAR2016"))
    score = score_tomtom(table, read_filter_ids(tmp_path / "conv1.filters.tsv"), {"GATA1": ["MA0035"]})
    assert score["num_filters"] == 2 and score["match_any_frac"] == 0.5 and score["match_gt_frac"] == 0.5
