"""JASPAR CORE vertebrate matrices, offline, from the pyjaspar package, and Tomtom's target databases.

pyjaspar ships every JASPAR release from 2014 on as SQLite, so nothing is
downloaded. Matrices are returned as :class:`keras_motifs.motifs.ppm.Motif` with the
PPM convention of keras-motifs: ``(width, 4)``, columns A, C, G, T,
probabilities = counts / column sums (no pseudocount), as in the paper.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from keras_motifs._renamed import renamed_keywords
from keras_motifs.defaults import JASPAR_RELEASE
from keras_motifs.errors import KerasMotifsError
from keras_motifs.motifs.meme import read_meme
from keras_motifs.motifs.ppm import Motif

#: The paper's 12 TFs and the JASPAR 2016 matrix planted for each.
PAPER_TFS: dict[str, str] = {
    "Arid3a": "MA0151.1",
    "CEBPB": "MA0466.2",
    "FOSL1": "MA0477.1",
    "Gabpa": "MA0062.2",
    "MAFK": "MA0496.1",
    "MAX": "MA0058.3",
    "MEF2A": "MA0052.3",
    "NFYB": "MA0502.1",
    "SP1": "MA0079.3",
    "SRF": "MA0083.3",
    "STAT1": "MA0137.3",
    "YY1": "MA0095.2",
}

#: JASPAR base IDs (any version) that count as a match to each of the paper's TFs.
PAPER_GROUND_TRUTH_IDS: dict[str, list[str]] = {
    "Arid3a": ["MA0151", "MA0601"],
    "CEBPB": ["MA0466"],
    "FOSL1": ["MA0477"],
    "Gabpa": ["MA0062"],
    "MAFK": ["MA0496"],
    "MAX": ["MA0058"],
    "MEF2A": ["MA0052"],
    "NFYB": ["MA0502", "MA0060"],
    "SP1": ["MA0079"],
    "SRF": ["MA0083"],
    "STAT1": ["MA0137"],
    "YY1": ["MA0095"],
}


#: A versioned JASPAR matrix ID: collection letters, digits, ``.version`` (MA0466.2, POL002.1).
_JASPAR_VERSIONED_ID = re.compile(r"([A-Z]{2,3}\d{3,4})\.\d+")


def base_id(matrix_id: str) -> str:
    """Return a JASPAR matrix ID without its version: ``"MA0466.2"`` -> ``"MA0466"``.

    Any other ID (a custom database's ``"motif.1"``) is returned whole, so that two
    custom motifs are never taken as versions of one.
    """
    match = _JASPAR_VERSIONED_ID.fullmatch(matrix_id)
    return match.group(1) if match else matrix_id


def releases() -> list[str]:
    """Return the JASPAR releases that pyjaspar ships, newest first."""
    from pyjaspar import jaspardb

    return list(jaspardb().get_releases())


@functools.cache
def _load(release: str) -> tuple[Motif, ...]:
    """Read CORE vertebrates of one release from pyjaspar's SQLite file."""
    from pyjaspar import jaspardb

    known = releases()
    if release not in known:
        raise KerasMotifsError(f"unknown JASPAR release {release!r}; choose one of {', '.join(known)}")
    db = jaspardb(release=release)
    records = db.fetch_motifs(collection="CORE", tax_group=["vertebrates"])
    motifs = []
    for record in records:
        counts = np.array([record.counts[base] for base in "ACGT"], dtype=np.float64).T
        column_sums = counts.sum(axis=1, keepdims=True)
        motifs.append(
            Motif(
                id=record.matrix_id,
                name=record.name,
                ppm=counts / column_sums,
                nsites=int(round(column_sums.max())),
            )
        )
    return tuple(sorted(motifs, key=lambda m: m.id))


def load_jaspar(release: str = JASPAR_RELEASE) -> list[Motif]:
    """Return JASPAR CORE vertebrate matrices of a release, sorted by matrix ID.

    Parameters
    ----------
    release : str
        A release pyjaspar ships, e.g. ``"JASPAR2016"`` (519 matrices), the paper's.
        Default is "JASPAR2016".

    Returns
    -------
    list of Motif
        ``Motif.id`` is the matrix ID with version (``"MA0466.2"``), ``Motif.name``
        the TF name (``"CEBPB"``), ``Motif.nsites`` the number of sites counted.
    """
    return list(_load(release))


def get_motif(key: str, release: str = JASPAR_RELEASE) -> Motif:
    """Look up one matrix by matrix ID (with or without version) or by TF name.

    Parameters
    ----------
    key : str
        ``"MA0466.2"``, ``"MA0466"`` (the latest version in the release) or a TF
        name such as ``"CEBPB"`` (case-insensitive; the latest version when the
        name has several matrices).
    release : str
        JASPAR release. Default is "JASPAR2016".

    Returns
    -------
    Motif
    """
    motifs = _load(release)
    by_id = [m for m in motifs if m.id == key]
    if not by_id:
        by_id = [m for m in motifs if base_id(m.id) == key]
    if not by_id:
        by_id = [m for m in motifs if m.name.lower() == key.lower()]
        if len({base_id(m.id) for m in by_id}) > 1:
            ids = ", ".join(m.id for m in by_id)
            raise KerasMotifsError(f"TF name {key!r} is ambiguous in {release}: matrices {ids}; give a matrix ID")
    if not by_id:
        raise KerasMotifsError(f"{key!r} is neither a matrix ID nor a TF name in {release} CORE vertebrates")
    return max(by_id, key=lambda m: int(m.id.split(".")[1]) if "." in m.id else 0)


def ground_truth_ids(motif: Motif) -> list[str]:
    """Return the base IDs that count as a match to ``motif``'s TF.

    The paper's ID sets (:data:`PAPER_GROUND_TRUTH_IDS`) for its 12 TFs, else the
    matrix's own base ID.
    """
    for ids in PAPER_GROUND_TRUTH_IDS.values():
        if base_id(motif.id) in ids:
            return list(ids)
    return [base_id(motif.id)]


def class_motif_ids_for(
    class_names: Sequence[str], mapping: Mapping[str, Sequence[str]] | None = None
) -> dict[str, list[str]]:
    """Return, per class, the JASPAR base IDs that count as its motif when scoring.

    Parameters
    ----------
    class_names : sequence of str
        Label names in column order.
    mapping : mapping of str to sequence of str, optional
        Class name -> JASPAR matrix IDs (``"MA0139.1"`` or ``"MA0139"``; versions are
        dropped). Classes left out get the default. Default is None: the paper's ID
        sets (:data:`PAPER_GROUND_TRUTH_IDS`) for class names that are paper TFs
        (case-insensitive), no IDs for the others.

    Returns
    -------
    dict of str to list of str
    """
    paper = {name.lower(): ids for name, ids in PAPER_GROUND_TRUTH_IDS.items()}
    mapping = dict(mapping or {})
    unknown = [name for name in mapping if name not in class_names]
    if unknown:
        raise KerasMotifsError(
            f"class motif IDs given for {', '.join(map(repr, unknown))}, which are not classes "
            f"(classes: {', '.join(class_names)})"
        )
    result = {}
    for name in class_names:
        if name in mapping:
            ids = mapping[name]
            if isinstance(ids, str) or not all(isinstance(i, str) and i.strip() for i in ids):
                raise KerasMotifsError(f"class motif IDs of {name!r} must be a list of JASPAR IDs, got {ids!r}")
            result[name] = sorted({base_id(i.strip()) for i in ids})
        else:
            result[name] = list(paper.get(name.lower(), []))
    return result


@renamed_keywords(db="database")
def load_database(database: str | os.PathLike) -> list[Motif]:
    """Target motifs for Tomtom: a JASPAR release or a MEME file.

    Parameters
    ----------
    database : str or PathLike
        A JASPAR release name that pyjaspar ships (``"JASPAR2016"``: CORE
        vertebrates, offline) or the path of a MEME motif file. Its former name ``db``
        still works, with a ``DeprecationWarning``.

    Returns
    -------
    list of Motif
    """
    if not isinstance(database, (str, os.PathLike)):
        raise KerasMotifsError(f"database must be a JASPAR release name or a MEME file path, got {database!r}")
    path = Path(database)
    if path.exists():
        return read_meme(path)
    if isinstance(database, str) and database.upper().startswith("JASPAR") and os.sep not in database:
        return load_jaspar(database)
    raise KerasMotifsError(
        f"database {str(database)!r}: neither a JASPAR release (e.g. JASPAR2016) nor an existing MEME file")
