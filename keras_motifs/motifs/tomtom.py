"""Tomtom: compare motifs with a database, as MEME suite's ``tomtom`` does.

One function, :func:`tomtom`, and one output table: a DataFrame with exactly the
columns of Tomtom's tsv (:data:`keras_motifs.motifs.tomtom_table.TOMTOM_COLUMNS`), whichever engine computed it.

- ``engine="memelite"`` (default): memesuite-lite's in-process reimplementation
  (numba). MEME's conventions are applied around it so both engines agree: the
  0.1 motif pseudocount on query and target columns, both strands with the
  forward strand kept on ties, E = p x number of targets, q-values per query.
- ``engine="meme"``: the MEME suite ``tomtom`` executable, run with an argument
  list; its text output is parsed by :func:`keras_motifs.motifs.tomtom_table.parse_tomtom_text`.

memelite compiles its kernels the first time they run in a fresh install (about
100 s) and caches them on disk; the first call in a process logs a line on the
``keras_motifs`` logger when that cache is cold. A read-only cache (an image run
read-only) is used through a writable copy (:mod:`keras_motifs.motifs.numba_cache`).
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from keras_motifs.defaults import ENGINE, ENGINES, EVALUE_THRESHOLD
from keras_motifs.errors import KerasMotifsError, check_integer
from keras_motifs.motifs.meme import write_meme
from keras_motifs.motifs.numba_cache import ensure_writable_cache
from keras_motifs.motifs.ppm import Motif, consensus, reverse_complement
from keras_motifs.motifs.tomtom_table import DTYPES, TOMTOM_COLUMNS, empty_table, parse_tomtom_text

logger = logging.getLogger("keras_motifs")

#: Distance measures of MEME's tomtom ``-dist``; memelite implements only ``ed``.
MEME_DISTANCES = ("allr", "ed", "kullback", "pearson", "sandelin", "blic1", "blic5", "llr1", "llr5")
#: MEME's default ``-motif-pseudo``: column -> (p * nsites + 0.1 * bg) / (nsites + 0.1).
MOTIF_PSEUDOCOUNT = 0.1
_UNIFORM = np.full(4, 0.25)

_compile_announced = False


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
    check_integer(min_overlap, "min_overlap", types=(int, np.integer), requirement="an integer >= 1")
    if dist not in MEME_DISTANCES:
        raise KerasMotifsError(f"dist must be one of {', '.join(MEME_DISTANCES)}, got {dist!r}")
    if engine == "memelite" and dist != "ed":
        raise KerasMotifsError(f"engine 'memelite' computes Euclidean distance only (dist='ed'), got dist={dist!r}")
    if engine == "memelite" and min_overlap != 1:
        raise KerasMotifsError(f"engine 'memelite' has no minimum overlap option (min_overlap=1), got {min_overlap}")


def tomtom(
    queries: Sequence[Motif],
    targets: Sequence[Motif],
    engine: str = ENGINE,
    thresh: float = EVALUE_THRESHOLD,
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
        return empty_table()  # e.g. a layer whose filters never activated
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
    p, scores, offsets, overlaps, _ = memelite_tomtom([_pseudocounted(q) for q in queries], both,
                                                      reverse_complement=False)

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
    table = pd.DataFrame(rows, columns=TOMTOM_COLUMNS).astype(DTYPES) if rows else empty_table()

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
    thresh: float = EVALUE_THRESHOLD,
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
    return parse_tomtom_text(result.stdout, f"output of {executable}")
