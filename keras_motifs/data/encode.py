"""Users' own labelled sequences: FASTA + a labels table -> the keras-motifs dataset layout.

Inputs
------
FASTA
    One record per sequence; the record ID is the first word of the header line
    (``>chr1:100-300 peak 7`` has ID ``chr1:100-300``). IDs must be distinct. Letters
    may be upper or lower case. A, C, G, T are one-hot; the IUPAC ambiguity codes
    R Y S W K M B D H V N are encoded according to ``ambiguous``:

    - ``"uniform"``: spread evenly over the bases they stand for: N -> 0.25 each,
      R (A or G) -> A 0.5, G 0.5, B (C, G or T) -> 1/3 each, and so on;
    - ``"zeros"``: an all-zero column, as for padding.

    Any other character (U, ``-``, ``*``, digits, ...) is an error naming the record
    and the 1-based position.
Labels table (tab-separated, one documented format)
    A header row, then one row per sequence: the first column holds the record ID,
    each further column one class, with 0 or 1. The header names the classes (its
    first cell, e.g. ``id``, is ignored)::

        id      CTCF    SP1
        seq1    1       0
        seq2    0       1

    Every FASTA ID must have a row and every row a FASTA record.
Lengths
    ``length_mode="error"`` (default) refuses sequences of unequal length;
    ``"pad"`` centre-pads shorter sequences with all-zero columns to ``length``
    (default: the longest); ``"crop"`` keeps the centre ``length`` positions of
    longer ones (default: the shortest). An odd difference puts the extra column
    at the right end.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from Bio.SeqIO.FastaIO import SimpleFastaParser

from keras_motifs.data.dataset import DEFAULT_SPLIT, SPLITS, Dataset, check_split, split_bounds, split_rows
from keras_motifs.data.writer import write_dataset
from keras_motifs.defaults import JASPAR_RELEASE
from keras_motifs.errors import KerasMotifsError, check_integer
from keras_motifs.motifs.jaspar import class_motif_ids_for

#: IUPAC nucleotide codes and the bases (of A, C, G, T) each stands for.
IUPAC_CODES: dict[str, str] = {
    "A": "A", "C": "C", "G": "G", "T": "T",
    "R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT", "M": "AC",
    "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}  # fmt: skip
_AMBIGUITY_CODES = "".join(code for code, bases in IUPAC_CODES.items() if len(bases) > 1)
AMBIGUOUS_MODES = ("uniform", "zeros")
LENGTH_MODES = ("error", "pad", "crop")


def encode_fasta(
    fasta: str | os.PathLike | Mapping[str, str | os.PathLike],
    labels: str | os.PathLike,
    out: str | os.PathLike,
    split: Sequence[float] = DEFAULT_SPLIT,
    seed: int = 0,
    ambiguous: str = "uniform",
    length_mode: str = "error",
    length: int | None = None,
    class_motif_ids: Mapping[str, Sequence[str]] | None = None,
    jaspar_release: str = JASPAR_RELEASE,
) -> dict:
    """Encode labelled FASTA sequences into a keras-motifs dataset file.

    The input formats and encodings are described in the module docstring.

    Parameters
    ----------
    fasta : str, PathLike or mapping of str to path
        One FASTA file, split at random into train/valid/test by ``split``; or a
        mapping ``{"train": path, "valid": path, "test": path}`` that fixes the split
        (records keep their file order).
    labels : str or PathLike
        Tab-separated labels table covering every record of every FASTA file.
    out : str or PathLike
        Output ``.h5`` file, written atomically: ``x_*`` float32, shape=(n, length, 4),
        columns A, C, G, T; ``y_*`` uint8, shape=(n, num_classes); source "fasta".
    split : sequence of float
        Fractions of train, valid and test after a random permutation; used with a
        single FASTA file only. Default is (0.7, 0.1, 0.2).
    seed : int
        Seed of the permutation. Default is 0.
    ambiguous : str
        Encoding of IUPAC ambiguity codes: "uniform" or "zeros". Default is "uniform".
    length_mode : str
        "error", "pad" or "crop" when sequences differ in length. Default is "error".
    length : int, optional
        Target length for "pad" and "crop". Default is the longest sequence for
        "pad", the shortest for "crop"; with "error" it must equal every length.
    class_motif_ids : mapping of str to sequence of str, optional
        Class name -> JASPAR IDs that count as its motif (see
        :func:`keras_motifs.motifs.jaspar.class_motif_ids_for`). Default is the paper's ID
        sets for paper TFs.
    jaspar_release : str
        JASPAR release the motif IDs refer to. Default is "JASPAR2016".

    Returns
    -------
    dict
        ``path``, ``length``, ``class_names``, ``num_sequences`` (split -> n) and
        ``positives`` (split -> class name -> positive sequences).
    """
    _check_options(ambiguous, length_mode, length)
    files = _fasta_files(fasta, split)
    labels = Path(labels)

    class_names, table = read_labels(labels)
    motif_ids = class_motif_ids_for(class_names, class_motif_ids)
    records = _read_records(files)
    all_records = [record for name in files for record in records[name]]
    _check_ids({record_id for record_id, _ in all_records}, set(table), labels, list(files.values()))
    target = _target_length(all_records, length_mode, length, list(files.values()))
    lookup = _encoding_table(ambiguous)
    if "all" in files:
        x, y = _encode_random_split(all_records, table, files["all"], lookup, target, split, seed)
    else:
        x, y = _encode_file_splits(records, table, files, lookup, target, len(class_names))

    parameters = {
        "fasta": {name: str(path) for name, path in files.items()},
        "labels": str(labels),
        "split": list(split) if "all" in files else "files",
        "seed": seed,
        "ambiguous": ambiguous,
        "length_mode": length_mode,
        "length": target,
    }
    dataset = Dataset(
        x=x,
        y=y,
        class_names=class_names,
        class_motif_ids=motif_ids,
        source="fasta",
        parameters=parameters,
        jaspar_release=jaspar_release,
    )
    write_dataset(out, dataset)
    return {
        "path": str(out),
        "length": target,
        "class_names": class_names,
        "num_sequences": {name: len(x[name]) for name in SPLITS},
        "positives": {name: dict(zip(class_names, y[name].sum(axis=0).tolist())) for name in SPLITS},
    }


def _check_options(ambiguous: str, length_mode: str, length: int | None) -> None:
    """Refuse an unknown ``ambiguous`` or ``length_mode`` and a ``length`` that is not a positive integer."""
    if ambiguous not in AMBIGUOUS_MODES:
        raise KerasMotifsError(f"ambiguous must be one of {', '.join(AMBIGUOUS_MODES)}, got {ambiguous!r}")
    if length_mode not in LENGTH_MODES:
        raise KerasMotifsError(f"length_mode must be one of {', '.join(LENGTH_MODES)}, got {length_mode!r}")
    if length is not None:
        check_integer(length, "length", types=(int, np.integer))


def _fasta_files(fasta: str | os.PathLike | Mapping[str, str | os.PathLike], split: Sequence[float]) -> dict[str, Path]:
    """The FASTA files by split name, or one file under ``"all"`` to be split at random by ``split``."""
    if isinstance(fasta, Mapping):
        if set(fasta) != set(SPLITS):
            raise KerasMotifsError(f"fasta: give one file for each of train, valid, test, got {sorted(fasta)}")
        return {split_name: Path(fasta[split_name]) for split_name in SPLITS}
    check_split(split)
    return {"all": Path(fasta)}


def _read_records(files: dict[str, Path]) -> dict[str, list[tuple[str, str]]]:
    """The (ID, sequence) records of each file, refusing an ID that appears twice in or across files."""
    records = {name: _read_fasta(path) for name, path in files.items()}
    seen: dict[str, Path] = {}
    for name, path in files.items():
        for record_id, _ in records[name]:
            if record_id in seen:
                raise KerasMotifsError(f"{path}: record {record_id!r} appears twice (also in {seen[record_id]})")
            seen[record_id] = path
    return records


def _encode_random_split(
    records: list[tuple[str, str]],
    table: dict[str, list[int]],
    path: Path,
    lookup: np.ndarray,
    target: int,
    split: Sequence[float],
    seed: int,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Encode the records of one file and split them at random into train, valid, test: ``x``, ``y`` per split."""
    encoded = np.stack([_encode(seq, record_id, path, lookup, target) for record_id, seq in records])
    label_rows = np.array([table[record_id] for record_id, _ in records], dtype=np.uint8)
    num = len(records)
    bounds = split_bounds(num, split)
    if any(hi <= lo for lo, hi in bounds):
        raise KerasMotifsError(
            f"{path}: {num} sequences are too few to fill train, valid and test with split {list(split)}"
        )
    x, y = {}, {}
    for name, rows in zip(SPLITS, split_rows(num, split, np.random.default_rng(seed))):
        x[name], y[name] = encoded[rows], label_rows[rows]
    return x, y


def _encode_file_splits(
    records: dict[str, list[tuple[str, str]]],
    table: dict[str, list[int]],
    files: dict[str, Path],
    lookup: np.ndarray,
    target: int,
    num_classes: int,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Encode the records of one file per split, in file order: ``x``, ``y`` per split."""
    x, y = {}, {}
    for name in SPLITS:
        x[name] = np.stack([_encode(seq, rid, files[name], lookup, target) for rid, seq in records[name]])
        y[name] = np.array([table[rid] for rid, _ in records[name]], dtype=np.uint8).reshape(-1, num_classes)
    return x, y


def read_labels(path: str | os.PathLike) -> tuple[list[str], dict[str, list[int]]]:
    """Read a tab-separated labels table (format in the module docstring).

    Parameters
    ----------
    path : str or PathLike
        The table.

    Returns
    -------
    class_names : list of str
        From the header, in column order.
    table : dict of str to list of int
        Record ID -> 0/1 per class.
    """
    path = Path(path)
    try:
        with open(path, newline="") as handle:
            rows = [row for row in csv.reader(handle, delimiter="\t") if any(cell.strip() for cell in row)]
    except FileNotFoundError:
        raise KerasMotifsError(f"{path}: labels file not found") from None
    except UnicodeDecodeError:
        raise KerasMotifsError(f"{path}: labels file is not text") from None
    if len(rows) < 2:
        raise KerasMotifsError(f"{path}: expected a header row (id, class names) and one row per sequence")
    header = [cell.strip() for cell in rows[0]]
    class_names = header[1:]
    if not class_names:
        raise KerasMotifsError(f"{path}: the header has no class columns after the ID column (is it tab-separated?)")
    if any(not name for name in class_names) or len(set(class_names)) != len(class_names):
        raise KerasMotifsError(f"{path}: class names in the header must be distinct and non-empty, got {class_names}")
    table: dict[str, list[int]] = {}
    for line, row in enumerate(rows[1:], start=2):
        cells = [cell.strip() for cell in row]
        if len(cells) != len(header):
            raise KerasMotifsError(f"{path}: row {line} has {len(cells)} columns, the header {len(header)}")
        record_id = cells[0]
        if record_id in table:
            raise KerasMotifsError(f"{path}: sequence ID {record_id!r} appears twice (row {line})")
        bad = [value for value in cells[1:] if value not in ("0", "1")]
        if bad:
            raise KerasMotifsError(f"{path}: row {line} ({record_id}) has label {bad[0]!r}; labels must be 0 or 1")
        table[record_id] = [int(value) for value in cells[1:]]
    return class_names, table


def _read_fasta(path: Path) -> list[tuple[str, str]]:
    """Read (ID, sequence) pairs of a FASTA file with Biopython's parser (ID: first word of the title)."""
    if not path.is_file():
        raise KerasMotifsError(f"{path}: FASTA file not found")
    try:
        with open(path, encoding="utf-8") as handle:
            records = [(title.split(None, 1)[0] if title.strip() else "", seq)
                       for title, seq in SimpleFastaParser(handle)]
    except (ValueError, UnicodeDecodeError) as err:
        raise KerasMotifsError(f"{path}: not a readable FASTA file ({err})") from None
    if not records:
        raise KerasMotifsError(f"{path}: no FASTA records (lines starting with '>')")
    for record_id, seq in records:
        if not record_id:
            raise KerasMotifsError(f"{path}: a record has an empty header line (no ID after '>')")
        if not seq:
            raise KerasMotifsError(f"{path}: record {record_id!r} has an empty sequence")
    return records


def _check_ids(fasta_ids: set[str], label_ids: set[str], labels: Path, fastas: list[Path]) -> None:
    """Refuse FASTA records without labels and labels without records."""
    for missing, where, source in (
        (fasta_ids - label_ids, str(labels), "FASTA records have no row"),
        (label_ids - fasta_ids, ", ".join(map(str, fastas)), "labelled IDs have no FASTA record"),
    ):
        if missing:
            shown = ", ".join(sorted(missing)[:5]) + (", ..." if len(missing) > 5 else "")
            raise KerasMotifsError(f"{where}: {len(missing)} {source} here: {shown}")


def _target_length(records: list[tuple[str, str]], mode: str, length: int | None, files: list[Path]) -> int:
    """Length every sequence is brought to, refusing those that cannot be."""
    lengths = np.array([len(seq) for _, seq in records])
    where = ", ".join(map(str, files))
    if mode == "error":
        target = length if length is not None else int(lengths[0])
        odd = np.flatnonzero(lengths != target)
        if odd.size:
            record_id = records[odd[0]][0]
            raise KerasMotifsError(
                f"{where}: record {record_id!r} has length {lengths[odd[0]]}, expected {target} "
                f"(lengths range from {lengths.min()} to {lengths.max()}); choose length_mode 'pad' or 'crop'"
            )
        return target
    if mode == "pad":
        target = length if length is not None else int(lengths.max())
        odd = np.flatnonzero(lengths > target)
        problem = "longer than the pad length"
    else:
        target = length if length is not None else int(lengths.min())
        odd = np.flatnonzero(lengths < target)
        problem = "shorter than the crop length"
    if odd.size:
        record_id = records[odd[0]][0]
        raise KerasMotifsError(f"{where}: record {record_id!r} of length {lengths[odd[0]]} is {problem} {target}")
    return target


def _encoding_table(ambiguous: str) -> np.ndarray:
    """Rows of a (128, 4) float32 table: the A, C, G, T column values of each ASCII code, NaN if invalid."""
    table = np.full((128, 4), np.nan, dtype=np.float32)
    for code, bases in IUPAC_CODES.items():
        row = np.zeros(4, dtype=np.float32)
        if len(bases) == 1 or ambiguous == "uniform":
            for base in bases:
                row["ACGT".index(base)] = 1.0 / len(bases)
        table[ord(code)] = table[ord(code.lower())] = row
    return table


def _encode(seq: str, record_id: str, path: Path, table: np.ndarray, target: int) -> np.ndarray:
    """One-hot (target, 4) of one sequence, centre-padded or cropped to ``target``."""
    codes = np.frombuffer(seq.encode("utf-32-le"), dtype="<u4")
    invalid = codes >= len(table)
    invalid[~invalid] = np.isnan(table[codes[~invalid], 0])
    if invalid.any():
        position = int(np.argmax(invalid))
        raise KerasMotifsError(
            f"{path}: record {record_id!r} has {seq[position]!r} at position {position + 1}, "
            f"which is not a nucleotide (A, C, G, T or IUPAC {_AMBIGUITY_CODES})"
        )
    one_hot = table[codes]
    if len(seq) > target:
        start = (len(seq) - target) // 2
        return one_hot[start : start + target]
    padded = np.zeros((target, 4), dtype=np.float32)
    start = (target - len(seq)) // 2
    padded[start : start + len(seq)] = one_hot
    return padded
