"""The one writer of the HDF5 dataset layout (``docs/design.md``).

:class:`DatasetWriter` streams, atomically; :func:`write_dataset` writes a
:class:`~keras_motifs.data.dataset.Dataset` held in memory through it.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path

import h5py
import numpy as np

from keras_motifs import __version__
from keras_motifs.data.dataset import SPLITS, Dataset
from keras_motifs.defaults import JASPAR_RELEASE
from keras_motifs.errors import KerasMotifsError
from keras_motifs.io.files import atomic_file

#: Sequences per HDF5 chunk of the ``x_*`` arrays. Default of ``DatasetWriter``'s ``chunk_rows``.
DEFAULT_CHUNK_ROWS = 256
#: Sequences per HDF5 chunk of the ``y_*`` arrays (K bytes each).
_LABEL_CHUNK_ROWS = 4096


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
        jaspar_release: str = JASPAR_RELEASE,
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
