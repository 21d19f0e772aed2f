"""The synthetic generator and the dataset file layout."""

import h5py
import numpy as np
import pytest

from keras_motifs.data import MOTIF_COUNT_PROBABILITIES, SPLITS, load_dataset, simulate, write_dataset
from keras_motifs.errors import KerasMotifsError
from keras_motifs.jaspar import PAPER_TFS, get_motif


@pytest.fixture(scope="module")
def dataset():
    return simulate(num_seqs=4000, seed=3)


def test_split_sizes_and_shapes(dataset):
    assert [len(dataset.x[s]) for s in SPLITS] == [2800, 400, 800]
    for split in SPLITS:
        assert dataset.x[split].shape[1:] == (200, 4)
        assert dataset.y[split].shape[1] == 12
        np.testing.assert_array_equal(dataset.x[split].sum(axis=2), 1.0)  # one-hot
    assert dataset.class_names == list(PAPER_TFS)


def test_motif_count_distribution(dataset):
    counts = np.concatenate(
        [np.bincount(dataset.ground_truth[s]["sequence"], minlength=len(dataset.x[s])) for s in SPLITS]
    )
    assert counts.min() == 1 and counts.max() <= 5
    observed = np.bincount(counts, minlength=6)[1:] / len(counts)
    np.testing.assert_allclose(observed, MOTIF_COUNT_PROBABILITIES, atol=0.025)


def test_both_strands_and_all_tfs_planted(dataset):
    truth = dataset.ground_truth["train"]
    assert set(np.unique(truth["strand"])) == {-1, 1}
    assert abs((truth["strand"] == 1).mean() - 0.5) < 0.05
    assert set(truth["matrix"]) == set(PAPER_TFS.values())


def test_buffers_respected(dataset):
    for split in SPLITS:
        truth = dataset.ground_truth[split]
        widths = np.array([get_motif(m).width for m in truth["matrix"]])
        ends = truth["start"] + widths
        assert truth["start"].min() >= 1 and ends.max() <= 200 - 1
        same_sequence = truth["sequence"][1:] == truth["sequence"][:-1]  # sorted by sequence, then start
        gaps = truth["start"][1:] - ends[:-1]
        assert gaps[same_sequence].min() >= 1


def test_labels_match_ground_truth(dataset):
    for split in SPLITS:
        truth = dataset.ground_truth[split]
        expected = np.zeros_like(dataset.y[split])
        expected[truth["sequence"], truth["class_index"]] = 1
        np.testing.assert_array_equal(dataset.y[split], expected)


def test_planted_sites_follow_the_matrix(dataset):
    """At planted sites, base frequencies follow the (strand-corrected) JASPAR matrix."""
    truth = dataset.ground_truth["train"]
    motif = get_motif(PAPER_TFS["CEBPB"])
    rows = np.flatnonzero(truth["matrix"] == motif.id)
    sites = []
    for r in rows:
        window = dataset.x["train"][truth["sequence"][r], truth["start"][r] : truth["start"][r] + motif.width]
        sites.append(window if truth["strand"][r] == 1 else window[::-1, ::-1])
    frequencies = np.mean(sites, axis=0)
    assert len(sites) > 200
    np.testing.assert_allclose(frequencies, motif.ppm, atol=0.12)
    background = dataset.x["train"][:50].reshape(-1, 4).mean(axis=0)  # mostly background
    np.testing.assert_allclose(background, 0.25, atol=0.03)


def test_same_seed_same_arrays_other_seed_differs():
    a, b, c = simulate(num_seqs=200, seed=11), simulate(num_seqs=200, seed=11), simulate(num_seqs=200, seed=12)
    for split in SPLITS:
        np.testing.assert_array_equal(a.x[split], b.x[split])
        np.testing.assert_array_equal(a.y[split], b.y[split])
    assert not np.array_equal(a.x["train"], c.x["train"])


def test_custom_tfs_and_length():
    data = simulate(num_seqs=100, length=120, tfs=["MA0079.3", "YY1"], seed=0)
    assert data.class_names == ["SP1", "YY1"]
    assert data.x["train"].shape[1:] == (120, 4)
    assert data.class_motif_ids == {"SP1": ["MA0079"], "YY1": ["MA0095"]}


def test_round_trip_through_file(tmp_path, small_dataset):
    path = tmp_path / "d.h5"
    write_dataset(path, small_dataset)
    loaded = load_dataset(path)
    for split in SPLITS:
        np.testing.assert_array_equal(loaded.x[split], small_dataset.x[split])
        np.testing.assert_array_equal(loaded.y[split], small_dataset.y[split])
        for key, value in small_dataset.ground_truth[split].items():
            np.testing.assert_array_equal(loaded.ground_truth[split][key], value)
    assert loaded.class_names == small_dataset.class_names
    assert loaded.parameters["seed"] == 7
    assert loaded.class_motif_ids["NFYB"] == ["MA0502", "MA0060"]
    with h5py.File(path) as h5:
        assert h5.attrs["source"] == "synthetic" and "keras_motifs_version" in h5.attrs
        assert h5["x_train"].dtype == np.uint8  # exact one-hot is stored 4 times smaller
    assert [p.name for p in tmp_path.iterdir()] == ["d.h5"]  # no temporary left behind


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"length": 50}, "cannot hold"),
        ({"tfs": ["NOPE"]}, "neither a matrix ID nor a TF name"),
        ({"tfs": ["MA0079.3", "SP1"]}, "listed twice"),
        ({"jaspar_release": "JASPAR1999"}, "unknown JASPAR release"),
        ({"split": (0.5, 0.5, 0.5)}, "split"),
    ],
)
def test_bad_generator_arguments(kwargs, message):
    with pytest.raises(KerasMotifsError, match=message):
        simulate(num_seqs=100, **kwargs)


def test_load_rejects_missing_keys_and_mismatched_shapes(tmp_path, small_dataset_file):
    missing = tmp_path / "missing.h5"
    with h5py.File(missing, "w") as h5:
        h5["x_train"] = np.zeros((2, 10, 4))
    with pytest.raises(KerasMotifsError, match=r"missing.h5: not a keras-motifs dataset, missing keys"):
        load_dataset(missing)
    mismatched = tmp_path / "mismatched.h5"
    with h5py.File(small_dataset_file) as src, h5py.File(mismatched, "w") as dst:
        for key in src:
            src.copy(key, dst)
        del dst["y_valid"]
        dst["y_valid"] = np.zeros((3, 12), dtype=np.uint8)
    with pytest.raises(KerasMotifsError, match="y_valid and x_valid hold different numbers"):
        load_dataset(mismatched)
    not_h5 = tmp_path / "text.h5"
    not_h5.write_text("hello")
    with pytest.raises(KerasMotifsError, match="not an HDF5 file"):
        load_dataset(not_h5)
    with pytest.raises(KerasMotifsError, match="not found"):
        load_dataset(tmp_path / "absent.h5")
