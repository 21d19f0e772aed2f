"""Tests of keras_motifs.motifs.scoring: best hits, match fractions, TF coverage."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from test_tomtom import cli_error
from test_tomtom_table import HEADER, ROW

from keras_motifs.cli import main
from keras_motifs.errors import KerasMotifsError
from keras_motifs.motifs.jaspar import PAPER_GROUND_TRUTH_IDS, PAPER_TFS, load_jaspar
from keras_motifs.motifs.meme import write_meme
from keras_motifs.motifs.ppm import Motif, trim
from keras_motifs.motifs.scoring import read_filter_ids, read_ground_truth, score_files, score_tomtom
from keras_motifs.motifs.tomtom import tomtom
from keras_motifs.motifs.tomtom_table import TOMTOM_COLUMNS, read_tomtom_tsv, write_tomtom_tsv


def _table(rows):
    """A Tomtom table from (query, target, p, E) tuples."""
    full = [(q, t, 0, p, e, p, 5, "ACGT", "ACGT", "+") for q, t, p, e in rows]
    return pd.DataFrame(full, columns=TOMTOM_COLUMNS)


TABLE = _table(
    [
        ("f0", "MA0001.1", 1e-6, 5e-4),
        ("f0", "MA0466.2", 1e-5, 5e-3),  # CEBPB, second best
        ("f1", "MA0062.2", 1e-7, 5e-5),  # Gabpa, best
        ("f1", "MA0062.1", 2e-7, 1e-4),
        ("f2", "MA0466.1", 1e-3, 0.5),  # above the threshold
    ]
)
MAPPING = {"CEBPB": ["MA0466"], "Gabpa": ["MA0062.2"], "SRF": ["MA0083"]}
NAMES = {"MA0001.1": "AGL3", "MA0466.2": "CEBPB", "MA0062.2": "Gabpa", "MA0062.1": "Gabpa"}


def test_score_structure_and_values():
    score = score_tomtom(TABLE, ["f0", "f1", "f2", "f3"], MAPPING, NAMES, layer="conv1")
    assert list(score) == [
        "layer", "num_filters", "evalue_threshold", "match_any_frac", "match_gt_frac", "tf_coverage", "filters",
    ]  # fmt: skip
    assert (score["layer"], score["num_filters"], score["evalue_threshold"]) == ("conv1", 4, 0.1)
    assert score["match_any_frac"] == 0.5  # f0, f1 of 4 filters (f2 above threshold, f3 absent)
    assert score["match_gt_frac"] == 0.5
    assert score["tf_coverage"] == {"CEBPB": True, "Gabpa": True, "SRF": False}
    f0, f1, f2, f3 = score["filters"]
    assert f0 == {
        "filter": "f0", "best_jaspar_id": "MA0001.1", "best_jaspar_name": "AGL3", "best_evalue": 5e-4,
        "best_gt_tf": "CEBPB", "best_gt_id": "MA0466.2", "best_gt_evalue": 5e-3,
    }  # fmt: skip
    assert (f1["best_gt_tf"], f1["best_gt_id"], f1["best_gt_evalue"]) == ("Gabpa", "MA0062.2", 5e-5)
    assert all(v is None for k, v in f2.items() if k != "filter")
    assert f3["filter"] == "f3" and f3["best_jaspar_id"] is None
    json.dumps(score)  # plain JSON types


def test_threshold_and_no_ground_truth():
    score = score_tomtom(TABLE, ["f0", "f1", "f2"], evalue_threshold=1.0)
    assert score["match_any_frac"] == 1.0
    assert score["match_gt_frac"] is None and score["tf_coverage"] == {}
    assert score["filters"][2]["best_jaspar_name"] is None and score["filters"][2]["best_gt_id"] is None


def test_custom_ids_are_not_taken_as_versions():
    """A custom database's "motif.2" is not ground truth when only "motif.1" is."""
    table = _table([("f0", "motif.2", 1e-6, 5e-4), ("f1", "motif.1", 1e-6, 5e-4)])
    score = score_tomtom(table, ["f0", "f1"], {"tf": ["motif.1"]})
    assert score["match_any_frac"] == 1.0 and score["match_gt_frac"] == 0.5
    assert [f["best_gt_id"] for f in score["filters"]] == [None, "motif.1"]


def test_target_names_from_motifs():
    motifs = [Motif("MA0001.1", [[0.25] * 4], name="AGL3")]
    assert score_tomtom(TABLE, ["f0", "f1", "f2"], target_names=motifs)["filters"][0]["best_jaspar_name"] == "AGL3"


def test_bad_input():
    with pytest.raises(KerasMotifsError, match="Query_ID 'f2' is not among"):
        score_tomtom(TABLE, ["f0", "f1"])
    with pytest.raises(KerasMotifsError, match="no filters"):
        score_tomtom(TABLE.iloc[:0], [])
    with pytest.raises(KerasMotifsError, match="non-empty list of JASPAR IDs"):
        score_tomtom(TABLE, ["f0", "f1", "f2"], {"CEBPB": "MA0466"})
    with pytest.raises(KerasMotifsError, match="Tomtom's columns"):
        score_tomtom(TABLE.drop(columns="Overlap"), ["f0", "f1", "f2"])


def test_read_ground_truth(tmp_path):
    path = tmp_path / "gt.json"
    path.write_text(json.dumps({"NFYB": ["MA0502.1", "MA0060"], "SP1": ["MA0079"]}))
    assert read_ground_truth(path) == {"NFYB": ["MA0060", "MA0502"], "SP1": ["MA0079"]}
    path.write_text('{"NFYB": [}')
    with pytest.raises(KerasMotifsError, match="not valid JSON"):
        read_ground_truth(path)
    path.write_text('["MA0502"]')
    with pytest.raises(KerasMotifsError, match=str(path)):
        read_ground_truth(path)
    with pytest.raises(KerasMotifsError, match="not found"):
        read_ground_truth(tmp_path / "missing.json")


def test_score_meme_sample_with_paper_ids(samples):
    table = read_tomtom_tsv(samples / "tomtom_meme-5.5.8.tsv")
    score = score_tomtom(table, [f"filter{i}" for i in range(6)], PAPER_GROUND_TRUTH_IDS)
    assert score["match_any_frac"] == 4 / 6
    assert score["match_gt_frac"] == 1 / 6  # filter1 (an ETS motif) hits Gabpa MA0062.2
    assert [tf for tf, hit in score["tf_coverage"].items() if hit] == ["Gabpa"]


def test_planted_paper_matrices_score_full_coverage():
    jaspar = load_jaspar("JASPAR2016")
    by_id = {m.id: m for m in jaspar}
    flat = np.full((3, 4), 0.25)
    queries = [
        Motif(f"filter{k}", np.vstack([flat, 0.8 * by_id[i].ppm + 0.05, flat])) for k, i in enumerate(PAPER_TFS.values())
    ]
    random = np.random.default_rng(1).dirichlet(np.full(4, 0.5), size=(4, 19))
    queries += [Motif(f"filter{12 + k}", r) for k, r in enumerate(random)]
    score = score_tomtom(tomtom(queries, jaspar), [q.id for q in queries], PAPER_GROUND_TRUTH_IDS, jaspar)
    assert all(score["tf_coverage"].values())
    assert score["match_gt_frac"] == 12 / 16
    for k, tf in enumerate(PAPER_TFS):
        assert score["filters"][k]["best_gt_tf"] == tf


def test_empty_table_counts_every_filter():
    score = score_tomtom(pd.DataFrame(columns=TOMTOM_COLUMNS), ["f0", "f1"], PAPER_GROUND_TRUTH_IDS)
    assert (score["match_any_frac"], score["match_gt_frac"]) == (0.0, 0.0)
    assert not any(score["tf_coverage"].values())


def test_score_files_writes_score_json(tmp_path):
    jaspar = load_jaspar("JASPAR2016")
    queries = [Motif("filter0", 0.8 * jaspar[10].ppm + 0.05), Motif("filter1", [[0.25] * 4] * 8)]
    write_meme(queries, tmp_path / "conv1.meme")
    # Tomtom sees trimmed motifs, as in the released code; the flat filter trims to nothing
    # (untrimmed, a flat matrix gets spurious hits: Tomtom's statistics need information).
    trimmed = [m for m in (trim(q, min_ic=0.5, pad=3) for q in queries) if m is not None]
    assert [m.id for m in trimmed] == ["filter0"]
    write_tomtom_tsv(tomtom(trimmed, jaspar), tmp_path / "conv1.tomtom.tsv")
    score = score_files(tmp_path / "conv1.tomtom.tsv", tmp_path / "conv1.meme", tmp_path / "conv1.score.json")
    assert json.loads((tmp_path / "conv1.score.json").read_text()) == score
    assert (score["layer"], score["num_filters"], score["match_any_frac"]) == ("conv1", 2, 0.5)
    assert score["filters"][0]["best_jaspar_name"] is not None


def _score_argv(tmp_path, tomtom_text, filters_text, filters_name="conv1.filters.tsv"):
    """``keras-motifs score`` on a Tomtom table and a filter table written in tmp_path."""
    (tmp_path / "conv1.tomtom.tsv").write_text(tomtom_text)
    (tmp_path / filters_name).write_text(filters_text)
    return ["score", "--tomtom", tmp_path / "conv1.tomtom.tsv", "--filters", tmp_path / filters_name,
            "--out", tmp_path / "conv1.score.json"]


@pytest.mark.parametrize(
    "row, message",
    [
        ("f0\tMA0001.1\t-3\t-1e-5\t-0.005\t-0.001\t10\tAAAA\tCCCC\t+", "p-value '-1e-5' is not a number in [0, 1]"),
        ("f0\tMA0001.1\t-3\t1e-5\t-0.005\t0.001\t10\tAAAA\tCCCC\t+", "E-value '-0.005' is not a finite number >= 0"),
        ("f0\tMA0001.1\t-3\t1e-5\t0.005\t-0.001\t10\tAAAA\tCCCC\t+", "q-value '-0.001' is not a number in [0, 1]"),
        ("f0\tMA0001.1\t-3\t1e-5\tnan\t0.001\t10\tAAAA\tCCCC\t+", "E-value 'nan' is not a finite number >= 0"),
    ],
)
def test_cli_score_rejects_bad_tomtom_values(tmp_path, capsys, row, message):
    argv = _score_argv(tmp_path, HEADER + ROW + row + "\n\n# Tomtom\n", "filter\tlayer\nf0\tconv1\n")
    err = cli_error(argv, capsys, tmp_path / "conv1.tomtom.tsv", tmp_path / "conv1.score.json")
    assert f"conv1.tomtom.tsv: line 3 (f0 vs MA0001.1): {message}" in err


def test_cli_score_rejects_filter_table_without_rows(tmp_path, capsys):
    argv = _score_argv(tmp_path, HEADER + "\n# Tomtom\n", "filter\tlayer\twidth\n")
    err = cli_error(argv, capsys, tmp_path / "conv1.filters.tsv", tmp_path / "conv1.score.json")
    assert f"{tmp_path / 'conv1.filters.tsv'}: no filters" in err


def test_cli_score_rejects_meme_filters_without_motifs(tmp_path, capsys):
    argv = _score_argv(tmp_path, HEADER, "MEME version 4\n\nALPHABET= ACGT\n", filters_name="conv1.meme")
    err = cli_error(argv, capsys, tmp_path / "conv1.meme", tmp_path / "conv1.score.json")
    assert f"{tmp_path / 'conv1.meme'}: no motifs" in err


@pytest.mark.parametrize(
    "text, message",
    [
        ("layer\twidth\nconv1\t19\n", "not a filter table"),
        ("", "not a filter table"),
        ("filter\tlayer\nf0\tconv1\n\tconv1\n", "line 3: no filter ID"),
        ("filter\tlayer\nf0\tconv1\nf1\tconv1\nf0\tconv1\n", "line 4: filter f0 appears twice"),
    ],
)
def test_read_filter_ids_names_file_and_line(tmp_path, text, message):
    path = tmp_path / "conv1.filters.tsv"
    path.write_text(text)
    with pytest.raises(KerasMotifsError, match=f"^{re.escape(str(path))}: {message}"):
        read_filter_ids(path)


def test_cli_score_real_meme_sample(tmp_path, capsys, samples):
    out = tmp_path / "score.json"
    status = main(["score", "--tomtom", str(samples / "tomtom_meme-5.5.8.tsv"),
                   "--filters", str(samples / "filters.meme"), "--out", str(out)])
    assert status == 0 and capsys.readouterr().err == ""
    assert json.loads(out.read_text())["num_filters"] == 6


def test_score_files_takes_the_former_name_of_out(tmp_path, samples):
    with pytest.warns(DeprecationWarning, match="'out_path' is now called 'out'"):
        score = score_files(samples / "tomtom_meme-5.5.8.tsv", samples / "filters.meme", out_path=tmp_path / "s.json")
    assert json.loads((tmp_path / "s.json").read_text()) == score
