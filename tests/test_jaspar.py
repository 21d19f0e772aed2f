"""JASPAR CORE vertebrates, offline, as PPMs."""

import numpy as np
import pytest

from keras_motifs.errors import KerasMotifsError
from keras_motifs.motifs.jaspar import (
    PAPER_GROUND_TRUTH_IDS,
    PAPER_TFS,
    base_id,
    get_motif,
    ground_truth_ids,
    load_jaspar,
)


def test_jaspar_2016_core_vertebrates():
    motifs = load_jaspar("JASPAR2016")
    assert len(motifs) == 519
    assert len({m.id for m in motifs}) == 519
    for motif in motifs:
        assert motif.ppm.shape[1] == 4
        np.testing.assert_allclose(motif.ppm.sum(axis=1), 1.0)


def test_paper_matrices_and_widths():
    widths = {"Arid3a": 6, "CEBPB": 10, "FOSL1": 11, "Gabpa": 11, "MAFK": 15, "MAX": 10, "MEF2A": 12,
              "NFYB": 15, "SP1": 11, "SRF": 16, "STAT1": 11, "YY1": 12}
    for name, matrix_id in PAPER_TFS.items():
        motif = get_motif(matrix_id)
        assert motif.name == name and motif.width == widths[name]
    assert set(PAPER_GROUND_TRUTH_IDS) == set(PAPER_TFS)


def test_counts_become_column_probabilities():
    cebpb = get_motif("MA0466.2")
    # First column of MA0466.2 counts A 10585, C 5007, G 6282, T 859.
    np.testing.assert_allclose(cebpb.ppm[0], np.array([10585, 5007, 6282, 859]) / 22733)


def test_lookup_by_id_without_version_or_by_name():
    assert get_motif("MA0466").id == "MA0466.2"
    assert get_motif("cebpb").id == "MA0466.2"
    assert base_id("MA0466.2") == "MA0466"
    assert base_id("POL002.1") == "POL002"
    assert base_id("MA0466") == "MA0466"
    assert ground_truth_ids(get_motif("NFYB")) == ["MA0502", "MA0060"]
    assert ground_truth_ids(get_motif("MA0139.1")) == ["MA0139"]


def test_base_id_keeps_custom_ids_whole():
    """Custom motifs "motif.1" and "motif.2" are two motifs, not versions of "motif"."""
    assert base_id("motif.1") == "motif.1"
    assert base_id("CTCF.core.2") == "CTCF.core.2"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: get_motif("MA9999.1"), "neither a matrix ID nor a TF name in JASPAR2016"),
        (lambda: load_jaspar("JASPAR1999"), "unknown JASPAR release 'JASPAR1999'; choose one of"),
    ],
)
def test_bad_lookups(call, message):
    with pytest.raises(KerasMotifsError, match=message):
        call()


def test_other_releases_are_offline_too():
    assert len(load_jaspar("JASPAR2018")) > 519
