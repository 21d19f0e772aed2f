"""Scoring filters against JASPAR: match-any and ground-truth fractions, TF coverage.

A filter matches a JASPAR motif when Tomtom reports it with E-value at most the
threshold (0.1 in the paper; the same test as Tomtom's ``-evalue -thresh``). It
matches a TF when one of the hits is a matrix whose base ID (``MA0466`` for
``MA0466.2``, any version) is in that TF's ID set. Fractions are over all the
layer's filters, including those absent from the Tomtom table (no hit, or never
activated), so they are comparable between layers and runs.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from keras_motifs._renamed import renamed_keywords
from keras_motifs.defaults import EVALUE_THRESHOLD, JASPAR_RELEASE
from keras_motifs.errors import KerasMotifsError
from keras_motifs.io.files import read_json, write_json
from keras_motifs.io.runfolder import layer_of
from keras_motifs.motifs.jaspar import PAPER_GROUND_TRUTH_IDS, base_id, load_database
from keras_motifs.motifs.meme import read_meme
from keras_motifs.motifs.ppm import Motif
from keras_motifs.motifs.tomtom_table import TOMTOM_COLUMNS, read_tomtom_tsv


def check_ground_truth(ground_truth, what: str) -> dict[str, set[str]]:
    """Validate a TF -> JASPAR IDs mapping; return TF -> set of base IDs."""
    if not isinstance(ground_truth, Mapping) or not ground_truth:
        raise KerasMotifsError(f"{what}: expected a non-empty mapping of TF name -> list of JASPAR IDs")
    result = {}
    for tf, ids in ground_truth.items():
        if not isinstance(tf, str) or not tf:
            raise KerasMotifsError(f"{what}: TF names must be non-empty strings, got {tf!r}")
        if isinstance(ids, str) or not isinstance(ids, Sequence) or not ids:
            raise KerasMotifsError(f"{what}: TF {tf!r} needs a non-empty list of JASPAR IDs, got {ids!r}")
        bad = [i for i in ids if not isinstance(i, str) or not i.strip()]
        if bad:
            raise KerasMotifsError(f"{what}: TF {tf!r} has an ID that is not a non-empty string: {bad[0]!r}")
        result[tf] = {base_id(i.strip()) for i in ids}
    return result


def read_ground_truth(path: str | os.PathLike, allow_empty: bool = False) -> dict[str, list[str]]:
    """Read a ground-truth mapping from a JSON file.

    Parameters
    ----------
    path : str or PathLike
        A JSON object mapping each TF name to a list of JASPAR matrix IDs, e.g.
        ``{"CEBPB": ["MA0466"], "NFYB": ["MA0502", "MA0060.1"]}``. Versions are
        allowed and ignored (IDs are compared by base ID).
    allow_empty : bool
        Accept ``{}`` (no TF has known motifs, as :func:`keras_motifs.data.ground_truth.write_ground_truth` writes for
        such a dataset) instead of refusing it. Default is False.

    Returns
    -------
    dict
        TF name -> sorted list of base IDs; empty only when ``allow_empty``.
    """
    mapping = read_json(path, what="ground-truth mapping")
    if allow_empty and mapping == {}:
        return {}
    checked = check_ground_truth(mapping, f"{path}")
    return {tf: sorted(ids) for tf, ids in checked.items()}


def _check_filter_ids(table: pd.DataFrame, filter_ids: Sequence[str]) -> list[str]:
    """Refuse a table without Tomtom's columns and filter IDs that are empty, repeated or miss a Query_ID of it.

    Returns the filter IDs as a list of str.
    """
    if not isinstance(table, pd.DataFrame) or list(table.columns) != TOMTOM_COLUMNS:
        got = list(table.columns) if isinstance(table, pd.DataFrame) else type(table).__name__
        raise KerasMotifsError(f"table: expected Tomtom's columns {TOMTOM_COLUMNS}, got {got}")
    if isinstance(filter_ids, str):
        raise KerasMotifsError(f"filter_ids: expected a list of filter IDs, got the string {filter_ids!r}")
    filter_ids = [str(f) for f in filter_ids]
    if not filter_ids:
        raise KerasMotifsError("filter_ids: no filters given (the fractions need at least one)")
    if len(set(filter_ids)) != len(filter_ids):
        raise KerasMotifsError("filter_ids: filter IDs must be unique")
    unknown = sorted(set(table["Query_ID"]) - set(filter_ids))
    if unknown:
        raise KerasMotifsError(
            f"table: Query_ID {unknown[0]!r} is not among the {len(filter_ids)} filter_ids "
            "(Tomtom table and filters from different runs?)"
        )
    return filter_ids


def _target_names(target_names: Mapping[str, str] | Sequence[Motif] | None) -> Mapping[str, str]:
    """Target ID -> name, from a mapping or the motifs themselves; empty for None."""
    if target_names is None:
        return {}
    if isinstance(target_names, Mapping):
        return target_names
    return {m.id: m.name for m in target_names}


def _hits_by_filter(table: pd.DataFrame, evalue_threshold: float) -> dict[str, pd.DataFrame]:
    """Query_ID -> its rows with E-value at most the threshold, best first (E-value, p-value, table order)."""
    hits = table[table["E-value"] <= evalue_threshold]
    hits = hits.assign(_order=range(len(hits))).sort_values(["E-value", "p-value", "_order"], kind="stable")
    return {fid: rows for fid, rows in hits.groupby("Query_ID", sort=False)}


def _score_filter(
    fid: str, rows: pd.DataFrame | None, names: Mapping[str, str], gt: dict[str, set[str]] | None
) -> tuple[dict, set[str]]:
    """One filter's entry of the score from its hits (best first, or None), and the TFs any of its hits match."""
    entry = {
        "filter": fid,
        "best_jaspar_id": None,
        "best_jaspar_name": None,
        "best_evalue": None,
        "best_gt_tf": None,
        "best_gt_id": None,
        "best_gt_evalue": None,
    }
    tfs_hit: set[str] = set()
    if rows is None:
        return entry, tfs_hit
    best = rows.iloc[0]
    entry["best_jaspar_id"] = best["Target_ID"]
    entry["best_jaspar_name"] = names.get(best["Target_ID"])
    entry["best_evalue"] = float(best["E-value"])
    if gt is not None:
        for target, evalue in zip(rows["Target_ID"], rows["E-value"]):
            tfs = [tf for tf, ids in gt.items() if base_id(target) in ids]
            if tfs and entry["best_gt_tf"] is None:
                entry.update(best_gt_tf=tfs[0], best_gt_id=target, best_gt_evalue=float(evalue))
            tfs_hit.update(tfs)
    return entry, tfs_hit


def score_tomtom(
    table: pd.DataFrame,
    filter_ids: Sequence[str],
    ground_truth: Mapping[str, Sequence[str]] | None = None,
    target_names: Mapping[str, str] | Sequence[Motif] | None = None,
    evalue_threshold: float = EVALUE_THRESHOLD,
    layer: str = "",
) -> dict:
    """Score a layer's filters from their Tomtom table; the ``score.json`` structure.

    Parameters
    ----------
    table : pandas.DataFrame
        Tomtom's table (:data:`keras_motifs.motifs.tomtom_table.TOMTOM_COLUMNS`), from
        :func:`keras_motifs.motifs.tomtom.tomtom` or :func:`~keras_motifs.motifs.tomtom_table.read_tomtom_tsv`.
    filter_ids : sequence of str
        Every filter of the layer, in order (the denominator of the fractions),
        also those with no row in ``table``. Each Query_ID of ``table`` must be one.
    ground_truth : mapping of str to list of str, optional
        TF name -> JASPAR IDs counting as that TF (any version), e.g.
        :data:`keras_motifs.motifs.jaspar.PAPER_GROUND_TRUTH_IDS`. Default is None: no
        ground-truth scoring (``match_gt_frac`` is None, ``tf_coverage`` empty).
    target_names : mapping of str to str, or sequence of Motif, optional
        Target ID -> name (e.g. the database motifs) for ``best_jaspar_name``.
        Default is None (names are null).
    evalue_threshold : float
        A hit counts when its E-value is at most this. Default is 0.1.
    layer : str
        Layer name recorded in the result. Default is "".

    Returns
    -------
    dict
        ``{"layer", "num_filters", "evalue_threshold", "match_any_frac",
        "match_gt_frac", "tf_coverage": {tf: bool}, "filters": [{"filter",
        "best_jaspar_id", "best_jaspar_name", "best_evalue", "best_gt_tf",
        "best_gt_id", "best_gt_evalue"}]}``; fields of a filter without a hit are
        None. Best = lowest E-value (then lowest p-value, then table order).
    """
    filter_ids = _check_filter_ids(table, filter_ids)
    if isinstance(evalue_threshold, bool) or not isinstance(evalue_threshold, (int, float)) or not (
        math.isfinite(evalue_threshold) and evalue_threshold > 0
    ):
        raise KerasMotifsError(f"evalue_threshold must be a positive number, got {evalue_threshold!r}")
    gt = check_ground_truth(ground_truth, "ground_truth") if ground_truth is not None else None
    names = _target_names(target_names)
    by_filter = _hits_by_filter(table, evalue_threshold)

    covered = {tf: False for tf in gt} if gt is not None else {}
    filters = []
    for fid in filter_ids:
        entry, tfs_hit = _score_filter(fid, by_filter.get(fid), names, gt)
        covered.update(dict.fromkeys(tfs_hit, True))
        filters.append(entry)
    n_any = sum(entry["best_evalue"] is not None for entry in filters)
    n_gt = sum(entry["best_gt_evalue"] is not None for entry in filters)

    return {
        "layer": layer,
        "num_filters": len(filter_ids),
        "evalue_threshold": float(evalue_threshold),
        "match_any_frac": n_any / len(filter_ids),
        "match_gt_frac": n_gt / len(filter_ids) if gt is not None else None,
        "tf_coverage": covered,
        "filters": filters,
    }


@renamed_keywords(out_path="out")
def score_files(
    tomtom_path: str | os.PathLike,
    filters_path: str | os.PathLike,
    out: str | os.PathLike,
    ground_truth: Mapping[str, Sequence[str]] | None = PAPER_GROUND_TRUTH_IDS,
    evalue_threshold: float = EVALUE_THRESHOLD,
    database: str | os.PathLike = JASPAR_RELEASE,
) -> dict:
    """Score a layer from its files and write ``score.json`` (``keras-motifs score``).

    Parameters
    ----------
    tomtom_path : str or PathLike
        Tomtom tsv of the layer's filters (MEME's or :func:`~keras_motifs.motifs.tomtom_table.write_tomtom_tsv`'s).
    filters_path : str or PathLike
        The layer's ``<layer>.filters.tsv`` (every filter, also those that never
        activated) or, failing that, its MEME file (the Tomtom queries); gives
        the filter IDs and, by its name, the layer name.
    out : str or PathLike
        Output JSON, written atomically. Its former name ``out_path`` still works, with a
        ``DeprecationWarning``.
    ground_truth : mapping of str to list of str, optional
        TF name -> JASPAR IDs, as :func:`keras_motifs.data.ground_truth.resolve_ground_truth`
        turns the command line's ``--ground-truth`` into one; None: no ground truth. Default
        is the paper's 12 TFs (:data:`~keras_motifs.motifs.jaspar.PAPER_GROUND_TRUTH_IDS`).
    evalue_threshold : float
        Default is 0.1.
    database : str or PathLike
        JASPAR release or MEME file of the targets, for the hits' names. Default is
        "JASPAR2016".

    Returns
    -------
    dict
        The score written, as :func:`score_tomtom` returns it.
    """
    table = read_tomtom_tsv(tomtom_path)
    filter_ids = read_filter_ids(filters_path)
    score = score_tomtom(
        table,
        filter_ids,
        ground_truth=ground_truth,
        target_names=load_database(database),
        evalue_threshold=evalue_threshold,
        layer=layer_of(filters_path),
    )
    write_json(out, score)
    return score


def read_filter_ids(path: str | os.PathLike) -> list[str]:
    """Every filter ID of a layer, from its ``.filters.tsv`` table or its MEME file.

    The table lists every filter, also those that never activated and so have no
    motif in the MEME file: only the table gives the right denominator.

    Parameters
    ----------
    path : str or PathLike
        A tab-separated table with a ``filter`` column (a ``.tsv`` file), or else a
        MEME file whose motif IDs are taken.

    Returns
    -------
    list of str
        The filter IDs in file order: at least one, unique, none empty.
    """
    path = Path(path)
    if path.suffix != ".tsv":
        return [motif.id for motif in read_meme(path)]
    try:
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t")
            if "filter" not in (reader.fieldnames or []):
                raise KerasMotifsError(f"{path}: not a filter table (no 'filter' column)")
            ids: list[str] = []
            for row in reader:
                if not row["filter"]:
                    raise KerasMotifsError(f"{path}: line {reader.line_num}: no filter ID")
                if row["filter"] in ids:
                    raise KerasMotifsError(f"{path}: line {reader.line_num}: filter {row['filter']} appears twice")
                ids.append(row["filter"])
    except FileNotFoundError:
        raise KerasMotifsError(f"{path}: filter table not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise KerasMotifsError(f"{path}: cannot read filter table ({err})") from None
    if not ids:
        raise KerasMotifsError(f"{path}: no filters (a header but no rows; the table lists every filter of a layer)")
    return ids
