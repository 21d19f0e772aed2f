"""Ground truth for scoring: which JASPAR motifs count as each class's, from a dataset, a JSON file or the paper.

The mapping (TF name -> JASPAR IDs) is what :func:`keras_motifs.motifs.scoring.score_tomtom`
scores against; this module finds it where the command line names it.
"""

from __future__ import annotations

import os
from pathlib import Path

from keras_motifs._renamed import renamed_keywords
from keras_motifs.data.reader import read_class_motif_ids
from keras_motifs.errors import KerasMotifsError
from keras_motifs.io.files import write_json
from keras_motifs.motifs.jaspar import PAPER_GROUND_TRUTH_IDS
from keras_motifs.motifs.scoring import check_ground_truth, read_ground_truth


def resolve_ground_truth(ground_truth: str | os.PathLike | None) -> dict[str, list[str]] | None:
    """Turn the command line's ``--ground-truth`` value into a TF -> base IDs mapping.

    Parameters
    ----------
    ground_truth : str or PathLike or None
        ``"synthetic"`` (the paper's 12 TFs, :data:`~keras_motifs.motifs.jaspar.PAPER_GROUND_TRUTH_IDS`),
        a dataset ``.h5`` file (its ``class_motif_ids`` attribute; classes with no
        motif IDs are left out), a JSON mapping file (:func:`read_ground_truth`; ``{}``,
        as :func:`write_ground_truth` writes for a dataset without motif IDs, means
        none), or None (no ground truth).

    Returns
    -------
    dict or None
        TF name -> list of JASPAR base IDs; None when there is nothing to score against.
    """
    if ground_truth is None:
        return None
    if str(ground_truth) == "synthetic":
        return {tf: list(ids) for tf, ids in PAPER_GROUND_TRUTH_IDS.items()}
    path = Path(ground_truth)
    if path.suffix.lower() in (".h5", ".hdf5"):
        # Classes without known motifs (a user's own labels) are left out; none at all: no ground truth.
        mapping = {tf: ids for tf, ids in read_class_motif_ids(path).items() if ids}
        if not mapping:
            return None
        return {tf: sorted(ids) for tf, ids in check_ground_truth(mapping, f"{path}: class_motif_ids").items()}
    return read_ground_truth(path, allow_empty=True) or None


@renamed_keywords(out_path="out")
def write_ground_truth(dataset: str | os.PathLike, out: str | os.PathLike) -> dict[str, list[str]]:
    """Write a dataset's class -> JASPAR IDs mapping as JSON (``keras-motifs ground-truth``).

    Scoring against the JSON gives what scoring against the dataset gives, without
    reading the dataset: the pipeline's SCORE tasks stage this small file.

    Parameters
    ----------
    dataset : str or PathLike
        Dataset HDF5 file (its ``class_motif_ids`` attribute).
    out : str or PathLike
        Output JSON, written atomically; ``{}`` when no class has motif IDs. Its former name
        ``out_path`` still works, with a ``DeprecationWarning``.

    Returns
    -------
    dict
        TF name -> sorted list of base IDs, as written.
    """
    if Path(dataset).suffix.lower() not in (".h5", ".hdf5"):
        raise KerasMotifsError(f"{dataset}: expected a dataset .h5 file")
    mapping = resolve_ground_truth(dataset) or {}
    if Path(out).resolve() == Path(dataset).resolve():
        raise KerasMotifsError(f"{out}: is the dataset itself; give another output file")
    write_json(out, mapping)
    return mapping
