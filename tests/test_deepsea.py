"""Tests of keras_motifs.data.deepsea on tiny fabricated DeepSEA bundles of both MATLAB flavours."""

import json
import re
import struct
import tarfile
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest
import scipy.io

from keras_motifs.data import deepsea
from keras_motifs.data.deepsea import PAPER_CLASS_INDICES, convert_deepsea
from keras_motifs.data.reader import load_dataset
from keras_motifs.errors import KerasMotifsError, KerasMotifsWarning
from keras_motifs.io import matfile
from keras_motifs.motifs.jaspar import PAPER_GROUND_TRUTH_IDS

# The tiny bundles leave most of the 12 classes without positives: that warning is tested once.
pytestmark = pytest.mark.filterwarnings("ignore::keras_motifs.errors.KerasMotifsWarning")

LENGTH = 1000
_AGCT = "AGCT"  # DeepSEA's channel order


def deepsea_one_hot(seqs: list[str]) -> np.ndarray:
    """One-hot (N, 4, length) uint8 in DeepSEA's A, G, C, T channel order."""
    x = np.zeros((len(seqs), 4, len(seqs[0])), dtype=np.uint8)
    for row, seq in enumerate(seqs):
        for position, letter in enumerate(seq):
            x[row, _AGCT.index(letter), position] = 1
    return x


def decode(x: np.ndarray) -> list[str]:
    """Letters of (N, length, 4) A, C, G, T one-hot."""
    return ["".join("ACGT"[i] for i in row.argmax(axis=1)) for row in x]


def write_v73(path: Path, key: str, x: np.ndarray, y: np.ndarray, chunk: int = 2) -> None:
    """Write x (N, 4, L) and y (N, 919) as MATLAB v7.3 does: HDF5 with a 512-byte user block, transposed."""
    with h5py.File(path, "w", userblock_size=512) as h5:
        for name, value in ((f"{key}xdata", x.transpose(2, 1, 0)), (f"{key}data", y.T)):
            dataset = h5.create_dataset(
                name, data=value, chunks=value.shape[:-1] + (chunk,), compression="gzip", compression_opts=3
            )
            dataset.attrs["MATLAB_class"] = np.bytes_("uint8")
    with open(path, "r+b") as handle:
        handle.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2015 HDF5 schema 1.00 .")


def write_v5(path: Path, key: str, x: np.ndarray, y: np.ndarray, compress: bool = True) -> None:
    """Write x (N, 4, L) and y (N, 919) as MATLAB v5, the layout loadmat returns."""
    scipy.io.savemat(path, {f"{key}xdata": x, f"{key}data": y}, do_compression=compress)


def write_v5_by_hand(path: Path, arrays: dict[str, np.ndarray], order: str) -> None:
    """Write uncompressed MATLAB v5 of byte order ``order`` ("<" or ">"), which scipy cannot.

    As the MAT-File Format describes: names of up to 4 characters in the small data element form.
    """
    classes = {np.dtype(np.uint8): (9, 2), np.dtype(np.float64): (6, 9)}  # (mxCLASS, miTYPE)

    def element(mdtype: int, data: bytes) -> bytes:
        if len(data) <= 4:  # small data element: byte count in the upper, type in the lower 16 bits
            return struct.pack(order + "I", len(data) << 16 | mdtype) + data.ljust(4, b"\0")
        return struct.pack(order + "II", mdtype, len(data)) + data + b"\0" * (-len(data) % 8)

    body = b""
    for name, value in arrays.items():
        mx_class, mi_type = classes[value.dtype]
        matrix = (
            element(6, struct.pack(order + "II", mx_class, 0))
            + element(5, struct.pack(order + f"{value.ndim}i", *value.shape))
            + element(1, name.encode())
            + element(mi_type, value.astype(value.dtype.newbyteorder(order)).tobytes(order="F"))
        )
        body += struct.pack(order + "II", 14, len(matrix)) + matrix
    header = b"MATLAB 5.0 MAT-file, written by hand".ljust(116) + b"\0" * 8 + struct.pack(order + "H", 0x0100)
    path.write_bytes(header + (b"IM" if order == "<" else b"MI") + body)


def make_split(rng: np.random.Generator, num: int, positive_rows: dict[int, list[int]]):
    """Random sequences and 919 labels: noise in unselected columns, chosen positives in selected ones."""
    seqs = ["".join(rng.choice(list("ACGT"), size=LENGTH)) for _ in range(num)]
    y = np.zeros((num, 919), dtype=np.uint8)
    unselected = np.setdiff1d(np.arange(919), list(PAPER_CLASS_INDICES.values()))
    y[:, unselected] = rng.random((num, len(unselected))) < 0.3
    for row, columns in positive_rows.items():
        y[row, columns] = 1
    return seqs, y


#: Parametrizes the ``bundle`` fixture: MATLAB v5 valid.mat and test.mat compressed or not.
both_v5_flavours = pytest.mark.parametrize("bundle", [True, False], ids=["v5-compressed", "v5-uncompressed"],
                                           indirect=True)


@pytest.fixture
def bundle(tmp_path, request):
    """A bundle folder (deepsea_train/ as in the tarball) and the expected kept rows per split.

    valid.mat and test.mat are MATLAB v5, compressed (scipy's and MATLAB's default) unless
    the test is marked ``both_v5_flavours``.
    """
    compress = getattr(request, "param", True)
    rng = np.random.default_rng(1)
    cebpb, yy1, srf = PAPER_CLASS_INDICES["CEBPB"], PAPER_CLASS_INDICES["YY1"], PAPER_CLASS_INDICES["SRF"]
    plan = {
        "train": (7, {0: [cebpb], 3: [yy1, srf], 4: [srf], 6: [cebpb]}),
        "valid": (3, {1: [yy1]}),
        "test": (4, {0: [srf], 3: [cebpb, yy1]}),
    }
    folder = tmp_path / "deepsea_train"
    folder.mkdir()
    expected = {}
    for split, (num, positives) in plan.items():
        seqs, y = make_split(rng, num, positives)
        if split == "train":
            write_v73(folder / f"{split}.mat", split, deepsea_one_hot(seqs), y)
        else:
            write_v5(folder / f"{split}.mat", split, deepsea_one_hot(seqs), y, compress=compress)
        rows = sorted(positives)
        expected[split] = ([seqs[r] for r in rows], y[rows][:, list(PAPER_CLASS_INDICES.values())])
    return tmp_path, expected


@both_v5_flavours
@pytest.mark.parametrize("chunk_size", [1, 3, 100])
def test_convert_keeps_positive_sequences_in_acgt_order(bundle, tmp_path, chunk_size):
    folder, expected = bundle
    out = tmp_path / "invivo.h5"
    with pytest.warns(KerasMotifsWarning, match="no train sequence is positive for Arid3a, FOSL1, Gabpa, MAFK, MAX,"):
        summary = convert_deepsea(folder, out, chunk_size=chunk_size)
    data = load_dataset(out)
    assert data.class_names == list(PAPER_CLASS_INDICES)
    assert data.source == "deepsea"
    assert data.class_motif_ids == PAPER_GROUND_TRUTH_IDS
    assert data.input_length == LENGTH
    for split, (seqs, labels) in expected.items():
        assert decode(data.x[split]) == seqs
        assert set(np.unique(data.x[split])) == {0, 1}  # one-hot (load_dataset's dtype is its own business)
        np.testing.assert_array_equal(data.y[split], labels)
    assert {s: v["read"] for s, v in summary["splits"].items()} == {"train": 7, "valid": 3, "test": 4}
    assert {s: v["kept"] for s, v in summary["splits"].items()} == {"train": 4, "valid": 1, "test": 2}
    assert summary["splits"]["train"]["positives"]["SRF"] == 2
    assert summary["splits"]["train"]["positives"]["CEBPB"] == 2
    with h5py.File(out, "r") as h5:
        assert h5["x_train"].dtype == np.uint8 and h5["x_train"].compression == "gzip"
        assert h5["x_train"].chunks is not None
        assert json.loads(h5.attrs["parameters"])["class_indices"] == PAPER_CLASS_INDICES


@pytest.mark.parametrize("compress", [True, False], ids=["v5-compressed", "v5-uncompressed"])
def test_channel_order_of_a_known_sequence(tmp_path, compress):
    # DeepSEA row order A, G, C, T: channel 1 is G, so "AGCT" must come out as A, G, C, T letters.
    seq = ("AGCT" * 250,)
    y = np.zeros((1, 919), dtype=np.uint8)
    y[0, PAPER_CLASS_INDICES["MAX"]] = 1
    x = deepsea_one_hot(list(seq))
    assert x[0, :, :4].tolist() == [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    write_v73(tmp_path / "train.mat", "train", x, y, chunk=1)
    write_v5(tmp_path / "valid.mat", "valid", x, y, compress=compress)
    write_v5(tmp_path / "test.mat", "test", x, y, compress=compress)
    out = tmp_path / "out.h5"
    convert_deepsea(tmp_path, out)
    data = load_dataset(out)
    for split in ("train", "valid", "test"):
        np.testing.assert_array_equal(data.x[split][0, :4], [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]])
        assert decode(data.x[split]) == list(seq)


def test_tarball_and_custom_classes(bundle, tmp_path):
    folder, expected = bundle
    tarball = tmp_path / "deepsea_train_bundle.v0.9.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(folder / "deepsea_train", arcname="deepsea_train")
    out = tmp_path / "sub" / "two.h5"
    summary = convert_deepsea(
        tarball, out, class_indices=[PAPER_CLASS_INDICES["YY1"], 5], class_names=["YY1", "col5"]
    )
    data = load_dataset(out)
    assert data.class_names == ["YY1", "col5"]
    assert data.class_motif_ids == {"YY1": ["MA0095"], "col5": []}
    assert summary["classes"] == {"YY1": PAPER_CLASS_INDICES["YY1"], "col5": 5}
    assert sorted(p.name for p in out.parent.iterdir()) == ["two.h5"]  # extraction folder removed


def test_refuses_files_that_are_not_deepsea(bundle, tmp_path):
    folder, _ = bundle
    train = folder / "deepsea_train" / "train.mat"
    x = np.zeros((2, 4, LENGTH), dtype=np.uint8)

    write_v73(train, "train", x, np.zeros((2, 918), dtype=np.uint8))
    with pytest.raises(KerasMotifsError, match=r"train\.mat: traindata has shape \(2, 918\).*919"):
        convert_deepsea(folder, tmp_path / "o.h5")

    write_v73(train, "train", np.zeros((2, 5, LENGTH), dtype=np.uint8), np.zeros((2, 919), dtype=np.uint8))
    with pytest.raises(KerasMotifsError, match=r"train\.mat: trainxdata has shape \(2, 5, 1000\).*4 channels"):
        convert_deepsea(folder, tmp_path / "o.h5")

    write_v73(train, "valid", x, np.zeros((2, 919), dtype=np.uint8))
    with pytest.raises(KerasMotifsError, match=r"train\.mat: not a DeepSEA train file: no trainxdata or traindata"):
        convert_deepsea(folder, tmp_path / "o.h5")

    write_v73(train, "train", x, np.full((2, 919), 2, dtype=np.uint8))
    with pytest.raises(KerasMotifsError, match=r"train\.mat: traindata holds values other than 0 and 1"):
        convert_deepsea(folder, tmp_path / "o.h5")

    train.write_text("hello")
    with pytest.raises(KerasMotifsError, match=r"train\.mat: neither a MATLAB v5 nor a v7\.3"):
        convert_deepsea(folder, tmp_path / "o.h5")

    test = folder / "deepsea_train" / "test.mat"
    write_v5(test, "test", x, np.zeros((919, 2), dtype=np.uint8))  # labels not transposed as DeepSEA's are
    write_v73(train, "train", x, np.zeros((2, 919), dtype=np.uint8))
    with pytest.raises(KerasMotifsError, match=r"test\.mat: testdata has shape \(919, 2\) \(MATLAB v5\)"):
        convert_deepsea(folder, tmp_path / "o.h5")
    assert not (tmp_path / "o.h5").exists()


def test_refuses_bad_arguments(bundle, tmp_path):
    folder, _ = bundle
    with pytest.raises(KerasMotifsError, match="give class_names too"):
        convert_deepsea(folder, tmp_path / "o.h5", class_indices=[1])
    with pytest.raises(KerasMotifsError, match="919 is not a DeepSEA label column"):
        convert_deepsea(folder, tmp_path / "o.h5", class_indices=[919], class_names=["x"])
    with pytest.raises(KerasMotifsError, match="chunk_size must be a positive integer, got 0"):
        convert_deepsea(folder, tmp_path / "o.h5", chunk_size=0)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(KerasMotifsError, match="empty: no train.mat, valid.mat and test.mat"):
        convert_deepsea(empty, tmp_path / "o.h5")
    with pytest.raises(KerasMotifsError, match="missing: DeepSEA bundle not found"):
        convert_deepsea(tmp_path / "missing", tmp_path / "o.h5")


@both_v5_flavours
def test_every_file_is_read_in_slices(bundle, tmp_path, monkeypatch):
    folder, expected = bundle
    calls, v5_reads = [], []
    original, original_read = deepsea._open_source, matfile.RowReader.read

    @contextmanager
    def spy(path, split, scratch):
        with original(path, split, scratch) as source:
            read = source.read
            source.read = lambda lo, hi: (calls.append((split, lo, hi)), read(lo, hi))[1]
            yield source

    def spy_read(self, lo, hi):
        v5_reads.append((self.path.name, self.shape, lo, hi))
        return original_read(self, lo, hi)

    monkeypatch.setattr(deepsea, "_open_source", spy)
    monkeypatch.setattr(matfile.RowReader, "read", spy_read)
    convert_deepsea(folder, tmp_path / "o.h5", chunk_size=3)
    # train.mat is chunked by 2 sequences along N: slices of 3 are rounded up to 4.
    assert [(lo, hi) for split, lo, hi in calls if split == "train"] == [(0, 4), (4, 7)]
    assert [(lo, hi) for split, lo, hi in calls if split == "valid"] == [(0, 3)]
    assert [(lo, hi) for split, lo, hi in calls if split == "test"] == [(0, 3), (3, 4)]
    # The MATLAB v5 files go through the row reader, x and y, slice by slice.
    assert sorted(v5_reads) == sorted(
        [("valid.mat", (3, 4, LENGTH), 0, 3), ("valid.mat", (3, 919), 0, 3)]
        + [("test.mat", (4, 4, LENGTH), lo, hi) for lo, hi in ((0, 3), (3, 4))]
        + [("test.mat", (4, 919), lo, hi) for lo, hi in ((0, 3), (3, 4))]
    )
    data = load_dataset(tmp_path / "o.h5")
    for split in ("train", "valid", "test"):
        assert decode(data.x[split]) == expected[split][0]


@pytest.mark.parametrize("compress", [True, False], ids=["compressed", "uncompressed"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float64, bool])
def test_v5_row_reader_returns_what_loadmat_returns(tmp_path, compress, dtype):
    rng = np.random.default_rng(5)
    arrays = {"testxdata": rng.random((7, 4, 9)) < 0.5, "testdata": rng.random((7, 919)) < 0.5, "ab": np.eye(3)}
    path = tmp_path / "test.mat"
    scipy.io.savemat(path, {k: v.astype(dtype) for k, v in arrays.items()}, do_compression=compress)
    loaded = scipy.io.loadmat(path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with matfile.row_readers(path, ["testxdata", "testdata", "ab"], scratch) as readers:
        for key, reader in readers.items():
            assert reader.shape == loaded[key].shape
            for step in (1, 2, 7):
                rows = [reader.read(lo, min(lo + step, reader.shape[0])) for lo in range(0, reader.shape[0], step)]
                np.testing.assert_array_equal(np.concatenate(rows), loaded[key])
    assert list(scratch.iterdir()) == []  # the inflated copies are anonymous and gone


@pytest.mark.parametrize("order", ["<", ">"])
def test_v5_reader_of_either_byte_order_and_small_name_elements(tmp_path, order):
    rng = np.random.default_rng(6)
    arrays = {"x": (rng.random((5, 4, 6)) < 0.5).astype(np.uint8), "yy": (rng.random((5, 3)) < 0.5).astype(float)}
    path = tmp_path / "hand.mat"
    write_v5_by_hand(path, arrays, order)
    loaded = scipy.io.loadmat(path)
    with matfile.row_readers(path, ["x", "yy"], tmp_path) as readers:
        for key, reader in readers.items():
            np.testing.assert_array_equal(reader.read(1, 4), loaded[key][1:4])
            np.testing.assert_array_equal(reader.read(0, 5), arrays[key])


@pytest.mark.parametrize("compress", [True, False], ids=["compressed", "uncompressed"])
def test_refuses_damaged_or_unusual_v5_files(bundle, tmp_path, compress):
    folder, _ = bundle
    test = folder / "deepsea_train" / "test.mat"
    x, y = np.zeros((2, 4, LENGTH), dtype=np.uint8), np.zeros((2, 919), dtype=np.uint8)

    write_v5(test, "test", x, np.full((2, 919), 2, dtype=np.uint8), compress=compress)
    with pytest.raises(KerasMotifsError, match=r"test\.mat: testdata holds values other than 0 and 1"):
        convert_deepsea(folder, tmp_path / "o.h5")

    cell = np.empty((2, 919), dtype=object)
    cell.fill(np.zeros(1))
    scipy.io.savemat(test, {"testxdata": x, "testdata": cell}, do_compression=compress)
    with pytest.raises(KerasMotifsError, match=r"test\.mat: testdata is a cell array; DeepSEA's arrays are real"):
        convert_deepsea(folder, tmp_path / "o.h5")

    write_v5(test, "test", x, y, compress=compress)
    test.write_bytes(test.read_bytes()[:-100])
    with pytest.raises(KerasMotifsError, match=r"test\.mat: truncated MATLAB v5 file"):
        convert_deepsea(folder, tmp_path / "o.h5")

    test.write_bytes(b"MATLAB 5.0".ljust(128, b"\0"))
    with pytest.raises(KerasMotifsError, match=r"test\.mat: neither a MATLAB v5 nor a v7\.3 \(HDF5\) file \(no MAT"):
        convert_deepsea(folder, tmp_path / "o.h5")
    assert not (tmp_path / "o.h5").exists()


def test_compressed_v5_needs_free_space_for_its_inflated_copy(bundle, tmp_path, monkeypatch):
    folder, _ = bundle
    y = np.zeros((3, 919), dtype=np.uint8)
    write_v5(folder / "deepsea_train" / "valid.mat", "valid", np.zeros((3, 4, LENGTH), dtype=np.uint8), y)
    monkeypatch.setattr(matfile, "shutil", SimpleNamespace(disk_usage=lambda _: SimpleNamespace(free=1000)))
    message = r"valid\.mat: validxdata is compressed; .* needs 12,000 bytes of temporary space in .*, only 1,000 free"
    with pytest.raises(KerasMotifsError, match=message):
        convert_deepsea(folder, tmp_path / "o.h5")


def test_refuses_incomplete_or_damaged_tarballs(bundle, tmp_path):
    folder, _ = bundle
    partial = tmp_path / "partial.tar.gz"
    with tarfile.open(partial, "w:gz") as tar:
        tar.add(folder / "deepsea_train" / "train.mat", arcname="deepsea_train/train.mat")
    with pytest.raises(KerasMotifsError, match=r"partial\.tar\.gz: tarball has no valid\.mat, test\.mat"):
        convert_deepsea(partial, tmp_path / "o.h5")
    damaged = tmp_path / "damaged.tar.gz"
    damaged.write_bytes(b"\x1f\x8b" + bytes(range(200)))
    with pytest.raises(KerasMotifsError, match=r"damaged\.tar\.gz: (cannot read the tarball|damaged tarball)"):
        convert_deepsea(damaged, tmp_path / "o.h5")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_in_vivo_data_runs_through_the_whole_sweep(tmp_path, capsys):
    """Convert a fabricated bundle with the CLI, then `run --data` on the 1000-nt sequences."""
    from keras_motifs.cli import main

    rng = np.random.default_rng(3)
    columns = list(PAPER_CLASS_INDICES.values())
    folder = tmp_path / "bundle"
    folder.mkdir()
    for split, num in (("train", 60), ("valid", 20), ("test", 30)):
        positives = {row: list(rng.choice(columns, size=2, replace=False)) for row in range(num)}
        seqs, y = make_split(rng, num, positives)
        (write_v73 if split == "train" else write_v5)(folder / f"{split}.mat", split, deepsea_one_hot(seqs), y)
    assert main(["deepsea", "--bundle", str(folder), "--out", str(tmp_path / "invivo.h5")]) == 0
    assert main(["run", "--out", str(tmp_path / "sweep"), "--data", str(tmp_path / "invivo.h5"),
                 "--archs", "cnn-25", "--epochs", "1"]) == 0, capsys.readouterr().err
    score = json.loads((tmp_path / "sweep" / "runs" / "cnn-25" / "trial0" / "motifs" / "conv1.score.json").read_text())
    assert score["num_filters"] == 30 and set(score["tf_coverage"]) == set(PAPER_CLASS_INDICES)
    config = json.loads((tmp_path / "sweep" / "runs" / "cnn-25" / "trial0" / "config.json").read_text())
    assert config["input_length"] == 1000 and config["data_source"] == "deepsea"
    assert (tmp_path / "sweep" / "report.html").is_file()


def test_a_split_without_positives_is_refused_naming_the_bundle(bundle, tmp_path):
    folder, _ = bundle
    write_v5(folder / "deepsea_train" / "valid.mat", "valid", np.zeros((3, 4, LENGTH), dtype=np.uint8),
             np.zeros((3, 919), dtype=np.uint8))
    with pytest.raises(KerasMotifsError, match=rf"{re.escape(str(folder))}: no valid sequence is positive for the kept classes "
                                               r"\(Arid3a, .*\); nothing written"):
        convert_deepsea(folder, tmp_path / "o.h5")
    assert not (tmp_path / "o.h5").exists()
