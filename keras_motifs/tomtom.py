"""Tomtom: compare motifs with a database, as MEME suite's ``tomtom`` does.

One function, :func:`tomtom`, and one output table: a DataFrame with exactly the
columns of Tomtom's tsv (:data:`TOMTOM_COLUMNS`), whichever engine computed it.

- ``engine="memelite"`` (default): memesuite-lite's in-process reimplementation
  (numba). MEME's conventions are applied around it so both engines agree: the
  0.1 motif pseudocount on query and target columns, both strands with the
  forward strand kept on ties, E = p x number of targets, q-values per query.
- ``engine="meme"``: the MEME suite ``tomtom`` executable, run with an argument
  list; its text output is parsed by :func:`read_tomtom_tsv`'s parser.

memelite compiles its kernels the first time they run in a fresh install (about
100 s) and caches them on disk; the first call in a process logs a line on the
``keras_motifs`` logger when that cache is cold. A read-only cache (an image run
read-only) is used through a writable copy (:mod:`keras_motifs.numba_cache`).
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from keras_motifs.errors import KerasMotifsError
from keras_motifs.fileio import atomic_file
from keras_motifs.jaspar import load_jaspar
from keras_motifs.motifs import Motif, consensus, read_meme, reverse_complement, write_meme
from keras_motifs.numba_cache import ensure_writable_cache

logger = logging.getLogger("keras_motifs")

#: The columns of MEME Tomtom's tsv output, in order.
TOMTOM_COLUMNS = [
    "Query_ID",
    "Target_ID",
    "Optimal_offset",
    "p-value",
    "E-value",
    "q-value",
    "Overlap",
    "Query_consensus",
    "Target_consensus",
    "Orientation",
]
_DTYPES = {
    "Query_ID": object,
    "Target_ID": object,
    "Optimal_offset": np.int64,
    "p-value": np.float64,
    "E-value": np.float64,
    "q-value": np.float64,
    "Overlap": np.int64,
    "Query_consensus": object,
    "Target_consensus": object,
    "Orientation": object,
}
#: Distance measures of MEME's tomtom ``-dist``; memelite implements only ``ed``.
MEME_DISTANCES = ("allr", "ed", "kullback", "pearson", "sandelin", "blic1", "blic5", "llr1", "llr5")
ENGINES = ("memelite", "meme")
#: MEME's default ``-motif-pseudo``: column -> (p * nsites + 0.1 * bg) / (nsites + 0.1).
MOTIF_PSEUDOCOUNT = 0.1
_UNIFORM = np.full(4, 0.25)

_compile_announced = False


def _empty_table() -> pd.DataFrame:
    """An empty Tomtom table with the proper column dtypes."""
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in _DTYPES.items()})


def _check_motifs(motifs, what: str) -> list[Motif]:
    """Validate a non-empty list of Motifs with unique IDs."""
    if isinstance(motifs, Motif):
        raise KerasMotifsError(f"{what}: expected a list of Motif, got a single Motif ({motifs.id})")
    motifs = list(motifs)
    if not motifs:
        raise KerasMotifsError(f"{what}: no motifs given")
    seen = set()
    for i, motif in enumerate(motifs):
        if not isinstance(motif, Motif):
            raise KerasMotifsError(f"{what}[{i}]: expected a Motif, got {type(motif).__name__}")
        if motif.id in seen:
            raise KerasMotifsError(f"{what}: motif id {motif.id!r} appears twice (Tomtom reports motifs by id)")
        seen.add(motif.id)
    return motifs


def _check_options(engine: str, thresh: float, evalue: bool, min_overlap: int, dist: str) -> None:
    """Validate the options shared by both engines."""
    if engine not in ENGINES:
        raise KerasMotifsError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if isinstance(thresh, bool) or not isinstance(thresh, (int, float)) or not math.isfinite(thresh) or thresh <= 0:
        raise KerasMotifsError(f"thresh must be a positive number, got {thresh!r}")
    if not evalue and thresh > 1:
        raise KerasMotifsError(f"thresh is a q-value threshold (evalue=False) and must be at most 1, got {thresh}")
    if isinstance(min_overlap, bool) or not isinstance(min_overlap, (int, np.integer)) or min_overlap < 1:
        raise KerasMotifsError(f"min_overlap must be an integer >= 1, got {min_overlap!r}")
    if dist not in MEME_DISTANCES:
        raise KerasMotifsError(f"dist must be one of {', '.join(MEME_DISTANCES)}, got {dist!r}")
    if engine == "memelite" and dist != "ed":
        raise KerasMotifsError(f"engine 'memelite' computes Euclidean distance only (dist='ed'), got dist={dist!r}")
    if engine == "memelite" and min_overlap != 1:
        raise KerasMotifsError(f"engine 'memelite' has no minimum overlap option (min_overlap=1), got {min_overlap}")


def tomtom(
    queries: Sequence[Motif],
    targets: Sequence[Motif],
    engine: str = "memelite",
    thresh: float = 0.1,
    evalue: bool = True,
    min_overlap: int = 1,
    dist: str = "ed",
    tomtom_path: str = "tomtom",
    workdir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Compare query motifs with target motifs; return Tomtom's table of hits.

    Parameters
    ----------
    queries : sequence of Motif
        Query motifs (e.g. a layer's filters), unique IDs; none gives an empty table.
    targets : sequence of Motif
        Target database (e.g. :func:`load_database` of ``"JASPAR2016"``), unique IDs.
        Tomtom's p-values use the target columns as background: give a whole
        database (MEME warns below 50 motifs).
    engine : str
        ``"memelite"`` (in-process) or ``"meme"`` (the MEME suite executable).
        Default is "memelite".
    thresh : float
        Report hits with E-value (``evalue=True``) or q-value (``evalue=False``) at
        most this. Default is 0.1 (the paper's ``-evalue -thresh 0.1``).
    evalue : bool
        Threshold on the E-value rather than the q-value. Default is True.
    min_overlap : int
        Minimum overlap of query and target (``-min-overlap``); ``"meme"`` only,
        memelite accepts only 1. Default is 1.
    dist : str
        Column distance (``-dist``), one of :data:`MEME_DISTANCES`; memelite
        accepts only ``"ed"``. Default is "ed".
    tomtom_path : str
        The MEME ``tomtom`` executable, a name on PATH or a path; ``"meme"`` only.
        Default is "tomtom".
    workdir : str or PathLike, optional
        Folder for the temporary MEME files of the ``"meme"`` engine (removed
        afterwards). Default is None (the system's temporary folder).

    Returns
    -------
    pandas.DataFrame
        One row per reported (query, target) pair, columns :data:`TOMTOM_COLUMNS`,
        queries in input order and, within a query, increasing p-value.
        ``Optimal_offset``: query column i is aligned with target column
        i + offset (of the reverse-complemented target when Orientation is
        ``-``). ``attrs["comments"]`` holds ``#`` lines describing the run, which
        :func:`write_tomtom_tsv` writes after the rows.

    Notes
    -----
    memelite's q-values follow MEME: per query, Benjamini-Hochberg over the
    p-values of every target on both strands (2 x number of targets tests). MEME
    also multiplies by an estimate of the fraction of null tests (Storey's pi0,
    0.96-0.99 on its sample), so its q-values are up to a few percent lower.
    """
    targets = _check_motifs(targets, "targets")
    _check_options(engine, thresh, evalue, min_overlap, dist)
    if not isinstance(queries, Motif) and len(list(queries)) == 0:
        return _empty_table()  # e.g. a layer whose filters never activated
    queries = _check_motifs(queries, "queries")
    if engine == "memelite":
        return _tomtom_memelite(queries, targets, thresh, evalue)
    return _tomtom_meme(queries, targets, thresh, evalue, min_overlap, dist, tomtom_path, workdir)


# ---------------------------------------------------------------------------
# memelite engine
# ---------------------------------------------------------------------------


def _memelite_cache_is_warm() -> bool:
    """Whether numba's on-disk cache already holds memelite's main Tomtom kernel."""
    module = importlib.import_module("memelite.tomtom")
    cache = getattr(module._tomtom, "_cache", None)
    index = getattr(getattr(cache, "_cache_file", None), "_index_path", None)
    if index is not None:
        return os.path.exists(index)
    return any(Path(module.__file__).parent.joinpath("__pycache__").glob("tomtom._tomtom-*.nbi"))


def _announce_compile() -> None:
    """Log once per process that memelite is about to compile, if its cache is cold."""
    global _compile_announced
    if _compile_announced:
        return
    _compile_announced = True
    if not _memelite_cache_is_warm():
        logger.info(
            "memelite compiles its Tomtom kernels on first use in this install "
            "(about 100 s, once); later runs load them from numba's cache"
        )


def _pseudocounted(motif: Motif) -> np.ndarray:
    """The motif as memelite wants it, ``(4, width)`` float64, with MEME's pseudocount."""
    n = float(motif.nsites)
    ppm = (motif.ppm * n + MOTIF_PSEUDOCOUNT * _UNIFORM) / (n + MOTIF_PSEUDOCOUNT)
    return np.ascontiguousarray(ppm.T)


def _bh_qvalues(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values of each row of ``p``, shape=(n_rows, m)."""
    m = p.shape[1]
    order = np.argsort(p, axis=1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=1) * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[:, ::-1], axis=1)[:, ::-1]
    q = np.empty_like(p)
    np.put_along_axis(q, order, np.minimum(ranked, 1.0), axis=1)
    return q


def _tomtom_memelite(queries: list[Motif], targets: list[Motif], thresh: float, evalue: bool) -> pd.DataFrame:
    """Run memelite on both strands of the targets and build Tomtom's table."""
    ensure_writable_cache()  # before memelite's import compiles with cache=True
    from memelite import __version__ as memelite_version
    from memelite import tomtom as memelite_tomtom

    n = len(targets)
    forward = [_pseudocounted(t) for t in targets]
    both = forward + [np.ascontiguousarray(t[::-1, ::-1]) for t in forward]
    _announce_compile()
    p, scores, offsets, overlaps, _ = memelite_tomtom([_pseudocounted(q) for q in queries], both, reverse_complement=False)

    # Each strand's p-value allowing for the two strands tried, as MEME's (and as
    # memelite's own merge: 1 - (1 - p)^2, written to keep precision below 1e-16).
    p = p * (2.0 - p)
    q = _bh_qvalues(p)
    reverse = scores[:, n:] > scores[:, :n]  # ties keep the forward strand, as MEME does
    cols = np.arange(n)[None, :] + np.where(reverse, n, 0)

    def pick(a):
        return np.take_along_axis(a, cols, axis=1)

    best_p, best_q = pick(p), pick(q)
    best_e = best_p * n
    best_off, best_ov = pick(offsets).astype(np.int64), pick(overlaps).astype(np.int64)
    keep = (best_e if evalue else best_q) <= thresh

    query_cons = [consensus(m) for m in queries]
    target_cons: dict[tuple[int, bool], str] = {}  # (target, reverse) -> consensus, for hit targets only

    def target_consensus(j: int, rev: bool) -> str:
        if (j, rev) not in target_cons:
            target_cons[j, rev] = consensus(reverse_complement(targets[j]) if rev else targets[j])
        return target_cons[j, rev]

    rows = []
    for i in range(len(queries)):
        hits = np.flatnonzero(keep[i])
        for j in hits[np.argsort(best_p[i, hits], kind="stable")]:
            rows.append(
                (
                    queries[i].id,
                    targets[j].id,
                    best_off[i, j],
                    best_p[i, j],
                    best_e[i, j],
                    best_q[i, j],
                    best_ov[i, j],
                    query_cons[i],
                    target_consensus(j, bool(reverse[i, j])),
                    "-" if reverse[i, j] else "+",
                )
            )
    table = pd.DataFrame(rows, columns=TOMTOM_COLUMNS).astype(_DTYPES) if rows else _empty_table()

    table.attrs["comments"] = [
        f"# keras-motifs tomtom: engine memelite {memelite_version}, {len(queries)} queries, {n} targets, "
        f"{'E-value' if evalue else 'q-value'} <= {thresh!r}, dist ed, min overlap 1, "
        f"motif pseudocount {MOTIF_PSEUDOCOUNT}, both strands"
    ]
    return table


# ---------------------------------------------------------------------------
# MEME suite engine
# ---------------------------------------------------------------------------


def meme_tomtom_command(
    query_path: str | os.PathLike,
    target_path: str | os.PathLike,
    thresh: float = 0.1,
    evalue: bool = True,
    min_overlap: int = 1,
    dist: str = "ed",
    tomtom_path: str = "tomtom",
) -> list[str]:
    """The argument list that runs MEME's ``tomtom`` with tsv output on stdout.

    Parameters
    ----------
    query_path, target_path : str or PathLike
        MEME motif files of the queries and the targets.
    thresh : float
        Threshold on E-value (``-evalue``) or q-value. Default is 0.1.
    evalue : bool
        Pass ``-evalue`` (threshold on E-value). Default is True.
    min_overlap : int
        ``-min-overlap``. Default is 1.
    dist : str
        ``-dist``. Default is "ed".
    tomtom_path : str
        The executable. Default is "tomtom".

    Returns
    -------
    list of str
        For a subprocess call without a shell, e.g. ``[tomtom, -no-ssc, -verbosity,
        1, -text, -min-overlap, 1, -dist, ed, -evalue, -thresh, 0.1, query, target]``.
    """
    _check_options("meme", thresh, evalue, min_overlap, dist)
    command = [str(tomtom_path), "-no-ssc", "-verbosity", "1", "-text"]
    command += ["-min-overlap", str(int(min_overlap)), "-dist", dist]
    if evalue:
        command.append("-evalue")
    command += ["-thresh", repr(float(thresh)), str(query_path), str(target_path)]
    return command


def find_meme_tomtom(tomtom_path: str = "tomtom") -> str:
    """Return the path of the MEME suite ``tomtom`` executable, or fail with a clear message.

    Parameters
    ----------
    tomtom_path : str
        A name on PATH or a path. Default is "tomtom".
    """
    executable = shutil.which(tomtom_path)
    if executable is None:
        raise KerasMotifsError(
            f"engine 'meme': MEME suite executable {tomtom_path!r} not found (not on PATH or not executable); "
            "install the MEME suite or use engine='memelite'"
        )
    return executable


def _tomtom_meme(
    queries: list[Motif],
    targets: list[Motif],
    thresh: float,
    evalue: bool,
    min_overlap: int,
    dist: str,
    tomtom_path: str,
    workdir: str | os.PathLike | None,
) -> pd.DataFrame:
    """Run the MEME suite executable on temporary MEME files and parse its output."""
    executable = find_meme_tomtom(tomtom_path)
    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="keras_motifs_tomtom_", dir=workdir) as tmp:
        query_path, target_path = Path(tmp) / "queries.meme", Path(tmp) / "targets.meme"
        write_meme(queries, query_path)
        write_meme(targets, target_path)
        command = meme_tomtom_command(query_path, target_path, thresh, evalue, min_overlap, dist, executable)
        try:
            result = subprocess.run(command, capture_output=True, text=True, check=False)
        except OSError as err:
            raise KerasMotifsError(f"engine 'meme': cannot run {executable} ({err.strerror})") from None
    if result.returncode != 0:
        message = " | ".join(result.stderr.strip().splitlines()[-3:])
        raise KerasMotifsError(f"engine 'meme': {executable} exited with status {result.returncode}: {message}")
    return _parse_tomtom_text(result.stdout, f"output of {executable}")


# ---------------------------------------------------------------------------
# The tsv file
# ---------------------------------------------------------------------------


#: The numeric columns: (type, smallest and largest value allowed, what the error says a value must be).
_NUMERIC_COLUMNS = {
    "Optimal_offset": (int, -math.inf, math.inf, "an integer"),
    "p-value": (float, 0.0, 1.0, "a number in [0, 1]"),
    "E-value": (float, 0.0, math.inf, "a finite number >= 0"),
    "q-value": (float, 0.0, 1.0, "a number in [0, 1]"),
    "Overlap": (int, -math.inf, math.inf, "an integer"),
}


def _checked_number(value, column: str, where: str) -> int | float:
    """One value of a numeric column, converted to its type; a KerasMotifsError if out of range or NaN."""
    kind, low, high, expected = _NUMERIC_COLUMNS[column]
    try:
        number = float(value)
        number = kind(number) if kind is float or number.is_integer() else None  # 9.5 is no offset
    except (TypeError, ValueError, OverflowError):
        number = None
    if number is None or not (math.isfinite(number) and low <= number <= high):
        raise KerasMotifsError(f"{where}: {column} {str(value)!r} is not {expected}")
    return number


def _checked_row(fields: Sequence, where: str) -> tuple:
    """One row of Tomtom's table from its 10 fields (text or numbers), numbers converted and checked.

    ``where`` names the row (file and line); error messages add its query and target,
    the column and the value.
    """
    where = f"{where} ({fields[0]} vs {fields[1]})"
    row = tuple(
        _checked_number(value, column, where) if column in _NUMERIC_COLUMNS else value
        for column, value in zip(TOMTOM_COLUMNS, fields)
    )
    if row[9] not in ("+", "-"):
        raise KerasMotifsError(f"{where}: Orientation must be + or -, got {row[9]!r}")
    return row


def _header_columns(line: str) -> list[str]:
    """Column names of a header line; MEME 4's ``#Query ID`` style mapped to MEME 5's."""
    return [name.strip().lstrip("#").replace(" ", "_") for name in line.rstrip("\n").split("\t")]


def _parse_tomtom_text(text: str, source: str) -> pd.DataFrame:
    """Parse Tomtom's tsv: a header, rows, then optionally a blank line and ``#`` lines."""
    lines = text.splitlines()
    start = next((k for k, line in enumerate(lines) if line.strip()), None)
    if start is None:
        raise KerasMotifsError(f"{source}: empty, expected Tomtom's header line ({' '.join(TOMTOM_COLUMNS)})")
    if _header_columns(lines[start]) != TOMTOM_COLUMNS:
        raise KerasMotifsError(
            f"{source}: line {start + 1}: not Tomtom's header; expected the columns {' '.join(TOMTOM_COLUMNS)}"
        )
    rows, comments, in_rows = [], [], True
    for k in range(start + 1, len(lines)):
        line, where = lines[k], f"{source}: line {k + 1}"
        if line.startswith("#"):
            comments.append(line.rstrip())
            in_rows = False
            continue
        if not line.strip():
            in_rows = False
            continue
        if not in_rows:
            raise KerasMotifsError(f"{where}: a table row after the end of the table (blank or # line before it)")
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) != len(TOMTOM_COLUMNS):
            raise KerasMotifsError(f"{where}: {len(fields)} tab-separated fields, expected {len(TOMTOM_COLUMNS)}")
        rows.append(_checked_row(fields, where))
    table = pd.DataFrame(rows, columns=TOMTOM_COLUMNS).astype(_DTYPES) if rows else _empty_table()
    table.attrs["comments"] = comments
    return table


def read_tomtom_tsv(path: str | os.PathLike) -> pd.DataFrame:
    """Read a Tomtom tsv file (MEME's ``tomtom.tsv`` or :func:`write_tomtom_tsv`'s).

    Parameters
    ----------
    path : str or PathLike
        The file: header line, one row per hit, then a blank line and ``#``
        comment lines (MEME's layout); a file with no rows is an empty result.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TOMTOM_COLUMNS`; ``Optimal_offset`` and ``Overlap`` int64,
        p-, E- and q-values float64, the rest strings. The ``#`` lines are in
        ``attrs["comments"]``.

    Raises
    ------
    KerasMotifsError
        Naming the file, line, query and target, column and value: a header other
        than Tomtom's, a row without 10 fields, an offset or overlap that is not an
        integer, a p- or q-value that is not a number in [0, 1], an E-value that is
        not a finite number >= 0 (NaN is neither), an Orientation other than + or -.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise KerasMotifsError(f"{path}: Tomtom table not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise KerasMotifsError(f"{path}: cannot read Tomtom table ({err})") from None
    return _parse_tomtom_text(text, str(path))


def write_tomtom_tsv(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a Tomtom table in MEME's tsv layout, atomically.

    Header, rows, a blank line, then the ``#`` lines of ``table.attrs["comments"]``
    (or one naming keras-motifs). Numbers are written with full precision, so
    :func:`read_tomtom_tsv` gives back the same values. The rows are checked as
    :func:`read_tomtom_tsv` checks them, before anything is written: an error
    names the file, the row (1-based), its query and target, the column and value.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns :data:`TOMTOM_COLUMNS`, as :func:`tomtom` returns.
    path : str or PathLike
        Output file.
    """
    path = Path(path)
    if not isinstance(table, pd.DataFrame) or list(table.columns) != TOMTOM_COLUMNS:
        got = list(table.columns) if isinstance(table, pd.DataFrame) else type(table).__name__
        raise KerasMotifsError(f"{path}: table must have exactly Tomtom's columns {TOMTOM_COLUMNS}, got {got}")
    comments = list(table.attrs.get("comments") or ["# written by keras-motifs"])
    bad = [c for c in comments if not c.startswith("#") or "\n" in c]
    if bad:
        raise KerasMotifsError(f"{path}: comment lines must start with '#' and be one line, got {bad[0]!r}")
    lines = ["\t".join(TOMTOM_COLUMNS)]
    for k, fields in enumerate(table.itertuples(index=False), 1):
        # checked numbers are Python ints and floats, whose str is the shortest round-trip text
        lines.append("\t".join(str(value) for value in _checked_row(fields, f"{path}: row {k}")))
    with atomic_file(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n\n" + "\n".join(comments) + "\n")


def load_database(db: str | os.PathLike) -> list[Motif]:
    """Target motifs for Tomtom: a JASPAR release or a MEME file.

    Parameters
    ----------
    db : str or PathLike
        A JASPAR release name that pyjaspar ships (``"JASPAR2016"``: CORE
        vertebrates, offline) or the path of a MEME motif file.

    Returns
    -------
    list of Motif
    """
    if not isinstance(db, (str, os.PathLike)):
        raise KerasMotifsError(f"database must be a JASPAR release name or a MEME file path, got {db!r}")
    path = Path(db)
    if path.exists():
        return read_meme(path)
    if isinstance(db, str) and db.upper().startswith("JASPAR") and os.sep not in db:
        return load_jaspar(db)
    raise KerasMotifsError(f"database {str(db)!r}: neither a JASPAR release (e.g. JASPAR2016) nor an existing MEME file")
