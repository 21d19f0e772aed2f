"""The dataset check at the door: every command that reads a dataset refuses bad data.

Each case tampers with a copy of a valid dataset and runs a command on it: exit status 2,
one ``keras-motifs: error:`` line naming the file, the array and the first offending
sequence, no traceback, and no output where the command would have written one.
"""

import shutil

import h5py
import numpy as np
import pytest

from keras_motifs.cli import main
from keras_motifs.data import reader as data
from keras_motifs.data.reader import check_dataset, load_dataset
from keras_motifs.errors import KerasMotifsError


def tampered(source, path, edit):
    """A copy of dataset ``source`` at ``path`` after ``edit(h5)``."""
    shutil.copy(source, path)
    with h5py.File(path, "r+") as h5:
        edit(h5)
    return path


def replace(key, values):
    """An edit that stores ``values`` under ``key`` in place of what was there."""

    def edit(h5):
        del h5[key]
        h5[key] = values

    return edit


def set_value(key, index, value):
    """An edit that sets one element of array ``key``, keeping its type."""

    def edit(h5):
        array = h5[key][...]
        array[index] = value
        replace(key, array)(h5)

    return edit


def one_error_line(capsys, *expected):
    """The single error line of a refused command, which must contain every ``expected`` text."""
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-motifs: error: "), err
    assert "Traceback" not in err
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def _random_floats(h5):
    replace("x_train", np.random.default_rng(0).random(h5["x_train"].shape, dtype=np.float32))(h5)


def _as_bytes(h5):
    replace("x_test", h5["x_test"][...].reshape(len(h5["x_test"]), -1).view("S8"))(h5)


BAD_DATASETS = {
    "random floats": (_random_floats, ["x_train[0], position 0", "not a finite one-hot row"]),
    "label 7": (set_value("y_valid", (3, 1), 7), ["y_valid[3]: label 7 for class 'CEBPB'"]),
    "NaN label": (replace("y_train", np.where(np.eye(1, 12, dtype=bool), np.nan, 0.0).repeat(210, axis=0)),
                  ["y_train[0]: label nan for class 'Arid3a'"]),
    "NaN in x": (lambda h5: replace("x_test", np.where(np.arange(4) == 2, np.nan, h5["x_test"][...]))(h5),
                 ["x_test[0], position 0", "nan"]),
    "two letters at once": (set_value("x_valid", (5, 17), 1), ["x_valid[5], position 17: not one-hot"]),
    "bytes": (_as_bytes, ["x_test stores |S8 values, expected numbers"]),
    "empty test split": (lambda h5: [replace("x_test", h5["x_test"][:0])(h5), replace("y_test", h5["y_test"][:0])(h5)],
                         ["x_test holds no sequences"]),
    "malformed class_motif_ids": (lambda h5: h5.attrs.__setitem__("class_motif_ids", "{CEBPB: MA0466"),
                                  ["attribute class_motif_ids is not valid JSON"]),
    "label columns": (replace("y_test", np.zeros((60, 3), dtype=np.uint8)),
                      ["y_test has 3 label columns but there are 12 class names"]),
}


@pytest.mark.parametrize("case", BAD_DATASETS)
def test_train_refuses_bad_data_at_the_door(case, tmp_path, small_dataset_file, capsys):
    edit, expected = BAD_DATASETS[case]
    bad = tampered(small_dataset_file, tmp_path / "bad.h5", edit)
    assert main(["train", "--data", str(bad), "--arch", "cnn-25", "--out", str(tmp_path / "run")]) == 2
    one_error_line(capsys, str(bad), *expected)
    assert not (tmp_path / "run").exists()


def test_filters_refuses_sequences_with_nan(tmp_path, small_dataset_file, capsys):
    edit, expected = BAD_DATASETS["NaN in x"]
    from keras_motifs.models import build_model

    bad = tampered(small_dataset_file, tmp_path / "bad.h5", edit)
    build_model("cnn-25").save(tmp_path / "m.keras")
    out = tmp_path / "conv1.meme"
    assert main(["filters", "--model", str(tmp_path / "m.keras"), "--data", str(bad), "--out", str(out)]) == 2
    one_error_line(capsys, str(bad), *expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.h5", "m.keras"]


def test_score_and_run_refuse_a_bad_ground_truth_dataset(tmp_path, small_dataset_file, capsys):
    edit, expected = BAD_DATASETS["malformed class_motif_ids"]
    bad = tampered(small_dataset_file, tmp_path / "bad.h5", edit)
    (tmp_path / "t.tsv").write_text("Query_ID\tTarget_ID\tOptimal_offset\tp-value\tE-value\tq-value\tOverlap\t"
                                    "Query_consensus\tTarget_consensus\tOrientation\n")
    (tmp_path / "f.tsv").write_text("filter\nfilter0\n")
    out = tmp_path / "score.json"
    assert main(["score", "--tomtom", str(tmp_path / "t.tsv"), "--filters", str(tmp_path / "f.tsv"),
                 "--ground-truth", str(bad), "--out", str(out)]) == 2
    one_error_line(capsys, str(bad), *expected)
    assert not out.exists()
    assert main(["run", "--data", str(bad), "--out", str(tmp_path / "exp"), "--archs", "cnn-25"]) == 2
    one_error_line(capsys, str(bad), *expected)
    assert not (tmp_path / "exp" / "sweep.json").exists()


def test_ambiguous_bases_and_padding_pass(tmp_path, small_dataset_file):
    """Fractions summing to 1 (``encode --ambiguous uniform``) and all-zero positions are data."""

    def ambiguous(h5):
        x = h5["x_train"][...].astype(np.float32)
        x[0, 3] = 0.25
        x[1, :5] = 0
        replace("x_train", x)(h5)

    path = tampered(small_dataset_file, tmp_path / "ambiguous.h5", ambiguous)
    dataset = load_dataset(path)
    assert dataset.x["train"].dtype == np.float32 and dataset.x["train"][0, 3].tolist() == [0.25] * 4


def test_check_streams_in_chunks_and_names_the_sequence_in_a_later_chunk(tmp_path, small_dataset_file,
                                                                          monkeypatch):
    row_bytes = 200 * 4
    monkeypatch.setattr(data, "CHECK_CHUNK_BYTES", 7 * row_bytes)
    reads = []
    original = data._chunks

    def counting(array):
        for start, chunk in original(array):
            if chunk.ndim == 3:
                reads.append(len(chunk))
            yield start, chunk

    monkeypatch.setattr(data, "_chunks", counting)

    def rechunk(h5):  # contiguous storage: the check reads exactly 7 rows at a time
        for split in ("train", "valid", "test"):
            replace(f"x_{split}", h5[f"x_{split}"][...])(h5)

    path = tampered(small_dataset_file, tmp_path / "late.h5", rechunk)
    check_dataset(path)
    assert max(reads) == 7 and sum(reads) > 7
    bad = tampered(path, tmp_path / "bad.h5", set_value("x_train", (200, 9), 2))
    with pytest.raises(KerasMotifsError, match=r"bad\.h5: x_train\[200\], position 9: not one-hot \(2, 2, 2, 2\)"):
        check_dataset(bad)


def test_a_passed_file_is_checked_again_once_changed(tmp_path, small_dataset_file):
    path = tampered(small_dataset_file, tmp_path / "d.h5", lambda h5: None)
    check_dataset(path)
    with h5py.File(path, "r+") as h5:
        set_value("y_test", (0, 0), 3)(h5)
    with pytest.raises(KerasMotifsError, match=r"y_test\[0\]: label 3"):
        check_dataset(path)


def test_a_checked_file_is_not_read_again_and_a_layout_check_reads_no_array(tmp_path, small_dataset_file,
                                                                            monkeypatch):
    path = tampered(small_dataset_file, tmp_path / "d.h5", lambda h5: None)
    reads = []
    original = data._chunks
    monkeypatch.setattr(data, "_chunks", lambda array: (reads.append(array.name), *original(array))[1:])
    check_dataset(path, splits=())
    assert reads == []
    check_dataset(path)
    assert len(reads) == 6
    check_dataset(path)
    check_dataset(path, splits=("test",))
    assert len(reads) == 6  # passed already, unchanged


def test_values_checked_once_whether_by_check_dataset_or_load_dataset(tmp_path, small_dataset_file, monkeypatch):
    """run checks every value before its runs; each run's load_dataset does not check them again."""
    checked = []
    original = data._check_sequences
    monkeypatch.setattr(data, "_check_sequences", lambda x, where: (checked.append(where), original(x, where)))
    first = tampered(small_dataset_file, tmp_path / "first.h5", lambda h5: None)
    check_dataset(first)
    assert len(checked) == 3
    load_dataset(first)
    load_dataset(first, splits=("test",))
    assert len(checked) == 3
    second = tampered(small_dataset_file, tmp_path / "second.h5", lambda h5: None)
    load_dataset(second, splits=("test",))
    load_dataset(second, splits=("test",))
    assert checked[3:] == [f"{second}: x_test"]
    load_dataset(second)  # train and valid not checked yet
    check_dataset(second)
    assert len(checked) == 7
