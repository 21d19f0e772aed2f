"""Tests of keras_motifs.data.encode: FASTA + labels table -> dataset file."""

import json

import h5py
import numpy as np
import pytest

from keras_motifs.data.encode import encode_fasta, read_labels
from keras_motifs.data.reader import load_dataset
from keras_motifs.errors import KerasMotifsError
from keras_motifs.motifs.jaspar import class_motif_ids_for

A, C, G, T = np.eye(4, dtype=np.float32)
Z = np.zeros(4, dtype=np.float32)
N = np.full(4, 0.25, dtype=np.float32)


def write(path, text):
    path.write_text(text)
    return path


def fasta_text(records):
    return "".join(f">{rid} some description\n{seq[:3]}\n{seq[3:]}\n" for rid, seq in records)


def labels_text(ids, classes=("CEBPB", "mine")):
    rows = ["id\t" + "\t".join(classes)]
    rows += [f"{rid}\t{i % 2}\t{(i // 2) % 2}" for i, rid in enumerate(ids)]
    return "\n".join(rows) + "\n"


@pytest.fixture
def ten(tmp_path):
    """Ten records of length 6 (one lowercase with N and R), their labels table."""
    records = [(f"s{i}", "ACGTAC") for i in range(10)]
    records[3] = ("s3", "acgNrt")
    fasta = write(tmp_path / "seqs.fa", fasta_text(records))
    labels = write(tmp_path / "labels.tsv", labels_text([rid for rid, _ in records]))
    return fasta, labels, records


def test_encode_single_file_split_and_iupac(ten, tmp_path):
    fasta, labels, _ = ten
    out = tmp_path / "d.h5"
    summary = encode_fasta(fasta, labels, out, split=(0.6, 0.2, 0.2), seed=3)
    assert summary["num_sequences"] == {"train": 6, "valid": 2, "test": 2}
    assert summary["length"] == 6
    data = load_dataset(out)
    assert data.source == "fasta"
    assert data.class_names == ["CEBPB", "mine"]
    assert data.class_motif_ids == {"CEBPB": ["MA0466"], "mine": []}
    x = np.concatenate([data.x[s] for s in ("train", "valid", "test")])
    y = np.concatenate([data.y[s] for s in ("train", "valid", "test")])
    permutation = np.random.default_rng(3).permutation(10)
    expected_y = np.array([[i % 2, (i // 2) % 2] for i in range(10)], dtype=np.uint8)[permutation]
    np.testing.assert_array_equal(y, expected_y)
    row = int(np.flatnonzero(permutation == 3)[0])
    np.testing.assert_array_equal(x[row], [A, C, G, N, [0.5, 0, 0.5, 0], T])
    other = int(np.flatnonzero(permutation == 0)[0])
    np.testing.assert_array_equal(x[other], [A, C, G, T, A, C])
    with h5py.File(out, "r") as h5:
        assert h5["x_train"].dtype == np.float32
        assert json.loads(h5.attrs["parameters"])["ambiguous"] == "uniform"


def test_ambiguous_zeros(ten, tmp_path):
    fasta, labels, _ = ten
    encode_fasta(fasta, labels, tmp_path / "d.h5", ambiguous="zeros", split=(0.6, 0.2, 0.2), seed=3)
    data = load_dataset(tmp_path / "d.h5")
    x = np.concatenate([data.x[s] for s in ("train", "valid", "test")])
    row = int(np.flatnonzero(np.random.default_rng(3).permutation(10) == 3)[0])
    np.testing.assert_array_equal(x[row], [A, C, G, Z, Z, T])


def test_explicit_split_files_keep_order(tmp_path):
    files = {}
    for split, ids in (("train", ["a", "b", "c"]), ("valid", ["d"]), ("test", ["e", "f"])):
        files[split] = write(tmp_path / f"{split}.fa", fasta_text([(rid, "GGGTTT") for rid in ids]))
    labels = write(tmp_path / "l.tsv", labels_text(list("abcdef"), classes=("x", "y")))
    summary = encode_fasta(files, labels, tmp_path / "d.h5")
    data = load_dataset(tmp_path / "d.h5")
    assert summary["num_sequences"] == {"train": 3, "valid": 1, "test": 2}
    np.testing.assert_array_equal(data.y["train"], [[0, 0], [1, 0], [0, 1]])
    np.testing.assert_array_equal(data.y["test"], [[0, 0], [1, 0]])
    np.testing.assert_array_equal(data.x["valid"][0], [G, G, G, T, T, T])
    assert data.parameters["split"] == "files"


def test_unequal_lengths_error_pad_crop(tmp_path):
    records = [("r0", "ACGTACGT"), ("r1", "CCCCC"), ("r2", "GGGGGG")] + [(f"r{i}", "TTTTTT") for i in range(3, 10)]
    fasta = write(tmp_path / "s.fa", fasta_text(records))
    labels = write(tmp_path / "l.tsv", labels_text([rid for rid, _ in records]))
    with pytest.raises(KerasMotifsError, match=r"record 'r1' has length 5, expected 8 .*from 5 to 8.*'pad' or 'crop'"):
        encode_fasta(fasta, labels, tmp_path / "d.h5")

    encode_fasta(fasta, labels, tmp_path / "pad.h5", length_mode="pad", split=(0.8, 0.1, 0.1))
    padded = load_dataset(tmp_path / "pad.h5")
    x = np.concatenate([padded.x[s] for s in ("train", "valid", "test")])
    assert x.shape == (10, 8, 4)
    order = np.random.default_rng(0).permutation(10)
    np.testing.assert_array_equal(x[np.flatnonzero(order == 1)[0]], [Z, C, C, C, C, C, Z, Z])
    np.testing.assert_array_equal(x[np.flatnonzero(order == 2)[0]], [Z, G, G, G, G, G, G, Z])

    encode_fasta(fasta, labels, tmp_path / "crop.h5", length_mode="crop", split=(0.8, 0.1, 0.1))
    cropped = load_dataset(tmp_path / "crop.h5")
    x = np.concatenate([cropped.x[s] for s in ("train", "valid", "test")])
    assert x.shape == (10, 5, 4)
    np.testing.assert_array_equal(x[np.flatnonzero(order == 0)[0]], [C, G, T, A, C])  # ACGTACGT[1:6]

    with pytest.raises(KerasMotifsError, match=r"record 'r0' of length 8 is longer than the pad length 7"):
        encode_fasta(fasta, labels, tmp_path / "d.h5", length_mode="pad", length=7)
    with pytest.raises(KerasMotifsError, match=r"record 'r1' of length 5 is shorter than the crop length 6"):
        encode_fasta(fasta, labels, tmp_path / "d.h5", length_mode="crop", length=6)


def test_bad_character_names_record_and_position(ten, tmp_path):
    _, labels, records = ten
    records[5] = ("s5", "ACgTuC")
    fasta = write(tmp_path / "bad.fa", fasta_text(records))
    with pytest.raises(KerasMotifsError, match=r"bad\.fa: record 's5' has 'u' at position 5, which is not a nucl"):
        encode_fasta(fasta, labels, tmp_path / "d.h5")
    records[5] = ("s5", "ACGTA\u00e9")
    fasta = write(tmp_path / "bad.fa", fasta_text(records))
    with pytest.raises(KerasMotifsError, match=r"record 's5' has 'é' at position 6"):
        encode_fasta(fasta, labels, tmp_path / "d.h5")
    assert not (tmp_path / "d.h5").exists()


def test_ids_must_match_both_ways(ten, tmp_path):
    fasta, _, records = ten
    ids = [rid for rid, _ in records]
    labels = write(tmp_path / "l.tsv", labels_text(ids[:-1]))
    with pytest.raises(KerasMotifsError, match=r"l\.tsv: 1 FASTA records have no row here: s9"):
        encode_fasta(fasta, labels, tmp_path / "d.h5")
    labels = write(tmp_path / "l.tsv", labels_text(ids + ["extra"]))
    with pytest.raises(KerasMotifsError, match=r"seqs\.fa: 1 labelled IDs have no FASTA record here: extra"):
        encode_fasta(fasta, labels, tmp_path / "d.h5")


def test_labels_table_errors(tmp_path):
    assert read_labels(write(tmp_path / "ok.tsv", "id\tA\tB\n\nx\t1\t0\n")) == (["A", "B"], {"x": [1, 0]})
    with pytest.raises(KerasMotifsError, match=r"row 2 \(x\) has label '2'; labels must be 0 or 1"):
        read_labels(write(tmp_path / "l.tsv", "id\tA\nx\t2\n"))
    with pytest.raises(KerasMotifsError, match="row 3 has 2 columns, the header 3"):
        read_labels(write(tmp_path / "l.tsv", "id\tA\tB\nx\t1\t0\ny\t1\n"))
    with pytest.raises(KerasMotifsError, match="'x' appears twice"):
        read_labels(write(tmp_path / "l.tsv", "id\tA\nx\t1\nx\t0\n"))
    with pytest.raises(KerasMotifsError, match="is it tab-separated"):
        read_labels(write(tmp_path / "l.tsv", "id,A\nx,1\n"))


def test_arguments_and_motif_ids(ten, tmp_path):
    fasta, labels, _ = ten
    with pytest.raises(KerasMotifsError, match="ambiguous must be one of uniform, zeros, got 'half'"):
        encode_fasta(fasta, labels, tmp_path / "d.h5", ambiguous="half")
    with pytest.raises(KerasMotifsError, match="split must be three positive fractions"):
        encode_fasta(fasta, labels, tmp_path / "d.h5", split=(0.5, 0.5))
    with pytest.raises(KerasMotifsError, match="10 sequences are too few"):
        encode_fasta(fasta, labels, tmp_path / "d.h5", split=(0.96, 0.02, 0.02))
    with pytest.raises(KerasMotifsError, match="'nope', which are not classes"):
        encode_fasta(fasta, labels, tmp_path / "d.h5", class_motif_ids={"nope": ["MA0001"]})
    encode_fasta(fasta, labels, tmp_path / "d.h5", class_motif_ids={"mine": ["MA0139.1", "MA1929"]})
    assert load_dataset(tmp_path / "d.h5").class_motif_ids == {"CEBPB": ["MA0466"], "mine": ["MA0139", "MA1929"]}
    assert class_motif_ids_for(["cebpb", "NFYB"]) == {"cebpb": ["MA0466"], "NFYB": ["MA0502", "MA0060"]}
