"""Tests of keras_motifs.motifs.tomtom_table: Tomtom's tsv, read and written with every value checked."""

from pathlib import Path

import numpy as np
import pytest

from keras_motifs.errors import KerasMotifsError
from keras_motifs.motifs.meme import read_meme
from keras_motifs.motifs.tomtom_table import TOMTOM_COLUMNS, read_tomtom_tsv, write_tomtom_tsv

#: The project's shared copy of the MEME samples (tests/data/meme holds the same files).
SHARED_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
HEADER = "\t".join(TOMTOM_COLUMNS) + "\n"
ROW = "f0\tMA0001.1\t-3\t1e-5\t0.005\t0.001\t10\tAAAA\tCCCC\t+\n"


def test_read_meme_sample_tsv(samples):
    table = read_tomtom_tsv(samples / "tomtom_meme-5.5.8.tsv")
    assert list(table.columns) == TOMTOM_COLUMNS and len(table) == 33
    assert table.dtypes["Optimal_offset"] == np.int64 and table.dtypes["Overlap"] == np.int64
    assert table.dtypes["p-value"] == np.float64
    first = table.iloc[0]
    assert (first.Query_ID, first.Target_ID, first.Optimal_offset, first.Overlap) == ("filter0", "MA0139.1", -3, 19)
    assert first["p-value"] == 1.31772e-26 and first["q-value"] == 1.36032e-23
    assert table.Orientation.value_counts().to_dict() == {"+": 30, "-": 3}
    assert len(table.attrs["comments"]) == 3 and table.attrs["comments"][2].startswith("# tomtom -no-ssc")


AT_LINE_2 = r"line 2 \(f0 vs MA0001.1\): "


@pytest.mark.parametrize(
    "text, message",
    [
        ("Query\tTarget\n", "line 1: not Tomtom's header"),
        (HEADER + ROW.replace("-3", "x"), AT_LINE_2 + "Optimal_offset 'x' is not an integer"),
        (HEADER + ROW.replace("\t10\t", "\t9.5\t"), AT_LINE_2 + "Overlap '9.5' is not an integer"),
        (HEADER + ROW.replace("\t1e-5\t", "\t-1e-5\t"), AT_LINE_2 + r"p-value '-1e-5' is not a number in \[0, 1\]"),
        (HEADER + ROW.replace("\t1e-5\t", "\tnan\t"), AT_LINE_2 + "p-value 'nan' is not a number"),
        (HEADER + ROW.replace("\t0.005\t", "\t-0.005\t"), AT_LINE_2 + "E-value '-0.005' is not a finite number >= 0"),
        (HEADER + ROW.replace("\t0.005\t", "\tinf\t"), AT_LINE_2 + "E-value 'inf' is not a finite number"),
        (HEADER + ROW.replace("\t0.001\t", "\t1.5\t"), AT_LINE_2 + r"q-value '1.5' is not a number in \[0, 1\]"),
        (HEADER + ROW + ROW.replace("f0", "f1").replace("\t0.001\t", "\tNaN\t"),
         r"line 3 \(f1 vs MA0001.1\): q-value 'NaN' is not a number"),
        (HEADER + ROW.replace("\t+", "\t?"), AT_LINE_2 + "Orientation must be"),
        (HEADER + ROW + "\n# c\n" + ROW, "line 5: a table row after the end"),
        (HEADER + "f0\tMA0001.1\n", "line 2: 2 tab-separated fields"),
    ],
    ids=["header", "offset", "overlap", "p<0", "p-nan", "E<0", "E-inf", "q>1", "q-nan", "orientation", "after-end",
         "fields"],
)
def test_malformed_tsv_names_file_row_column_and_value(tmp_path, text, message):
    (tmp_path / "bad.tsv").write_text(text)
    with pytest.raises(KerasMotifsError, match=message) as err:
        read_tomtom_tsv(tmp_path / "bad.tsv")
    assert str(err.value).startswith(f"{tmp_path / 'bad.tsv'}: ")


def test_edge_values_are_valid(tmp_path):
    (tmp_path / "edge.tsv").write_text(HEADER + "f0\tMA0001.1\t0\t0\t0\t1\t1\tA\tC\t-\n" + ROW)
    table = read_tomtom_tsv(tmp_path / "edge.tsv")
    assert table["p-value"].tolist() == [0.0, 1e-5] and table["q-value"].tolist() == [1.0, 0.001]


@pytest.mark.parametrize("folder", [Path(__file__).parent / "data" / "meme", SHARED_SAMPLES], ids=["tests", "shared"])
def test_real_meme_samples_still_parse(folder):
    if not folder.is_dir():
        pytest.skip(f"{folder} is not in this checkout")
    table = read_tomtom_tsv(folder / "tomtom_meme-5.5.8.tsv")
    assert len(table) == 33 and table.Query_ID.nunique() == 4
    assert [c[:2] for c in table.attrs["comments"]] == ["# "] * 3  # the trailing '#' lines of MEME's layout
    assert len(read_meme(folder / "filters.meme")) == 6


def test_write_checks_the_table_and_writes_nothing(tmp_path, samples):
    table = read_tomtom_tsv(samples / "tomtom_meme-5.5.8.tsv")
    bad = table.copy()
    bad.loc[4, "E-value"] = -1.0
    with pytest.raises(KerasMotifsError, match=r"t.tsv: row 5 \(filter1 vs MA0474.2\): E-value '-1.0' is not a finite"):
        write_tomtom_tsv(bad, tmp_path / "t.tsv")
    bad = table.copy()
    bad.loc[0, "p-value"] = np.nan
    with pytest.raises(KerasMotifsError, match=r"t.tsv: row 1 \(filter0 vs MA0139.1\): p-value 'nan'"):
        write_tomtom_tsv(bad, tmp_path / "t.tsv")
    assert list(tmp_path.iterdir()) == []


def test_a_fractional_offset_is_refused_not_truncated(tmp_path, samples):
    table = read_tomtom_tsv(samples / "tomtom_meme-5.5.8.tsv")
    table["Optimal_offset"] = table["Optimal_offset"].astype(float)
    table.loc[2, "Optimal_offset"] = 9.5
    with pytest.raises(KerasMotifsError, match=r"t\.tsv: row 3 .*: Optimal_offset '9\.5' is not an integer"):
        write_tomtom_tsv(table, tmp_path / "t.tsv")
