"""Tests of keras_motifs.scoring: best hits, match fractions, TF coverage."""

import json

import numpy as np
import pandas as pd
import pytest

from keras_motifs.errors import KerasMotifsError
from keras_motifs.jaspar import PAPER_GROUND_TRUTH_IDS, PAPER_TFS, load_jaspar
from keras_motifs.motifs import Motif, trim, write_meme
from keras_motifs.scoring import read_ground_truth, resolve_ground_truth, score_files, score_tomtom
from keras_motifs.tomtom import TOMTOM_COLUMNS, read_tomtom_tsv, tomtom, write_tomtom_tsv



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


def test_resolve_ground_truth(tmp_path):
    import h5py

    assert resolve_ground_truth(None) is None
    assert resolve_ground_truth("synthetic") == PAPER_GROUND_TRUTH_IDS
    with h5py.File(tmp_path / "d.h5", "w") as h5:
        h5.attrs["class_motif_ids"] = json.dumps({"CEBPB": ["MA0466"]})
    assert resolve_ground_truth(tmp_path / "d.h5") == {"CEBPB": ["MA0466"]}
    with h5py.File(tmp_path / "none.h5", "w"):
        pass
    with pytest.raises(KerasMotifsError, match="no class_motif_ids"):
        resolve_ground_truth(tmp_path / "none.h5")


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
