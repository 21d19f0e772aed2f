"""Ground truth for scoring, found where the command line names it: the paper's, a dataset's, a JSON file's."""

import json

import pytest

from keras_motifs.data.ground_truth import resolve_ground_truth, write_ground_truth
from keras_motifs.errors import KerasMotifsError
from keras_motifs.motifs.jaspar import PAPER_GROUND_TRUTH_IDS, load_jaspar
from keras_motifs.motifs.meme import write_meme
from keras_motifs.motifs.ppm import Motif
from keras_motifs.motifs.scoring import read_ground_truth, score_files
from keras_motifs.motifs.tomtom import tomtom
from keras_motifs.motifs.tomtom_table import write_tomtom_tsv


def test_resolve_ground_truth(tmp_path, small_dataset_file):
    import shutil

    import h5py

    assert resolve_ground_truth(None) is None
    assert resolve_ground_truth("synthetic") == PAPER_GROUND_TRUTH_IDS
    for name, ids in (("d.h5", {"CEBPB": ["MA0466"]}), ("none.h5", None)):
        shutil.copy(small_dataset_file, tmp_path / name)
        with h5py.File(tmp_path / name, "r+") as h5:
            if ids is None:
                del h5.attrs["class_motif_ids"]
            else:
                h5.attrs["class_motif_ids"] = json.dumps(ids)
    assert resolve_ground_truth(tmp_path / "d.h5") == {"CEBPB": ["MA0466"]}
    with pytest.raises(KerasMotifsError, match="no class_motif_ids"):
        resolve_ground_truth(tmp_path / "none.h5")


def test_ground_truth_json_scores_like_its_dataset(tmp_path, small_dataset_file):
    """The pipeline's SCORE reads ground_truth.json instead of the dataset: same scores."""
    import shutil

    import h5py

    jaspar = load_jaspar("JASPAR2016")
    cebpb = next(m for m in jaspar if m.id.startswith("MA0466"))
    write_meme([Motif("filter0", cebpb.ppm), Motif("filter1", [[0.25] * 4] * 8)], tmp_path / "conv1.meme")
    write_tomtom_tsv(tomtom([Motif("filter0", cebpb.ppm)], jaspar), tmp_path / "conv1.tomtom.tsv")
    for name, ids in (("d.h5", {"CEBPB": ["MA0466.1"], "own_label": []}), ("unknown.h5", {"own_label": []})):
        shutil.copy(small_dataset_file, tmp_path / name)
        with h5py.File(tmp_path / name, "r+") as h5:
            h5.attrs["class_motif_ids"] = json.dumps(ids)
        written = write_ground_truth(tmp_path / name, tmp_path / f"{name}.json")
        assert json.loads((tmp_path / f"{name}.json").read_text()) == written
        scores = [score_files(tmp_path / "conv1.tomtom.tsv", tmp_path / "conv1.meme", tmp_path / f"{i}.json",
                              ground_truth=resolve_ground_truth(source))
                  for i, source in enumerate((tmp_path / name, tmp_path / f"{name}.json"))]
        assert scores[0] == scores[1]
    assert written == {}  # no class with known motifs: no ground truth, as with the dataset
    assert scores[1]["match_gt_frac"] is None
    assert write_ground_truth(tmp_path / "d.h5", tmp_path / "g.json") == {"CEBPB": ["MA0466"]}
    with pytest.raises(KerasMotifsError, match="expected a dataset .h5"):
        write_ground_truth(tmp_path / "g.json", tmp_path / "again.json")
    with pytest.raises(KerasMotifsError, match="is the dataset itself"):
        write_ground_truth(tmp_path / "d.h5", tmp_path / "." / "d.h5")
    assert write_ground_truth(tmp_path / "d.h5", tmp_path / "g2.json") == {"CEBPB": ["MA0466"]}  # still a dataset
    with pytest.warns(DeprecationWarning, match="'out_path' is now called 'out'"):
        assert write_ground_truth(tmp_path / "d.h5", out_path=tmp_path / "g3.json") == {"CEBPB": ["MA0466"]}
    (tmp_path / "empty.json").write_text("{}")
    with pytest.raises(KerasMotifsError, match="non-empty mapping"):
        read_ground_truth(tmp_path / "empty.json")  # the library reader refuses {} unless allow_empty
