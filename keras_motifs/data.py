"""The paper's synthetic dataset and the HDF5 dataset layout shared by all data sources.

The layout (keys, shapes, attributes) is described in ``docs/design.md`` and owned by
this module. Every data source writes it with :class:`DatasetWriter`: the synthetic
generator and FASTA encoding through :func:`write_dataset`, the DeepSEA conversion
streaming slice by slice. Every consumer reads it with :func:`load_dataset`, or
:func:`read_class_motif_ids` for the class motifs alone; both first call
:func:`check_dataset`, the one check at the door of every command that reads a dataset.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from keras_motifs import __version__
from keras_motifs.errors import KerasMotifsError
from keras_motifs.fileio import atomic_file
from keras_motifs.jaspar import DEFAULT_RELEASE, PAPER_TFS, get_motif, ground_truth_ids

SPLITS = ("train", "valid", "test")
GROUND_TRUTH_FIELDS = ("sequence", "matrix", "strand", "start", "class_index")

#: Probabilities of planting 1, 2, 3, 4 or 5 motifs in a sequence (the paper's).
MOTIF_COUNT_PROBABILITIES = (0.50, 0.25, 0.17, 0.05, 0.03)
#: Minimum number of background positions between motifs and at the sequence ends.
MOTIF_BUFFER = 1
DEFAULT_SPLIT = (0.7, 0.1, 0.2)
#: Sequences per HDF5 chunk of the ``x_*`` arrays. Default of ``DatasetWriter``'s ``chunk_rows``.
DEFAULT_CHUNK_ROWS = 256
#: Sequences per HDF5 chunk of the ``y_*`` arrays (K bytes each).
_LABEL_CHUNK_ROWS = 4096


@dataclass
class Dataset:
    """One-hot sequences, multi-hot labels and metadata of a train/valid/test split.

    Parameters
    ----------
    x : dict of str to numpy.ndarray
        Per split, one-hot sequences, shape=(n, length, 4), columns A, C, G, T.
    y : dict of str to numpy.ndarray
        Per split, multi-hot labels, shape=(n, num_classes), uint8.
    class_names : list of str
        Label names in column order.
    class_motif_ids : dict of str to list of str
        Per class, the JASPAR base IDs that count as its motif when scoring filters.
    source : str
        ``"synthetic"``, ``"deepsea"`` or ``"fasta"``.
    parameters : dict
        How the data was made (generator or conversion options).
    ground_truth : dict of str to dict, optional
        Per split, the planted motifs: arrays ``sequence``, ``matrix``, ``strand``,
        ``start``, ``class_index``, one entry per planted motif. Synthetic data only.
    jaspar_release : str
        JASPAR release the class motifs refer to. Default is "JASPAR2016".
    """

    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    class_names: list[str]
    class_motif_ids: dict[str, list[str]]
    source: str
    parameters: dict
    ground_truth: dict[str, dict[str, np.ndarray]] | None = None
    jaspar_release: str = DEFAULT_RELEASE
    path: Path | None = field(default=None, compare=False)

    @property
    def input_length(self) -> int:
        """Sequence length L."""
        return self.x["train"].shape[1]

    @property
    def num_classes(self) -> int:
        """Number of label columns K."""
        return len(self.class_names)


def _place_motifs(widths: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """Draw start positions for motifs of ``widths`` with buffers between them and the ends.

    The free positions left after the motifs and the mandatory buffers are shared
    among the n + 1 gaps uniformly at random (stars and bars), and the motifs are
    laid out in a random order.
    """
    order = rng.permutation(len(widths))
    free = length - widths.sum() - MOTIF_BUFFER * (len(widths) + 1)
    cuts = np.sort(rng.choice(free + len(widths), size=len(widths), replace=False))
    gaps = np.diff(np.concatenate([[-1], cuts])) - 1 + MOTIF_BUFFER
    starts = np.empty(len(widths), dtype=np.int64)
    position = 0
    for gap, index in zip(gaps, order):
        position += gap
        starts[index] = position
        position += widths[index]
    return starts


def _sample_one_hot(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sample each position independently from its column's distribution, as one-hot."""
    cumulative = np.cumsum(probabilities, axis=-1)
    draws = rng.random(probabilities.shape[:-1] + (1,))
    letters = np.minimum((draws > cumulative).sum(axis=-1), 3)
    return np.eye(4, dtype=np.float32)[letters]


def simulation_motifs(
    num_seqs: int,
    length: int,
    tfs: list[str] | None = None,
    jaspar_release: str = DEFAULT_RELEASE,
    split: Sequence[float] = DEFAULT_SPLIT,
) -> list:
    """Check that :func:`simulate` can make a dataset of these settings; return its matrices.

    Callers that write anything before simulating (``keras-motifs run``) call this first.

    Parameters
    ----------
    num_seqs, length, tfs, jaspar_release, split
        As for :func:`simulate`.

    Returns
    -------
    list of Motif
        One JASPAR matrix per class.
    """
    tfs = list(PAPER_TFS.values()) if tfs is None else list(tfs)
    if not tfs:
        raise KerasMotifsError("tfs: give at least one JASPAR matrix ID or TF name")
    motifs = [get_motif(key, jaspar_release) for key in tfs]
    if len({m.id for m in motifs}) != len(motifs):
        raise KerasMotifsError(f"tfs: the same matrix is listed twice in {tfs}")
    check_split(split)
    max_count = len(MOTIF_COUNT_PROBABILITIES)
    longest = max(m.width for m in motifs)
    if length < max_count * longest + MOTIF_BUFFER * (max_count + 1):
        raise KerasMotifsError(
            f"length {length} cannot hold {max_count} motifs of width {longest} with buffers; "
            f"use at least {max_count * longest + MOTIF_BUFFER * (max_count + 1)}"
        )
    sizes = [hi - lo for lo, hi in split_bounds(num_seqs, split)]
    if min(sizes) < 1:
        raise KerasMotifsError(
            f"num_seqs {num_seqs} leaves a split empty (train, valid, test: {', '.join(map(str, sizes))}); "
            "use more sequences"
        )
    return motifs


def simulate(
    num_seqs: int = 25000,
    length: int = 200,
    tfs: list[str] | None = None,
    seed: int = 0,
    jaspar_release: str = DEFAULT_RELEASE,
    split: tuple[float, float, float] = DEFAULT_SPLIT,
) -> Dataset:
    """Generate the paper's synthetic dataset.

    Each sequence receives 1 to 5 motifs (probabilities 0.50, 0.25, 0.17, 0.05,
    0.03), drawn uniformly with replacement from the TFs' matrices and their
    reverse complements, placed at least one position apart and away from the ends,
    in a uniform background; every position is sampled independently from its
    column's distribution. Labels mark which TFs a sequence holds.

    Parameters
    ----------
    num_seqs : int
        Number of sequences. Default is 25000.
    length : int
        Sequence length. Default is 200.
    tfs : list of str, optional
        JASPAR matrix IDs or TF names, one per class. Default is the paper's 12
        (:data:`keras_motifs.jaspar.PAPER_TFS`).
    seed : int
        Seed of the random generator: the same seed gives identical arrays.
        Default is 0.
    jaspar_release : str
        JASPAR release the matrices come from. Default is "JASPAR2016".
    split : tuple of float
        Fractions of train, valid and test after a random permutation.
        Default is (0.7, 0.1, 0.2).

    Returns
    -------
    Dataset
    """
    motifs = simulation_motifs(num_seqs, length, tfs, jaspar_release, split)
    rng = np.random.default_rng(seed)
    # 2 * K matrices: each TF forward, then reverse complement; matrix i has class i % K.
    matrices = [m.ppm for m in motifs] + [m.ppm[::-1, ::-1] for m in motifs]
    num_classes = len(motifs)

    counts = rng.choice(np.arange(1, len(MOTIF_COUNT_PROBABILITIES) + 1), size=num_seqs, p=MOTIF_COUNT_PROBABILITIES)
    probabilities = np.full((num_seqs, length, 4), 0.25, dtype=np.float64)
    labels = np.zeros((num_seqs, num_classes), dtype=np.uint8)
    planted = {name: [] for name in GROUND_TRUTH_FIELDS}
    for row, count in enumerate(counts):
        chosen = rng.integers(0, len(matrices), size=count)
        widths = np.array([matrices[i].shape[0] for i in chosen])
        starts = _place_motifs(widths, length, rng)
        for matrix_index, start, width in zip(chosen, starts, widths):
            class_index = matrix_index % num_classes
            probabilities[row, start : start + width] = matrices[matrix_index]
            labels[row, class_index] = 1
            planted["sequence"].append(row)
            planted["matrix"].append(motifs[class_index].id)
            planted["strand"].append(1 if matrix_index < num_classes else -1)
            planted["start"].append(start)
            planted["class_index"].append(class_index)
    x_all = _sample_one_hot(probabilities, rng)

    permutation = rng.permutation(num_seqs)
    bounds = split_bounds(num_seqs, split)
    planted_arrays = {
        "sequence": np.array(planted["sequence"], dtype=np.int64),
        "matrix": np.array(planted["matrix"], dtype=object),
        "strand": np.array(planted["strand"], dtype=np.int8),
        "start": np.array(planted["start"], dtype=np.int64),
        "class_index": np.array(planted["class_index"], dtype=np.int64),
    }
    x, y, ground_truth = {}, {}, {}
    for name, (lo, hi) in zip(SPLITS, bounds):
        rows = permutation[lo:hi]
        x[name] = x_all[rows]
        y[name] = labels[rows]
        # Map original rows to their position in this split, keeping split order.
        new_position = np.full(num_seqs, -1, dtype=np.int64)
        new_position[rows] = np.arange(len(rows))
        keep = new_position[planted_arrays["sequence"]] >= 0
        entries = {key: value[keep] for key, value in planted_arrays.items()}
        entries["sequence"] = new_position[entries["sequence"]]
        order = np.lexsort((entries["start"], entries["sequence"]))
        ground_truth[name] = {key: value[order] for key, value in entries.items()}

    class_names = [m.name for m in motifs]
    return Dataset(
        x=x,
        y=y,
        class_names=class_names,
        class_motif_ids={m.name: ground_truth_ids(m) for m in motifs},
        source="synthetic",
        parameters={
            "num_seqs": num_seqs,
            "length": length,
            "tfs": [m.id for m in motifs],
            "seed": seed,
            "split": list(split),
            "motif_count_probabilities": list(MOTIF_COUNT_PROBABILITIES),
            "motif_buffer": MOTIF_BUFFER,
            "background": [0.25, 0.25, 0.25, 0.25],
        },
        ground_truth=ground_truth,
        jaspar_release=jaspar_release,
    )


def check_split(split: Sequence[float]) -> None:
    """Refuse train/valid/test fractions that are not three positive numbers summing to 1.

    Parameters
    ----------
    split : sequence of float
        Fractions of train, valid and test.
    """
    if len(split) != 3 or any(f <= 0 for f in split) or abs(sum(split) - 1) > 1e-6:
        raise KerasMotifsError(f"split must be three positive fractions summing to 1, got {list(split)}")


def split_bounds(n: int, split: Sequence[float]) -> list[tuple[int, int]]:
    """Return the row ranges ``(lo, hi)`` of train, valid and test for ``n`` rows.

    Parameters
    ----------
    n : int
        Number of rows.
    split : sequence of float
        Fractions of train, valid and test (see :func:`check_split`); train and valid
        get the rounded shares, test the rest.

    Returns
    -------
    list of tuple of int
    """
    n_train = int(round(split[0] * n))
    n_valid = int(round(split[1] * n))
    return [(0, n_train), (n_train, n_train + n_valid), (n_train + n_valid, n)]


#: Free space an HDF5 file needs beyond its arrays' bytes (metadata, chunk indices).
HDF5_MARGIN_BYTES = 2**20


def _check_free_space(path: Path, num_bytes: int) -> None:
    """Refuse, as a full disk, to write ``num_bytes`` more (uncompressed) into HDF5 file ``path``.

    HDF5 cannot recover from a write that fills the disk (its file is left corrupt and
    closing it may crash the process), so the writer checks the space first.
    """
    if shutil.disk_usage(path.parent).free < num_bytes + HDF5_MARGIN_BYTES:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


class DatasetWriter:
    """Stream a dataset into one HDF5 file of the layout of ``docs/design.md``, atomically.

    A context manager. Entering it opens a temporary file beside ``path`` holding
    ``class_names`` and empty, resizable, chunked ``x_{split}`` (N, L, 4) and
    ``y_{split}`` (N, K) uint8 datasets for train, valid and test. In the block,
    :meth:`append` adds sequences, :meth:`add_ground_truth` the planted motifs and
    :meth:`set_attributes` the root attributes (required). The file appears at ``path``
    only when the block ends without an exception; otherwise nothing is left.

    Parameters
    ----------
    path : str or PathLike
        Output ``.h5`` file.
    class_names : sequence of str
        Label names in column order (K of them).
    length : int
        Sequence length L.
    x_dtype : numpy dtype or type
        Storage type of ``x_*``: uint8 for exact one-hot sequences (4 times smaller),
        float32 otherwise (fractions of IUPAC codes).
    compression : str or None
        HDF5 compression of ``x_*`` and ``y_*``. Default is "gzip".
    chunk_rows : int
        Sequences per HDF5 chunk of ``x_*``. Default is 256.

    Examples
    --------
    >>> with DatasetWriter("d.h5", ["CTCF"], 200, np.uint8) as writer:
    ...     for split, x, y in slices:
    ...         writer.append(split, x, y)
    ...     writer.set_attributes("fasta", parameters={}, class_motif_ids={"CTCF": []})
    """

    def __init__(
        self,
        path: str | os.PathLike,
        class_names: Sequence[str],
        length: int,
        x_dtype: np.dtype | type,
        compression: str | None = "gzip",
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ):
        self.path = Path(path)
        self.class_names = [str(name) for name in class_names]
        self.length = int(length)
        self.x_dtype = np.dtype(x_dtype)
        self.compression = compression
        self.chunk_rows = int(chunk_rows)
        if not self.class_names:
            raise KerasMotifsError(f"{self.path}: a dataset needs at least one class name")
        if self.x_dtype not in (np.uint8, np.float32):
            raise KerasMotifsError(f"{self.path}: sequences are stored as uint8 or float32, not {self.x_dtype}")
        self._h5: h5py.File | None = None
        self._stack: ExitStack | None = None
        self._attributes_set = False

    def __enter__(self) -> DatasetWriter:
        num_classes = len(self.class_names)
        with ExitStack() as stack:
            tmp = stack.enter_context(atomic_file(self.path))
            _check_free_space(tmp, 0)
            h5 = stack.enter_context(h5py.File(tmp, "w"))
            for split in SPLITS:
                h5.create_dataset(
                    f"x_{split}",
                    shape=(0, self.length, 4),
                    maxshape=(None, self.length, 4),
                    dtype=self.x_dtype,
                    chunks=(self.chunk_rows, self.length, 4),
                    compression=self.compression,
                )
                h5.create_dataset(
                    f"y_{split}",
                    shape=(0, num_classes),
                    maxshape=(None, num_classes),
                    dtype=np.uint8,
                    chunks=(_LABEL_CHUNK_ROWS, num_classes),
                    compression=self.compression,
                )
            h5.create_dataset("class_names", data=np.array(self.class_names, dtype=object), dtype=h5py.string_dtype())
            self._stack = stack.pop_all()
        self._h5 = h5
        return self

    def __exit__(self, exc_type, exc, traceback) -> bool:
        stack, h5, self._stack, self._h5 = self._stack, self._h5, None, None
        if exc_type is None:
            empty = [split for split in SPLITS if not len(h5[f"x_{split}"])]
            if not self._attributes_set or empty:
                reason = ("the dataset's attributes were never set" if not self._attributes_set
                          else f"split {empty[0]} holds no sequences")
                error = KerasMotifsError(f"{self.path}: {reason}; nothing written")
                stack.__exit__(type(error), error, None)
                raise error
        return stack.__exit__(exc_type, exc, traceback)

    def _file(self) -> h5py.File:
        """The open temporary file, refusing use outside the ``with`` block."""
        if self._h5 is None:
            raise KerasMotifsError(f"{self.path}: write a dataset inside its DatasetWriter's with block")
        return self._h5

    def append(self, split: str, x: np.ndarray, y: np.ndarray) -> None:
        """Append sequences and their labels to a split.

        Parameters
        ----------
        split : str
            "train", "valid" or "test".
        x : numpy.ndarray
            One-hot sequences, shape=(n, length, 4), columns A, C, G, T; whole numbers
            when the writer stores uint8.
        y : numpy.ndarray
            Multi-hot labels, shape=(n, num_classes), stored as uint8.
        """
        h5 = self._file()
        if split not in SPLITS:
            raise KerasMotifsError(f"{self.path}: unknown split {split!r}; choose one of {', '.join(SPLITS)}")
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim != 3 or x.shape[1:] != (self.length, 4):
            raise KerasMotifsError(f"{self.path}: x_{split} rows have shape {x.shape}, expected (n, {self.length}, 4)")
        if y.shape != (len(x), len(self.class_names)):
            raise KerasMotifsError(
                f"{self.path}: y_{split} rows have shape {y.shape}, expected ({len(x)}, {len(self.class_names)})"
            )
        if not np.isin(y, (0, 1)).all():
            raise KerasMotifsError(f"{self.path}: y_{split} holds labels other than 0 and 1")
        if self.x_dtype == np.uint8 and x.dtype != np.uint8 and not np.array_equal(x, x.astype(np.uint8)):
            raise KerasMotifsError(f"{self.path}: x_{split} holds values that uint8 cannot store exactly (fractions?)")
        if not len(x):
            return
        x_out, y_out = h5[f"x_{split}"], h5[f"y_{split}"]
        _check_free_space(Path(h5.filename), len(x) * (x[0].size * self.x_dtype.itemsize + y[0].size))
        start = len(x_out)
        x_out.resize(start + len(x), axis=0)
        y_out.resize(start + len(x), axis=0)
        x_out[start:] = x.astype(self.x_dtype, copy=False)
        y_out[start:] = y.astype(np.uint8, copy=False)

    def add_ground_truth(self, split: str, entries: Mapping[str, np.ndarray]) -> None:
        """Write the planted motifs of a split (synthetic data), ``ground_truth/{split}/{key}``.

        Parameters
        ----------
        split : str
            "train", "valid" or "test".
        entries : mapping of str to numpy.ndarray
            Arrays of :data:`GROUND_TRUTH_FIELDS`, one entry per planted motif;
            ``matrix`` holds strings.
        """
        h5 = self._file()
        if split not in SPLITS:
            raise KerasMotifsError(f"{self.path}: unknown split {split!r}; choose one of {', '.join(SPLITS)}")
        for key, value in entries.items():
            dtype = h5py.string_dtype() if key == "matrix" else value.dtype
            h5.create_dataset(f"ground_truth/{split}/{key}", data=value, dtype=dtype)

    def set_attributes(
        self,
        source: str,
        parameters: dict,
        class_motif_ids: Mapping[str, Sequence[str]],
        jaspar_release: str = DEFAULT_RELEASE,
    ) -> None:
        """Set the root attributes; the file is not written without them.

        Parameters
        ----------
        source : str
            ``"synthetic"``, ``"deepsea"`` or ``"fasta"``.
        parameters : dict
            How the data was made, stored as JSON.
        class_motif_ids : mapping of str to sequence of str
            Per class, the JASPAR base IDs that count as its motif, stored as JSON.
        jaspar_release : str
            JASPAR release the motif IDs refer to. Default is "JASPAR2016".
        """
        h5 = self._file()
        h5.attrs["source"] = source
        h5.attrs["keras_motifs_version"] = __version__
        h5.attrs["parameters"] = json.dumps(parameters)
        h5.attrs["class_motif_ids"] = json.dumps({name: list(ids) for name, ids in class_motif_ids.items()})
        h5.attrs["jaspar_release"] = jaspar_release
        self._attributes_set = True


def write_dataset(path: str | os.PathLike, dataset: Dataset, compression: str | None = "gzip") -> None:
    """Write a dataset to one HDF5 file, atomically (see ``docs/design.md``).

    Parameters
    ----------
    path : str or PathLike
        Output ``.h5`` file.
    dataset : Dataset
        What to write.
    compression : str or None
        HDF5 compression of the arrays. Default is "gzip".
    """
    _validate(dataset, where=str(path))
    # Exact one-hot sequences are stored as uint8, 4 times smaller; fractions (IUPAC codes) as float32.
    one_hot = all(np.array_equal(dataset.x[split], dataset.x[split].astype(np.uint8)) for split in SPLITS)
    x_dtype = np.uint8 if one_hot else np.float32
    with DatasetWriter(path, dataset.class_names, dataset.input_length, x_dtype, compression) as writer:
        for split in SPLITS:
            writer.append(split, dataset.x[split].astype(x_dtype, copy=False), dataset.y[split])
        for split, entries in (dataset.ground_truth or {}).items():
            writer.add_ground_truth(split, entries)
        writer.set_attributes(dataset.source, dataset.parameters, dataset.class_motif_ids, dataset.jaspar_release)


def _validate(dataset: Dataset, where: str) -> None:
    """Check that the arrays of a dataset agree with each other."""
    lengths = set()
    for split in SPLITS:
        if split not in dataset.x or split not in dataset.y:
            raise KerasMotifsError(f"{where}: split {split!r} is missing")
        x, y = dataset.x[split], dataset.y[split]
        if x.ndim != 3 or x.shape[2] != 4:
            raise KerasMotifsError(f"{where}: x_{split} has shape {x.shape}, expected (N, length, 4)")
        if y.ndim != 2 or y.shape[0] != x.shape[0]:
            raise KerasMotifsError(
                f"{where}: y_{split} has shape {y.shape} but x_{split} holds {x.shape[0]} sequences"
            )
        if y.shape[1] != len(dataset.class_names):
            raise KerasMotifsError(
                f"{where}: y_{split} has {y.shape[1]} label columns but there are "
                f"{len(dataset.class_names)} class names"
            )
        lengths.add(x.shape[1])
    if len(lengths) != 1:
        raise KerasMotifsError(f"{where}: splits have different sequence lengths {sorted(lengths)}")


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
    for name, default in (("source", "unknown"), ("jaspar_release", DEFAULT_RELEASE)):
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
