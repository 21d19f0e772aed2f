"""The readers of the HDF5 dataset layout.

Both :func:`load_dataset` and :func:`read_class_motif_ids` first call :func:`check_dataset`,
the one check at the door of every command that reads a dataset.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import h5py
import numpy as np

from keras_motifs.data.dataset import GROUND_TRUTH_FIELDS, SPLITS, Dataset
from keras_motifs.defaults import JASPAR_RELEASE
from keras_motifs.errors import KerasMotifsError

#: Bytes of ``x`` read at a time by :func:`check_dataset` (its memory bound).
CHECK_CHUNK_BYTES = 32 * 2**20
#: How far a position of fractions (an ambiguous base) may sum from 1.
_SUM_TOLERANCE = 1e-3
#: Files (path, inode, size, modification time, splits whose values were checked) that passed
#: :func:`check_dataset` (or the values :func:`load_dataset` read) in this process.
_checked: set[tuple[str, int, int, int, tuple[str, ...]]] = set()


def _check_key(path: Path, splits: Sequence[str]) -> tuple[str, int, int, int, tuple[str, ...]]:
    """What identifies a file's version in :data:`_checked`."""
    stat = path.stat()
    return str(path.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns, tuple(splits)


def check_dataset(path: str | os.PathLike, splits: Sequence[str] = SPLITS) -> None:
    """Check a dataset file at the door: layout, types, values and attributes.

    Every reader of the dataset layout calls this first, so that bad data fails with
    a message instead of training on noise. Checked: the keys of ``docs/design.md``;
    ``x_*`` numeric ``(N, L, 4)`` with one ``L``, every position one-hot or all zero
    (a padded or unknown base), or, stored as floats, fractions in [0, 1] summing to 1
    (an ambiguous base spread over the bases it stands for, ``encode --ambiguous
    uniform``); ``y_*`` numeric, one column per class name, every label 0 or 1; every
    split non-empty; the JSON attributes parseable. Values are read in chunks of
    :data:`CHECK_CHUNK_BYTES`, so memory stays bounded whatever the file's size.
    A file that passed is not read again by the same process until it changes.

    Parameters
    ----------
    path : str or PathLike
        The ``.h5`` file.
    splits : sequence of str
        Whose values to check; the layout and attributes are checked whatever they
        are. Default is all three (``()``: the layout only, no array is read).

    Raises
    ------
    KerasMotifsError
        Naming the file, the array (split) and the first offending sequence.
    """
    path = Path(path)
    try:
        key = _check_key(path, splits)
    except FileNotFoundError:
        raise KerasMotifsError(f"{path}: dataset file not found") from None
    if not path.is_file():
        raise KerasMotifsError(f"{path}: is a folder, not a dataset file")
    if key in _checked or (*key[:-1], SPLITS) in _checked:
        return
    try:
        h5 = h5py.File(path, "r")
    except OSError:
        raise KerasMotifsError(f"{path}: not an HDF5 file") from None
    with h5:
        class_names = _check_layout(h5, path)
        _read_attributes(h5, path)
        for split in splits:
            _check_sequences(h5[f"x_{split}"], f"{path}: x_{split}")
            _check_labels(h5[f"y_{split}"], class_names, f"{path}: y_{split}")
    _checked.add(key)


def _check_layout(h5: h5py.File, path: Path) -> list[str]:
    """Check keys, shapes and types without reading the arrays; return the class names."""
    required = [f"{kind}_{split}" for split in SPLITS for kind in ("x", "y")] + ["class_names"]
    missing = [key for key in required if not isinstance(h5.get(key), h5py.Dataset)]
    if missing:
        raise KerasMotifsError(f"{path}: not a keras-motifs dataset, missing keys {', '.join(missing)}")
    names = h5["class_names"]
    if names.ndim != 1 or names.dtype.kind not in "SOU" or not len(names):
        raise KerasMotifsError(f"{path}: class_names must be a non-empty list of strings")
    class_names = _class_names(names[...])
    if len(set(class_names)) != len(class_names):
        raise KerasMotifsError(f"{path}: class_names repeat a name ({', '.join(class_names)})")
    lengths = set()
    for split in SPLITS:
        x, y = h5[f"x_{split}"], h5[f"y_{split}"]
        for name, array, ndim in ((f"x_{split}", x, 3), (f"y_{split}", y, 2)):
            if array.dtype.kind not in "biuf":
                raise KerasMotifsError(f"{path}: {name} stores {array.dtype} values, expected numbers (uint8 or float)")
            if array.ndim != ndim:
                raise KerasMotifsError(f"{path}: {name} has shape {array.shape}, expected {ndim} dimensions")
        if x.shape[2] != 4:
            raise KerasMotifsError(f"{path}: x_{split} has shape {x.shape}, expected (N, length, 4)")
        if not x.shape[0]:
            raise KerasMotifsError(f"{path}: x_{split} holds no sequences; every split needs at least one")
        if y.shape[0] != x.shape[0]:
            raise KerasMotifsError(f"{path}: y_{split} has {y.shape[0]} rows but x_{split} {x.shape[0]} sequences")
        if y.shape[1] != len(class_names):
            raise KerasMotifsError(
                f"{path}: y_{split} has {y.shape[1]} label columns but there are {len(class_names)} class names"
            )
        lengths.add(x.shape[1])
    if len(lengths) != 1:
        raise KerasMotifsError(f"{path}: splits have different sequence lengths {sorted(lengths)}")
    return class_names


def _chunks(array: h5py.Dataset | np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (first row, rows) of an HDF5 (or numpy) array, about :data:`CHECK_CHUNK_BYTES` at a time."""
    row_bytes = max(1, int(np.prod(array.shape[1:])) * array.dtype.itemsize)
    rows = max(1, CHECK_CHUNK_BYTES // row_bytes)
    stored = getattr(array, "chunks", None)
    if stored and stored[0] <= rows:  # whole HDF5 chunks, each decompressed once
        rows -= rows % stored[0]
    for start in range(0, array.shape[0], rows):
        yield start, array[start:start + rows]


def _check_sequences(x: h5py.Dataset, where: str) -> None:
    """Every position one-hot or all zero; stored as floats, fractions summing to 1 also pass."""
    for start, chunk in _chunks(x):
        if chunk.dtype == np.uint8:
            # Four uint8 columns read as one uint32: one-hot or zero iff no byte exceeds 1
            # and at most one bit is set.
            word = np.ascontiguousarray(chunk).view(np.uint32)[..., 0]
            bad = ((word & 0xFEFEFEFE) != 0) | ((word & (word - 1)) != 0)
            problem = "not one-hot"
        elif chunk.dtype.kind in "biu":
            bad = (chunk > 1).any(axis=2) | (chunk < 0).any(axis=2) | (chunk.sum(axis=2) > 1)
            problem = "not one-hot"
        else:
            finite = np.isfinite(chunk).all(axis=2)
            total = chunk.sum(axis=2, where=np.isfinite(chunk))
            in_range = ((chunk >= 0) & (chunk <= 1)).all(axis=2)
            sums_ok = (np.abs(total - 1) <= _SUM_TOLERANCE) | (total == 0)
            bad = ~(finite & in_range & sums_ok)
            problem = "not a finite one-hot row or fractions in [0, 1] summing to 1"
        if bad.any():
            sequence, position = np.argwhere(bad)[0]
            values = ", ".join(f"{v:g}" for v in chunk[sequence, position])
            raise KerasMotifsError(
                f"{where}[{start + sequence}], position {position}: {problem} ({values}); "
                "expected one-hot sequences (columns A, C, G, T)"
            )


def _check_labels(y: h5py.Dataset, class_names: list[str], where: str) -> None:
    """Every label 0 or 1."""
    for start, chunk in _chunks(y):
        bad = (chunk != 0) & (chunk != 1)  # NaN is neither
        if bad.any():
            row, column = np.argwhere(bad)[0]
            raise KerasMotifsError(
                f"{where}[{start + row}]: label {chunk[row, column]:g} for class {class_names[column]!r}; "
                "labels must be 0 or 1"
            )


def _class_names(stored: np.ndarray) -> list[str]:
    """Class names as str, whether HDF5 returned bytes or str."""
    return [name.decode() if isinstance(name, bytes) else str(name) for name in stored]


def _read_attributes(h5: h5py.File, path: Path) -> dict:
    """The root attributes, JSON ones parsed and checked."""
    attrs = dict(h5.attrs)
    parsed = {}
    for name, default in (("parameters", "{}"), ("class_motif_ids", "{}")):
        text = attrs.get(name, default)
        try:
            parsed[name] = json.loads(text)
        except (TypeError, json.JSONDecodeError) as err:
            reason = err.msg if isinstance(err, json.JSONDecodeError) else f"a {type(text).__name__}"
            raise KerasMotifsError(f"{path}: attribute {name} is not valid JSON ({reason})") from None
        if not isinstance(parsed[name], dict):
            raise KerasMotifsError(f"{path}: attribute {name} is not a JSON object")
    for tf, ids in parsed["class_motif_ids"].items():
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise KerasMotifsError(
                f"{path}: attribute class_motif_ids maps {tf!r} to {ids!r}, expected a list of JASPAR IDs"
            )
    for name, default in (("source", "unknown"), ("jaspar_release", JASPAR_RELEASE)):
        value = attrs.get(name, default)
        parsed[name] = value.decode() if isinstance(value, bytes) else value
        if not isinstance(parsed[name], str):
            raise KerasMotifsError(f"{path}: attribute {name} must be a string, got {parsed[name]!r}")
    return parsed


def load_dataset(path: str | os.PathLike, splits: tuple[str, ...] = SPLITS) -> Dataset:
    """Read a dataset file written by :func:`write_dataset`, checked by :func:`check_dataset`.

    Parameters
    ----------
    path : str or PathLike
        The ``.h5`` file.
    splits : tuple of str
        Which splits to load into memory; the others are read as empty arrays of
        the right shape. Default is all three.

    Returns
    -------
    Dataset
        Sequences keep their stored type: uint8 one-hot (4 times smaller than
        float32; Keras casts each batch to the model's input type) or float32.
    """
    path = Path(path)
    check_dataset(path, splits=())
    loaded = tuple(split for split in SPLITS if split in splits)
    file_key = _check_key(path, loaded)
    # Values that passed already (e.g. run's check of every value before its runs) are not checked again.
    values_checked = file_key in _checked or (*file_key[:-1], SPLITS) in _checked
    with h5py.File(path, "r") as h5:
        x, y = {}, {}
        class_names = _class_names(h5["class_names"][...])
        for split in SPLITS:
            rows = slice(None) if split in splits else slice(0, 0)
            x[split] = h5[f"x_{split}"][rows]
            y[split] = h5[f"y_{split}"][rows]
            if split in splits and not values_checked:  # checked as check_dataset does, in memory: read once
                _check_sequences(x[split], f"{path}: x_{split}")
                _check_labels(y[split], class_names, f"{path}: y_{split}")
            y[split] = y[split].astype(np.uint8)
        ground_truth = None
        if "ground_truth" in h5:
            try:
                ground_truth = {split: {key: (group[key].asstr()[...].astype(object) if key == "matrix"
                                              else group[key][...]) for key in GROUND_TRUTH_FIELDS if key in group}
                                for split, group in h5["ground_truth"].items()}
            except (TypeError, AttributeError, ValueError):
                raise KerasMotifsError(
                    f"{path}: ground_truth is not the layout's group of splits with arrays "
                    f"{', '.join(GROUND_TRUTH_FIELDS)} (matrix as strings)"
                ) from None
        attrs = _read_attributes(h5, path)
    if not values_checked:
        _checked.add(file_key)
    return Dataset(
        x=x,
        y=y,
        class_names=class_names,
        class_motif_ids=attrs["class_motif_ids"],
        source=attrs["source"],
        parameters=attrs["parameters"],
        ground_truth=ground_truth,
        jaspar_release=attrs["jaspar_release"],
        path=path,
    )


def read_class_motif_ids(path: str | os.PathLike) -> dict[str, list[str]]:
    """Read a dataset file's ``class_motif_ids`` attribute, without its arrays.

    Parameters
    ----------
    path : str or PathLike
        The ``.h5`` file, checked by :func:`check_dataset`.

    Returns
    -------
    dict of str to list of str
        Class name -> JASPAR base IDs that count as its motif, as stored (a class
        with no known motif has an empty list).
    """
    path = Path(path)
    check_dataset(path, splits=())
    with h5py.File(path, "r") as h5:
        if "class_motif_ids" not in h5.attrs:
            raise KerasMotifsError(
                f"{path}: dataset has no class_motif_ids attribute (no ground truth to score against)"
            )
        return _read_attributes(h5, path)["class_motif_ids"]
