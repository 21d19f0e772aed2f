"""Tests of keras_motifs.motifs.tomtom: the memelite engine on planted truth, and MEME's engine."""

import logging
import shutil

import numpy as np
import pandas as pd
import pytest

import keras_motifs.motifs.tomtom as tt
from keras_motifs.cli import main
from keras_motifs.errors import KerasMotifsError
from keras_motifs.motifs.jaspar import PAPER_TFS, load_database, load_jaspar
from keras_motifs.motifs.meme import read_meme, write_meme
from keras_motifs.motifs.ppm import Motif
from keras_motifs.motifs.tomtom import meme_tomtom_command, tomtom
from keras_motifs.motifs.tomtom_table import TOMTOM_COLUMNS, read_tomtom_tsv, write_tomtom_tsv

FLAT = np.full((3, 4), 0.25)


def cli_error(argv, capsys, user_path, out):
    """Run the CLI on bad input: check exit 2, one error line naming ``user_path``, ``out`` not written.

    Returns the error line.
    """
    status = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("keras-motifs: error: ") and err.count("\n") == 1 and err.endswith("\n")
    assert str(user_path) in err and "Traceback" not in err
    assert not out.exists()
    return err


@pytest.fixture(scope="module")
def jaspar():
    return load_jaspar("JASPAR2016")


def _planted(jaspar, reverse=False):
    """The paper's 12 JASPAR matrices, softened and padded with 3 flat columns each side."""
    by_id = {m.id: m for m in jaspar}
    motifs = []
    for k, matrix_id in enumerate(PAPER_TFS.values()):
        ppm = 0.8 * by_id[matrix_id].ppm + 0.05
        motifs.append(Motif(f"q{k}", np.vstack([FLAT, ppm[::-1, ::-1] if reverse else ppm, FLAT])))
    return motifs


@pytest.mark.parametrize("reverse", [False, True])
def test_planted_jaspar_matrices_match_their_own_ids(jaspar, reverse):
    table = tomtom(_planted(jaspar, reverse), jaspar)
    assert list(table.columns) == TOMTOM_COLUMNS
    for k, matrix_id in enumerate(PAPER_TFS.values()):
        own = table[(table.Query_ID == f"q{k}") & (table.Target_ID == matrix_id)]
        assert len(own) == 1, matrix_id
        row = own.iloc[0]
        assert row["E-value"] < 0.01
        assert row["Optimal_offset"] == -3  # target column 0 sits on query column 3
        assert row["Overlap"] == len(jaspar[[m.id for m in jaspar].index(matrix_id)].ppm)
        assert row["Orientation"] == ("-" if reverse else "+")
    # E = p x number of targets; q-values are at least the p-values
    np.testing.assert_allclose(table["E-value"], table["p-value"] * len(jaspar), rtol=1e-12)
    assert (table["q-value"] >= table["p-value"]).all() and (table["q-value"] <= 1).all()
    # rows: queries in input order, increasing p-value within a query
    assert table.groupby("Query_ID", sort=False)["p-value"].apply(lambda p: p.is_monotonic_increasing).all()


def test_random_matrices_match_little(jaspar):
    rng = np.random.default_rng(1)
    random = [Motif(f"r{j}", rng.dirichlet(np.ones(4), size=19)) for j in range(30)]
    table = tomtom(random, jaspar)
    # measured: 6 of 30 random queries have a hit at E <= 0.1, against 12 of 12 planted
    assert table.Query_ID.nunique() <= 9


def test_qvalue_threshold(jaspar):
    table = tomtom(_planted(jaspar), jaspar, thresh=0.01, evalue=False)
    assert len(table) > 12 and (table["q-value"] <= 0.01).all()


def test_benjamini_hochberg_by_hand():
    p = np.array([[0.01, 0.04, 0.03, 0.5]])
    # sorted 0.01, 0.03, 0.04, 0.5 -> 0.04, 0.06, 0.0533, 0.5 -> cumulative min from the end
    np.testing.assert_allclose(tt._bh_qvalues(p), [[0.04, 0.16 / 3, 0.16 / 3, 0.5]])


def test_memelite_agrees_with_meme_sample(jaspar, samples):
    meme = read_tomtom_tsv(samples / "tomtom_meme-5.5.8.tsv")
    ours = tomtom(read_meme(samples / "filters.meme"), jaspar)
    a = set(zip(meme.Query_ID, meme.Target_ID))
    b = set(zip(ours.Query_ID, ours.Target_ID))
    # measured: 33 hits each, Jaccard 1.0 (memelite's p-values are within a factor 1.6 of MEME's)
    assert len(a & b) / len(a | b) >= 0.95
    both = meme.merge(ours, on=["Query_ID", "Target_ID"], suffixes=("_meme", "_ours"))
    for column in ["Optimal_offset", "Overlap", "Orientation", "Query_consensus"]:
        assert (both[f"{column}_meme"] == both[f"{column}_ours"]).all(), column
    ratio = both["p-value_ours"] / both["p-value_meme"]
    assert ratio.between(0.5, 2).all()


def test_tsv_round_trip_and_empty_result(tmp_path, jaspar):
    table = tomtom(_planted(jaspar)[:3], jaspar)
    write_tomtom_tsv(table, tmp_path / "t.tsv")
    text = (tmp_path / "t.tsv").read_text()
    assert text.startswith("\t".join(TOMTOM_COLUMNS) + "\n") and "\n\n# keras-motifs tomtom: engine memelite" in text
    back = read_tomtom_tsv(tmp_path / "t.tsv")
    pd.testing.assert_frame_equal(back, table)

    (tmp_path / "empty.tsv").write_text("\t".join(TOMTOM_COLUMNS) + "\n\n# Tomtom (Motif Comparison Tool): Version 5.5.8\n")
    empty = read_tomtom_tsv(tmp_path / "empty.tsv")
    assert empty.empty and list(empty.columns) == TOMTOM_COLUMNS
    assert empty.dtypes["Optimal_offset"] == np.int64 and empty.dtypes["E-value"] == np.float64


def test_cli_tomtom_empty_query_fails(tmp_path, capsys):
    query = tmp_path / "empty.meme"
    write_meme([], query)
    err = cli_error(["tomtom", "--query", query, "--out", tmp_path / "hits.tsv"], capsys, query, tmp_path / "hits.tsv")
    assert f"{query}: no motifs" in err
    # The MEME file of a layer whose filters never activated, in the pipeline: an empty table.
    assert main(["tomtom", "--query", str(query), "--out", str(tmp_path / "hits.tsv"), "--allow-empty"]) == 0
    assert "0 hits for 0 query motifs" in capsys.readouterr().out
    assert read_tomtom_tsv(tmp_path / "hits.tsv").empty


def test_meme_command_is_an_argument_list():
    assert meme_tomtom_command("q.meme", "db.meme") == [
        "tomtom", "-no-ssc", "-verbosity", "1", "-text", "-min-overlap", "1", "-dist", "ed",
        "-evalue", "-thresh", "0.1", "q.meme", "db.meme",
    ]  # fmt: skip
    command = meme_tomtom_command("q.meme", "db.meme", thresh=0.5, evalue=False, min_overlap=5, dist="pearson")
    assert "-evalue" not in command and command[command.index("-thresh") + 1] == "0.5"
    assert command[command.index("-min-overlap") + 1] == "5" and command[command.index("-dist") + 1] == "pearson"


def test_meme_engine_missing_binary(monkeypatch, tmp_path, jaspar):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(KerasMotifsError, match="executable 'tomtom' not found.*engine='memelite'"):
        tomtom(_planted(jaspar)[:1], jaspar, engine="meme")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(KerasMotifsError, match="not found"):
        tomtom(_planted(jaspar)[:1], jaspar, engine="meme", tomtom_path="/opt/meme/bin/tomtom")


@pytest.mark.skipif(shutil.which("tomtom") is None, reason="MEME suite tomtom is not installed here")
def test_meme_engine_runs_and_agrees_with_memelite(jaspar, tmp_path):
    queries = _planted(jaspar)
    meme = tomtom(queries, jaspar, engine="meme", workdir=tmp_path)
    ours = tomtom(queries, jaspar)
    a, b = set(zip(meme.Query_ID, meme.Target_ID)), set(zip(ours.Query_ID, ours.Target_ID))
    assert len(a & b) / len(a | b) >= 0.9
    assert list(tmp_path.iterdir()) == []  # temporary MEME files removed


def test_bad_options(jaspar):
    queries = _planted(jaspar)[:1]
    for kwargs, message in [
        ({"dist": "pearson"}, "Euclidean distance only"),
        ({"min_overlap": 3}, "no minimum overlap"),
        ({"engine": "blast"}, "engine must be one of"),
        ({"thresh": 0}, "thresh must be a positive number"),
        ({"thresh": 2, "evalue": False}, "at most 1"),
        ({"dist": "cosine", "engine": "meme"}, "dist must be one of"),
    ]:
        with pytest.raises(KerasMotifsError, match=message):
            tomtom(queries, jaspar, **kwargs)
    with pytest.raises(KerasMotifsError, match="appears twice"):
        tomtom(queries + queries, jaspar)
    with pytest.raises(KerasMotifsError, match="no motifs"):
        tomtom(queries, [])
    empty = tomtom([], jaspar)  # a layer whose filters never activated
    assert empty.empty and list(empty.columns) == TOMTOM_COLUMNS


def test_load_database(tmp_path, jaspar):
    assert load_database("JASPAR2016") == jaspar
    write_meme(jaspar[:5], tmp_path / "db.meme")
    assert load_database(tmp_path / "db.meme") == jaspar[:5]
    with pytest.warns(DeprecationWarning, match="'db' is now called 'database'"):
        assert load_database(db=tmp_path / "db.meme") == jaspar[:5]  # the argument's former name
    with pytest.raises(KerasMotifsError, match="neither a JASPAR release"):
        load_database(tmp_path / "missing.meme")
    with pytest.raises(KerasMotifsError, match="unknown JASPAR release"):
        load_database("JASPAR1999")


def test_compile_announced_once_when_cache_cold(monkeypatch, caplog, jaspar):
    monkeypatch.setattr(tt, "_compile_announced", False)
    monkeypatch.setattr(tt, "_memelite_cache_is_warm", lambda: False)
    with caplog.at_level(logging.INFO, logger="keras_motifs"):
        tomtom(_planted(jaspar)[:1], jaspar)
        tomtom(_planted(jaspar)[:1], jaspar)
    assert sum("compiles its Tomtom kernels" in r.getMessage() for r in caplog.records) == 1


def test_cache_detection_finds_numba_index(jaspar):
    tomtom(_planted(jaspar)[:1], jaspar)  # compiled or loaded: the index file now exists
    assert tt._memelite_cache_is_warm()
