"""The MEME minimal motif format: the one reader and writer of motif files (``.meme``)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from keras_motifs.errors import KerasMotifsError
from keras_motifs.io.files import atomic_file
from keras_motifs.motifs.ppm import ALPHABET, ROW_SUM_TOLERANCE, Motif

#: Letter frequencies written when none are given.
UNIFORM_BACKGROUND = (0.25, 0.25, 0.25, 0.25)


def _check_background(background, what: str) -> np.ndarray:
    """Validate background letter frequencies (4 probabilities summing to 1)."""
    bg = np.asarray(UNIFORM_BACKGROUND if background is None else background, dtype=np.float64)
    if bg.shape != (4,) or not np.all(np.isfinite(bg)) or np.any(bg <= 0):
        raise KerasMotifsError(f"{what}: background must be 4 positive frequencies for A,C,G,T, got {background!r}")
    if abs(bg.sum() - 1.0) > ROW_SUM_TOLERANCE:
        raise KerasMotifsError(f"{what}: background frequencies sum to {bg.sum():.4f}, not 1")
    return bg


def write_meme(motifs: Sequence[Motif], path: str | os.PathLike, background=None) -> None:
    """Write motifs to a file in MEME minimal motif format, atomically.

    Probabilities are written with Python's shortest round-trip representation
    (``repr`` of the float), so :func:`read_meme` gives back equal ``Motif`` objects
    (id, name, nsites and every bit of the PPM). MEME suite tools read the file too.

    Parameters
    ----------
    motifs : sequence of Motif
        Motifs to write, in order. IDs must be unique and contain no whitespace;
        names must not start or end with whitespace or hold line breaks.
    path : str or PathLike
        Output file. Written whole or not at all.
    background : array-like, shape=(4,), optional
        Background letter frequencies of A, C, G, T for the header. Default is None
        (uniform, 0.25 each).
    """
    path = Path(path)
    motifs = list(motifs)
    bg = _check_background(background, f"{path}")
    seen = set()
    for i, motif in enumerate(motifs):
        if not isinstance(motif, Motif):
            raise KerasMotifsError(f"{path}: motifs[{i}] is a {type(motif).__name__}, not a Motif")
        if not motif.id or motif.id.split() != [motif.id]:
            raise KerasMotifsError(f"{path}: motif id {motif.id!r} must be non-empty without whitespace")
        if motif.name != motif.name.strip() or "\n" in motif.name or "\r" in motif.name:
            raise KerasMotifsError(
                f"{path}: motif {motif.id} name {motif.name!r} must not start or end with whitespace "
                "or hold line breaks"
            )
        if motif.id in seen:
            raise KerasMotifsError(f"{path}: motif id {motif.id} appears twice (MEME IDs must be unique)")
        seen.add(motif.id)
    lines = [
        "MEME version 4",
        "",
        "ALPHABET= ACGT",
        "",
        "strands: + -",
        "",
        "Background letter frequencies",
        " ".join(f"{letter} {float(f)!r}" for letter, f in zip(ALPHABET, bg)),
        "",
    ]
    for motif in motifs:
        lines.append(f"MOTIF {motif.id} {motif.name}".rstrip())
        lines.append(f"letter-probability matrix: alength= 4 w= {motif.width} nsites= {motif.nsites} E= 0")
        lines.extend(" ".join(repr(float(v)) for v in row) for row in motif.ppm)
        lines.append("")
    with atomic_file(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def _parse_keyvalues(text: str) -> dict[str, str]:
    """Parse ``alength= 4 w= 10 nsites= 20 E= 0`` (spaces after '=' optional)."""
    tokens = text.replace("=", "= ").split()
    values = {}
    for key, value in zip(tokens, tokens[1:]):
        if key.endswith("=") and not value.endswith("="):
            values[key[:-1]] = value
    return values


def _parse_int(value: str, key: str, where: str) -> int:
    """Parse an integer field of a matrix header (``w=``, ``alength=``, ``nsites=``)."""
    try:
        number = float(value)
    except ValueError:
        raise KerasMotifsError(f"{where}: {key}= {value!r} is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise KerasMotifsError(f"{where}: {key}= {value!r} must be a non-negative number")
    return int(round(number))


def _numeric_row(line: str) -> list[float] | None:
    """The numbers on a line, or None if it holds anything else."""
    try:
        return [float(tok) for tok in line.split()]
    except ValueError:
        return None


def _check_probabilities(row: list[float], tokens: list[str], motif_id: str, where: str) -> None:
    """Fail unless a matrix row holds 4 probabilities in [0, 1] summing to 1 (within :data:`ROW_SUM_TOLERANCE`)."""
    if len(row) != 4:
        raise KerasMotifsError(f"{where}: motif {motif_id}: expected 4 probabilities (A C G T), got {len(row)} values")
    bad = [token for token, value in zip(tokens, row) if not (math.isfinite(value) and 0.0 <= value <= 1.0)]
    if bad:
        raise KerasMotifsError(f"{where}: motif {motif_id}: probability {bad[0]!r} is not a number in [0, 1]")
    total = sum(row)
    if abs(total - 1.0) > ROW_SUM_TOLERANCE:
        raise KerasMotifsError(
            f"{where}: motif {motif_id}: row sums to {total:.4f}, not 1 (rows must be probabilities)"
        )


def _read_lines(path: Path) -> list[str]:
    """The lines of a MEME file, failing with the file's name if it cannot be read."""
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        raise KerasMotifsError(f"{path}: MEME file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise KerasMotifsError(f"{path}: cannot read MEME file ({err})") from None


def _read_rows(lines: list[str], i: int, width: int | None, motif_id: str, path: Path) -> tuple[list[list[float]], int]:
    """Read the probability rows of a matrix from ``lines[i]`` on; return them and the index after the last.

    With ``width`` (``w=``) known, exactly that many rows are read (blank lines
    skipped); without it, rows are read up to the first blank or non-numeric line
    after at least one row.
    """
    rows = []
    while i < len(lines) and (width is None or len(rows) < width):
        row_line = lines[i].strip()
        row_where = f"{path}: line {i + 1}"
        if not row_line:
            if width is None and rows:
                break
            i += 1
            continue
        row = _numeric_row(row_line)
        if row is None:
            if width is None and rows:
                break
            raise KerasMotifsError(
                f"{row_where}: motif {motif_id} has w= {width} but row {len(rows) + 1} is not "
                f"4 probabilities: {row_line[:60]!r}"
                if width is not None
                else f"{row_where}: expected 4 probabilities for motif {motif_id}, got {row_line[:60]!r}"
            )
        _check_probabilities(row, row_line.split(), motif_id, row_where)
        rows.append(row)
        i += 1
    return rows, i


def _check_row_count(
    rows: list[list[float]], width: int | None, lines: list[str], i: int, motif_id: str, where: str, path: Path
) -> None:
    """Fail if a matrix has no rows, fewer than ``w=``, or a further row of numbers right after ``w=`` rows."""
    if not rows or (width is not None and len(rows) < width):
        raise KerasMotifsError(
            f"{where}: motif {motif_id} has w= {width} but only {len(rows)} rows follow"
            if width is not None
            else f"{where}: motif {motif_id} has no matrix rows"
        )
    # A further row of 4 numbers right after the last one means w= is too small.
    j = i
    while j < len(lines) and not lines[j].strip():
        j += 1
    extra = _numeric_row(lines[j]) if j < len(lines) else None
    if width is not None and extra:
        raise KerasMotifsError(f"{path}: line {j + 1}: motif {motif_id} has more rows than w= {width}")


def _read_matrix(lines: list[str], i: int, header: str, pending: tuple[int, str, str], path: Path) -> tuple[Motif, int]:
    """Read the matrix whose ``letter-probability matrix`` line ``header`` is ``lines[i - 1]``.

    Returns the motif of the ``MOTIF`` line ``pending`` (line number, id, name) and
    the index of the first line after its matrix.
    """
    where = f"{path}: line {i}"
    values = _parse_keyvalues(header.split(":", 1)[1] if ":" in header else "")
    alength = _parse_int(values.get("alength", "4"), "alength", where)
    if alength != 4:
        raise KerasMotifsError(f"{where}: alength= {alength}, but only 4 letters (A,C,G,T) are supported")
    width = _parse_int(values["w"], "w", where) if "w" in values else None
    nsites = _parse_int(values.get("nsites", "20"), "nsites", where)
    rows, i = _read_rows(lines, i, width, pending[1], path)
    _check_row_count(rows, width, lines, i, pending[1], where, path)
    motif = Motif(id=pending[1], ppm=np.array(rows, dtype=np.float64), name=pending[2], nsites=nsites)
    return motif, i


def read_meme(path: str | os.PathLike, allow_empty: bool = False) -> list[Motif]:
    """Read motifs from a MEME minimal format file (also MEME's and JASPAR's MEME files).

    Our own parser rather than Biopython's, which turns probabilities into counts
    (losing exactness) and does not say where a file is malformed.

    Parameters
    ----------
    path : str or PathLike
        A MEME file: a ``MEME version`` line, optional ``ALPHABET=``, ``strands:`` and
        ``Background letter frequencies`` sections, then per motif ``MOTIF id [name]``
        and ``letter-probability matrix: alength= 4 w= W nsites= N E= x`` followed by
        W rows of 4 probabilities (A, C, G, T). Other lines between motifs (``URL``,
        MEME's log-odds matrices and text) are skipped.
    allow_empty : bool
        Accept a file with the header and no motif, and return an empty list: the
        MEME file of a layer whose filters all never activated. Default is False
        (a file without motifs is an error).

    Returns
    -------
    list of Motif
        In file order; ``nsites`` defaults to 20 when the matrix line has none.

    Raises
    ------
    KerasMotifsError
        Naming the file and line (and the motif, for a matrix): missing ``MEME
        version`` header, an alphabet other than ACGT, ``alength`` other than 4,
        fewer or more rows than ``w=``, a row that is not 4 numbers, a probability
        that is not a number in [0, 1] (NaN is not), a row not summing to 1 (within
        :data:`ROW_SUM_TOLERANCE`), a MOTIF without a matrix; no motif at all,
        unless ``allow_empty``.
    """
    path = Path(path)
    lines = _read_lines(path)
    motifs: list[Motif] = []
    have_header = False
    pending: tuple[int, str, str] | None = None  # (line number, id, name) of a MOTIF line
    i = 0
    while i < len(lines):
        lineno, line = i + 1, lines[i].strip()
        where = f"{path}: line {lineno}"
        i += 1
        if line.startswith("MEME version"):
            have_header = True
            continue
        if line.startswith(("ALPHABET", "MOTIF", "letter-probability matrix")) and not have_header:
            raise KerasMotifsError(f"{where}: no 'MEME version' line before this one (not a MEME motif file?)")
        if line.startswith("ALPHABET"):
            alphabet = line.split("=", 1)[1].strip() if "=" in line else line
            if alphabet != ALPHABET:
                raise KerasMotifsError(f"{where}: alphabet {alphabet!r} is not supported, only ALPHABET= ACGT (DNA)")
        elif line.startswith("MOTIF"):
            if pending is not None:
                raise KerasMotifsError(
                    f"{path}: line {pending[0]}: MOTIF {pending[1]} has no letter-probability matrix")
            fields = line.split(None, 2)
            if len(fields) < 2:
                raise KerasMotifsError(f"{where}: MOTIF line without a motif id")
            pending = (lineno, fields[1], fields[2].strip() if len(fields) > 2 else "")
        elif line.startswith("letter-probability matrix"):
            if pending is None:
                raise KerasMotifsError(f"{where}: letter-probability matrix without a MOTIF line before it")
            motif, i = _read_matrix(lines, i, line, pending, path)
            motifs.append(motif)
            pending = None
    if not have_header:
        raise KerasMotifsError(f"{path}: line 1: no 'MEME version' line (not a MEME motif file?)")
    if pending is not None:
        raise KerasMotifsError(f"{path}: line {pending[0]}: MOTIF {pending[1]} has no letter-probability matrix")
    if not motifs and not allow_empty:
        raise KerasMotifsError(f"{path}: no motifs (a MEME header but no MOTIF with a letter-probability matrix)")
    return motifs
