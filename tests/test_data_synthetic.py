"""The synthetic generator and the dataset file layout."""

import inspect
import json
import re
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from test_deepsea import deepsea_one_hot, make_split, write_v5, write_v73

from keras_motifs import __version__
from keras_motifs.data.dataset import SPLITS, split_bounds, split_rows
from keras_motifs.data.deepsea import PAPER_CLASS_INDICES, convert_deepsea
from keras_motifs.data.encode import encode_fasta
from keras_motifs.data.reader import load_dataset, read_class_motif_ids
from keras_motifs.data.synthetic import MOTIF_COUNT_PROBABILITIES, simulate
from keras_motifs.data.writer import DatasetWriter, write_dataset
from keras_motifs.errors import KerasMotifsError
from keras_motifs.motifs.jaspar import PAPER_TFS, get_motif


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



def test_split_rows_cut_one_permutation_by_the_bounds():
    rows = split_rows(57, (0.7, 0.1, 0.2), np.random.default_rng(4))
    permutation = np.random.default_rng(4).permutation(57)
    np.testing.assert_array_equal(np.concatenate(rows), permutation)
    assert [len(r) for r in rows] == [hi - lo for lo, hi in split_bounds(57, (0.7, 0.1, 0.2))]

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
    with pytest.raises(KerasMotifsError, match="y_valid has 3 rows but x_valid 30 sequences"):
        load_dataset(mismatched)
    not_h5 = tmp_path / "text.h5"
    not_h5.write_text("hello")
    with pytest.raises(KerasMotifsError, match="not an HDF5 file"):
        load_dataset(not_h5)
    with pytest.raises(KerasMotifsError, match="not found"):
        load_dataset(tmp_path / "absent.h5")


@pytest.fixture
def written(monkeypatch):
    """Everything each DatasetWriter is given, by output path: class names, rows, ground truth, attributes."""
    log = {}
    enter, append = DatasetWriter.__enter__, DatasetWriter.append
    add_ground_truth, set_attributes = DatasetWriter.add_ground_truth, DatasetWriter.set_attributes

    def spy_enter(self):
        rows = {split: [] for split in SPLITS}
        log[self.path] = {"class_names": list(self.class_names), "rows": rows, "ground_truth": {}, "attributes": None}
        return enter(self)

    def spy_append(self, split, x, y):
        log[self.path]["rows"][split].append((np.array(x), np.array(y)))
        append(self, split, x, y)

    def spy_add_ground_truth(self, split, entries):
        log[self.path]["ground_truth"][split] = {key: np.array(value) for key, value in entries.items()}
        add_ground_truth(self, split, entries)

    def spy_set_attributes(self, *args, **kwargs):
        bound = inspect.signature(set_attributes).bind(self, *args, **kwargs)
        bound.apply_defaults()
        log[self.path]["attributes"] = {key: value for key, value in bound.arguments.items() if key != "self"}
        set_attributes(self, *args, **kwargs)

    monkeypatch.setattr(DatasetWriter, "__enter__", spy_enter)
    monkeypatch.setattr(DatasetWriter, "append", spy_append)
    monkeypatch.setattr(DatasetWriter, "add_ground_truth", spy_add_ground_truth)
    monkeypatch.setattr(DatasetWriter, "set_attributes", spy_set_attributes)
    return log


def write_synthetic(tmp_path: Path) -> Path:
    out = tmp_path / "synthetic.h5"
    write_dataset(out, simulate(num_seqs=60, seed=5))
    return out


def write_fasta(tmp_path: Path) -> Path:
    """Ten labelled 8-nt records, one with an N (so sequences are stored as float32 fractions)."""
    records = [(f"r{i}", "".join(np.random.default_rng(i).choice(list("ACGT"), size=8))) for i in range(10)]
    records[4] = ("r4", "ACGTNACG")
    (tmp_path / "seqs.fa").write_text("".join(f">{rid} peak\n{seq}\n" for rid, seq in records))
    rows = [f"{rid}\t{i % 2}\t{i // 5}" for i, (rid, _) in enumerate(records)]
    (tmp_path / "labels.tsv").write_text("id\tCEBPB\tmine\n" + "\n".join(rows) + "\n")
    out = tmp_path / "fasta.h5"
    encode_fasta(tmp_path / "seqs.fa", tmp_path / "labels.tsv", out, split=(0.6, 0.2, 0.2), seed=1)
    return out


def write_deepsea(tmp_path: Path) -> Path:
    """A tiny bundle (train.mat v7.3, valid.mat and test.mat compressed v5), converted in slices of 2."""
    rng = np.random.default_rng(4)
    columns = list(PAPER_CLASS_INDICES.values())
    folder = tmp_path / "bundle"
    folder.mkdir()
    for split, num in (("train", 9), ("valid", 3), ("test", 4)):
        seqs, y = make_split(rng, num, {row: [columns[row % len(columns)]] for row in range(num) if row % 3 != 1})
        (write_v73 if split == "train" else write_v5)(folder / f"{split}.mat", split, deepsea_one_hot(seqs), y)
    out = tmp_path / "deepsea.h5"
    convert_deepsea(folder, out, chunk_size=2)
    return out


@pytest.mark.filterwarnings("ignore::keras_motifs.errors.KerasMotifsWarning")
@pytest.mark.parametrize("source, write", [("synthetic", write_synthetic), ("fasta", write_fasta),
                                           ("deepsea", write_deepsea)])
def test_every_source_reads_back_what_the_one_writer_wrote(tmp_path, written, source, write):
    out = write(tmp_path)
    assert list(written) == [out]
    given = written[out]
    data = load_dataset(out)
    assert data.class_names == given["class_names"]
    for split in SPLITS:
        rows = given["rows"][split]
        assert rows, f"nothing appended to {split}"
        np.testing.assert_array_equal(data.x[split], np.concatenate([x for x, _ in rows]))
        np.testing.assert_array_equal(data.y[split], np.concatenate([y for _, y in rows]))
    if source == "synthetic":
        assert set(given["ground_truth"]) == set(SPLITS)
        for split, entries in given["ground_truth"].items():
            assert set(data.ground_truth[split]) == set(entries)
            for key, value in entries.items():
                np.testing.assert_array_equal(data.ground_truth[split][key], value)
    else:
        assert given["ground_truth"] == {} and data.ground_truth is None
    attributes = given["attributes"]
    assert attributes["source"] == data.source == source
    assert data.parameters == json.loads(json.dumps(attributes["parameters"]))  # stored as JSON
    assert data.class_motif_ids == {name: list(ids) for name, ids in attributes["class_motif_ids"].items()}
    assert data.jaspar_release == attributes["jaspar_release"]
    assert read_class_motif_ids(out) == data.class_motif_ids
    with h5py.File(out, "r") as h5:
        assert h5.attrs["keras_motifs_version"] == __version__
        assert h5["x_train"].dtype == (np.float32 if source == "fasta" else np.uint8)
        if source == "deepsea":
            assert h5["x_train"].chunks == (256, 1000, 4)
            assert len(given["rows"]["train"]) > 1  # streamed slice by slice
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left behind


def test_writer_leaves_no_file_unless_the_block_completes(tmp_path):
    out = tmp_path / "d.h5"
    x, y = np.eye(4, dtype=np.uint8)[[0, 1, 2, 3, 0]][None], np.ones((1, 1), dtype=np.uint8)

    with pytest.raises(RuntimeError, match="interrupted"):
        with DatasetWriter(out, ["a"], 5, np.uint8) as writer:
            writer.append("train", x, y)
            writer.set_attributes("fasta", {}, {"a": []})
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []

    with pytest.raises(KerasMotifsError, match=r"d\.h5: the dataset's attributes were never set"):
        with DatasetWriter(out, ["a"], 5, np.uint8) as writer:
            writer.append("train", x, y)
    assert list(tmp_path.iterdir()) == []

    with pytest.raises(KerasMotifsError, match=r"d\.h5: x_valid holds values that uint8 cannot store exactly"):
        with DatasetWriter(out, ["a"], 5, np.uint8) as writer:
            writer.append("valid", x / 2, y)
    with pytest.raises(KerasMotifsError, match=r"d\.h5: y_test rows have shape \(1, 2\), expected \(1, 1\)"):
        with DatasetWriter(out, ["a"], 5, np.uint8) as writer:
            writer.append("test", x, np.ones((1, 2)))
    assert list(tmp_path.iterdir()) == []

    with pytest.raises(KerasMotifsError, match=r"d\.h5: split valid holds no sequences; nothing written"):
        with DatasetWriter(out, ["a"], 5, np.uint8) as writer:
            writer.append("train", x, y)
            writer.append("test", x, y)
            writer.set_attributes("fasta", {}, {"a": []})
    assert list(tmp_path.iterdir()) == []

    with DatasetWriter(out, ["a"], 5, np.uint8) as writer:
        for split in ("train", "train", "valid", "test"):
            writer.append(split, x, y)
        writer.set_attributes("fasta", {"k": 1}, {"a": ["MA0001"]})
    data = load_dataset(out)
    assert [len(data.x[split]) for split in SPLITS] == [2, 1, 1]
    assert (data.source, data.parameters, data.class_motif_ids) == ("fasta", {"k": 1}, {"a": ["MA0001"]})
    assert [p.name for p in tmp_path.iterdir()] == ["d.h5"]


def test_read_class_motif_ids_names_the_file_at_fault(tmp_path, small_dataset_file):
    assert read_class_motif_ids(small_dataset_file)["NFYB"] == ["MA0502", "MA0060"]
    with pytest.raises(KerasMotifsError, match=r"absent\.h5: dataset file not found"):
        read_class_motif_ids(tmp_path / "absent.h5")
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(KerasMotifsError, match=r"text\.h5: not an HDF5 file"):
        read_class_motif_ids(tmp_path / "text.h5")
    shutil.copy(small_dataset_file, tmp_path / "bad.h5")
    with h5py.File(tmp_path / "bad.h5", "r+") as h5:
        h5.attrs["class_motif_ids"] = "{not json"
    with pytest.raises(KerasMotifsError, match=r"bad\.h5: attribute class_motif_ids is not valid JSON"):
        read_class_motif_ids(tmp_path / "bad.h5")


def test_writer_refuses_to_fill_the_disk_before_hdf5_writes(tmp_path, monkeypatch):
    """HDF5 cannot recover from a full disk, so the writer checks the space of each append first."""
    import shutil as shutil_module

    import keras_motifs.data.writer as data

    free = {"bytes": 10 * 2**20}
    real = shutil_module.disk_usage

    def disk_usage(path):
        return real(path)._replace(free=free["bytes"])

    monkeypatch.setattr(data.shutil, "disk_usage", disk_usage)
    out = tmp_path / "d.h5"
    x, y = np.eye(4, dtype=np.uint8)[np.zeros((5000, 200), dtype=int)], np.zeros((5000, 1), dtype=np.uint8)
    with pytest.raises(KerasMotifsError, match=rf"^{re.escape(str(out))}: no space left on device$"):
        with DatasetWriter(out, ["a"], 200, np.uint8) as writer:
            writer.append("train", x[:100], y[:100])  # 80 kB: fits
            free["bytes"] = 2 * 2**20
            writer.append("train", x, y)  # 4 MB: refused before HDF5 writes
    assert list(tmp_path.iterdir()) == []
