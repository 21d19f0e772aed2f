"""Tomtom's tsv table: its columns, and its one reader and writer (both check every value).

The same table whichever engine computed it (:func:`keras_motifs.motifs.tomtom.tomtom`).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from keras_motifs.errors import KerasMotifsError
from keras_motifs.io.files import atomic_file

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
DTYPES = {
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


def empty_table() -> pd.DataFrame:
    """An empty Tomtom table with the proper column dtypes."""
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in DTYPES.items()})


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


def parse_tomtom_text(text: str, source: str) -> pd.DataFrame:
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
    table = pd.DataFrame(rows, columns=TOMTOM_COLUMNS).astype(DTYPES) if rows else empty_table()
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
    return parse_tomtom_text(text, str(path))


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
