"""The in vivo dataset: DeepSEA's training bundle truncated to a few ChIP-seq classes.

DeepSEA (Zhou & Troyanskaya 2015) ships ``deepsea_train_bundle.v0.9.tar.gz`` with three
MATLAB files under ``deepsea_train/``:

=========  ===========================  ==============================================
file       format                       arrays as stored (read with)
=========  ===========================  ==============================================
train.mat  MATLAB v7.3 (HDF5)           ``trainxdata`` (1000, 4, N), ``traindata``
                                        (919, N) (h5py: MATLAB's transposed layout)
valid.mat  MATLAB v5                    ``validxdata`` (N, 4, 1000), ``validdata``
                                        (N, 919) (as scipy.io.loadmat returns them)
test.mat   MATLAB v5                    ``testxdata`` (N, 4, 1000), ``testdata``
                                        (N, 919) (as scipy.io.loadmat returns them)
=========  ===========================  ==============================================

DeepSEA's channel order is A, G, C, T; keras-motifs uses A, C, G, T. The 919 label
columns are chromatin features; the paper keeps 12 TF ChIP-seq columns
(:data:`PAPER_CLASS_INDICES`) and the sequences positive for at least one of them.

:func:`convert_deepsea` writes the dataset layout of ``docs/design.md`` without ever
holding a whole input array in memory: it reads each file in slices along N and appends
the kept sequences to the resizable, chunked, compressed HDF5 datasets of a
:class:`keras_motifs.data.writer.DatasetWriter`. train.mat (and an HDF5 valid.mat or test.mat)
is sliced with h5py. A MATLAB v5 file is sliced by :mod:`keras_motifs.io.matfile`, not read
whole by ``scipy.io.loadmat``; a compressed array (scipy's and MATLAB's default) is first
inflated, streaming, into an anonymous temporary uint8 file beside the output.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import time
import warnings
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np

from keras_motifs.data.dataset import SPLITS
from keras_motifs.data.writer import DatasetWriter
from keras_motifs.defaults import JASPAR_RELEASE
from keras_motifs.errors import KerasMotifsError, KerasMotifsWarning, check_integer
from keras_motifs.io.files import scratch_directory
from keras_motifs.io.matfile import as_binary_uint8, check_numeric, row_readers, variables
from keras_motifs.motifs.jaspar import class_motif_ids_for

#: DeepSEA label columns (0-based) of the paper's 12 TFs, in the order of ``PAPER_TFS``.
PAPER_CLASS_INDICES: dict[str, int] = {
    "Arid3a": 592,
    "CEBPB": 602,
    "FOSL1": 344,
    "Gabpa": 345,
    "MAFK": 635,
    "MAX": 636,
    "MEF2A": 349,
    "NFYB": 642,
    "SP1": 359,
    "SRF": 361,
    "STAT1": 661,
    "YY1": 369,
}
#: Number of label columns (chromatin features) in every DeepSEA file.
NUM_DEEPSEA_LABELS = 919
#: Columns of DeepSEA's A, G, C, T one-hot taken in the order A, C, G, T.
DEEPSEA_TO_ACGT = (0, 2, 1, 3)
#: Sequences read from train.mat per slice. Default of ``chunk_size``.
DEFAULT_CHUNK_SIZE = 8192
#: Rows per HDF5 chunk of the output ``x_*`` arrays (256 x 1000 x 4 bytes = 1 MB).
_OUTPUT_CHUNK_ROWS = 256
#: Ends of the messages refusing arrays that DeepSEA's files never hold.
_NOT_NUMERIC = "DeepSEA's arrays are real and numeric"
_NOT_BINARY = "DeepSEA's arrays are binary"
_BUNDLE_FILES = {"train": "train.mat", "valid": "valid.mat", "test": "test.mat"}
_TARBALL_SUFFIXES = (".tar.gz", ".tgz", ".tar")


def convert_deepsea(
    bundle: str | os.PathLike,
    out: str | os.PathLike,
    class_indices: Sequence[int] | None = None,
    class_names: Sequence[str] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    class_motif_ids: Mapping[str, Sequence[str]] | None = None,
    jaspar_release: str = JASPAR_RELEASE,
) -> dict:
    """Convert DeepSEA's training bundle to a keras-motifs dataset file.

    Keeps the label columns ``class_indices`` and the sequences positive for at least
    one of them, in DeepSEA's own train/valid/test split and order. Every file is read
    in slices of ``chunk_size`` sequences, so peak memory is bounded by ``chunk_size``
    whatever the input size. A compressed MATLAB v5 array (valid.mat and test.mat are
    MATLAB v5) cannot be sliced along N in place: it is first inflated, streaming, into
    an anonymous temporary uint8 file beside ``out`` (N x 4 x length bytes for the
    sequences, N x 919 for the labels; the free space is checked first), removed as soon
    as that file is converted.

    Parameters
    ----------
    bundle : str or PathLike
        A folder holding train.mat, valid.mat and test.mat (directly or in a
        ``deepsea_train/`` subfolder), or the bundle tarball (``.tar.gz``, ``.tgz``
        or ``.tar``). The three members of a tarball are extracted, in one pass,
        into a temporary folder beside ``out`` (it needs their size in free space,
        checked first) and removed afterwards: HDF5 needs random access, which a
        gzip stream cannot give.
    out : str or PathLike
        Output ``.h5`` file, written atomically. ``x_*``: uint8, shape=(n, length, 4),
        columns A, C, G, T; ``y_*``: uint8, shape=(n, num_classes).
    class_indices : sequence of int, optional
        0-based DeepSEA label columns to keep, one per class. Default is the paper's
        12 (:data:`PAPER_CLASS_INDICES`).
    class_names : sequence of str, optional
        Names of the kept columns, same length as ``class_indices``; required when
        ``class_indices`` is given. Default is the paper's 12 TF names.
    chunk_size : int
        Sequences read per slice; for an HDF5 file, rounded up to a multiple of the
        file's own chunking along N. Default is 8192 (about 33 MB of 1000-nt uint8 input).
    class_motif_ids : mapping of str to sequence of str, optional
        Per class name, the JASPAR IDs that count as its motif when scoring filters.
        Default is the paper's ID sets for class names that are paper TFs
        (case-insensitive) and no IDs for others.
    jaspar_release : str
        JASPAR release the motif IDs refer to. Default is "JASPAR2016".

    Returns
    -------
    dict
        ``path``, ``length``, ``classes`` (name -> DeepSEA column) and, per split,
        ``splits[split]`` with ``file``, ``read`` (sequences in the file), ``kept``
        and ``positives`` (name -> kept sequences positive for that class).
    """
    classes = _check_classes(class_indices, class_names)
    check_integer(chunk_size, "chunk_size", types=(int, np.integer))
    motif_ids = class_motif_ids_for(list(classes), class_motif_ids)
    bundle, out = Path(bundle), Path(out)
    if not bundle.exists():
        raise KerasMotifsError(f"{bundle}: DeepSEA bundle not found")

    with _bundle_files(bundle, out) as files:
        shapes = {split: _inspect(files[split], split) for split in SPLITS}
        lengths = {split: length for split, (_, length) in shapes.items()}
        if len(set(lengths.values())) != 1:
            raise KerasMotifsError(f"{bundle}: the files hold sequences of different lengths {lengths}")
        summary = {"path": str(out), "length": lengths["train"], "classes": dict(classes), "splits": {}}
        started = time.perf_counter()
        with DatasetWriter(out, list(classes), lengths["train"], np.uint8, chunk_rows=_OUTPUT_CHUNK_ROWS) as writer:
            for split in SPLITS:
                with _open_source(files[split], split, out.parent) as source:
                    kept, positives = _convert_split(source, writer, split, list(classes.values()), chunk_size)
                summary["splits"][split] = {
                    "file": f"{bundle}:{files[split].name}" if _is_tarball(bundle) else str(files[split]),
                    "read": shapes[split][0],
                    "kept": kept,
                    "positives": dict(zip(classes, positives)),
                }
            parameters = {
                "bundle": str(bundle),
                "class_indices": dict(classes),
                "keep": "positive for at least one kept class",
                "channel_order_in": "AGCT",
                "num_read": {split: s["read"] for split, s in summary["splits"].items()},
                "num_kept": {split: s["kept"] for split, s in summary["splits"].items()},
            }
            empty = [split for split, info in summary["splits"].items() if info["kept"] == 0]
            if empty:
                raise KerasMotifsError(f"{bundle}: no {empty[0]} sequence is positive for the kept classes "
                                       f"({', '.join(classes)}); nothing written")
            writer.set_attributes("deepsea", parameters, motif_ids, jaspar_release)
        summary["seconds"] = time.perf_counter() - started

    absent = [name for name, count in summary["splits"]["train"]["positives"].items() if count == 0]
    if absent:
        warnings.warn(f"{bundle}: no train sequence is positive for {', '.join(absent)}", KerasMotifsWarning,
                      stacklevel=2)
    return summary


def _check_classes(class_indices, class_names) -> dict[str, int]:
    """Validate the kept DeepSEA columns and their names; return name -> column."""
    if class_indices is None:
        if class_names is not None:
            raise KerasMotifsError("class_names given without class_indices: give the DeepSEA column of each class")
        return dict(PAPER_CLASS_INDICES)
    if class_names is None:
        raise KerasMotifsError(f"class_indices {list(class_indices)}: give class_names too, one per index")
    indices, names = list(class_indices), [str(name) for name in class_names]
    if not indices:
        raise KerasMotifsError("class_indices: give at least one DeepSEA label column")
    if len(indices) != len(names):
        raise KerasMotifsError(f"{len(indices)} class_indices but {len(names)} class_names; give one name per index")
    for index in indices:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < NUM_DEEPSEA_LABELS:
            raise KerasMotifsError(
                f"class_indices: {index!r} is not a DeepSEA label column (0 to {NUM_DEEPSEA_LABELS - 1})"
            )
    if len(set(indices)) != len(indices):
        raise KerasMotifsError(f"class_indices: a column is listed twice in {indices}")
    if any(not name.strip() for name in names) or len(set(names)) != len(names):
        raise KerasMotifsError(f"class_names must be distinct and non-empty, got {names}")
    return {name: int(index) for name, index in zip(names, indices)}


def _is_tarball(path: Path) -> bool:
    """Whether ``path`` names a tar archive by its suffix."""
    return path.is_file() and path.name.endswith(_TARBALL_SUFFIXES)


@contextmanager
def _bundle_files(bundle: Path, out: Path) -> Iterator[dict[str, Path]]:
    """Yield split -> .mat path, extracting them from a tarball into a temporary folder."""
    if bundle.is_dir():
        for folder in (bundle, bundle / "deepsea_train"):
            files = {split: folder / name for split, name in _BUNDLE_FILES.items()}
            if all(path.is_file() for path in files.values()):
                yield files
                return
        raise KerasMotifsError(
            f"{bundle}: no train.mat, valid.mat and test.mat in this folder or its deepsea_train/ subfolder"
        )
    if not _is_tarball(bundle):
        raise KerasMotifsError(f"{bundle}: give the bundle folder or its .tar.gz tarball")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        tar = tarfile.open(bundle, "r|*")
    except (tarfile.TarError, OSError) as err:
        raise KerasMotifsError(f"{bundle}: cannot read the tarball ({err})") from None
    with tar:
        # One pass over the (gzip) stream: wanted members are copied as they come.
        with scratch_directory(out) as tmp:
            try:
                found = _extract_members(tar, tmp, bundle)
            except (tarfile.TarError, EOFError, zlib.error) as err:
                raise KerasMotifsError(f"{bundle}: damaged tarball ({err})") from None
            missing = [name for name in _BUNDLE_FILES.values() if name not in found]
            if missing:
                raise KerasMotifsError(f"{bundle}: tarball has no {', '.join(missing)}")
            yield {split: tmp / name for split, name in _BUNDLE_FILES.items()}


def _extract_members(tar: tarfile.TarFile, folder: Path, bundle: Path) -> dict[str, str]:
    """Copy train/valid/test.mat of a tar stream into ``folder``; return file name -> member name."""
    found: dict[str, str] = {}
    for member in tar:
        name = os.path.basename(member.name)
        if not member.isfile() or name not in _BUNDLE_FILES.values():
            continue
        if name in found:
            raise KerasMotifsError(f"{bundle}: holds two {name} ({found[name]}, {member.name})")
        free = shutil.disk_usage(folder).free
        if member.size > free:
            raise KerasMotifsError(
                f"{bundle}: extracting {member.name} needs {member.size / 1e9:.1f} GB in {folder.parent}, "
                f"only {free / 1e9:.1f} GB free; extract the tarball elsewhere and pass the folder"
            )
        with tar.extractfile(member) as source, open(folder / name, "wb") as target:
            shutil.copyfileobj(source, target, length=16 << 20)
        found[name] = member.name
        if len(found) == len(_BUNDLE_FILES):
            break
    return found


class _Source:
    """One DeepSEA .mat file: sizes and a reader of sequence slices.

    ``read(lo, hi)`` returns one-hot ``(hi - lo, length, 4)`` in DeepSEA's A, G, C, T
    order and labels ``(hi - lo, 919)``; ``step`` is the preferred slice size.
    """

    def __init__(self, path: Path, num_seqs: int, length: int, step: int, read: Callable[[int, int], tuple]):
        self.path, self.num_seqs, self.length, self.step, self.read = path, num_seqs, length, step, read


def _inspect(path: Path, split: str) -> tuple[int, int]:
    """Check the keys and shapes of a DeepSEA .mat file of either MATLAB flavour; return (N, length)."""
    x_key, y_key = f"{split}xdata", f"{split}data"
    arrays = None
    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as h5:
            found = {key: h5[key].shape for key in h5 if isinstance(h5[key], h5py.Dataset)}
        # MATLAB v7.3 stores arrays transposed: x (length, 4, N), y (919, N).
        found = {key: shape[::-1] for key, shape in found.items()}
        layout = "HDF5 shape reversed"
    else:
        arrays = variables(path)
        found = {name: variable.shape for name, variable in arrays.items()}
        layout = "MATLAB v5"
    missing = [key for key in (x_key, y_key) if key not in found]
    if missing:
        raise KerasMotifsError(
            f"{path}: not a DeepSEA {split} file: no {' or '.join(missing)} (arrays: {', '.join(found) or 'none'})"
        )
    if arrays is not None:
        for key in (x_key, y_key):
            check_numeric(arrays[key], path, _NOT_NUMERIC)
    x_shape, y_shape = tuple(found[x_key]), tuple(found[y_key])
    if len(x_shape) != 3 or x_shape[1] != 4:
        raise KerasMotifsError(
            f"{path}: {x_key} has shape {x_shape} ({layout}); DeepSEA's is (N, 4, length): 4 channels A,G,C,T"
        )
    if len(y_shape) != 2 or y_shape[1] != NUM_DEEPSEA_LABELS:
        raise KerasMotifsError(
            f"{path}: {y_key} has shape {y_shape} ({layout}); DeepSEA's is (N, {NUM_DEEPSEA_LABELS}) labels"
        )
    if x_shape[0] != y_shape[0]:
        raise KerasMotifsError(f"{path}: {x_key} holds {x_shape[0]} sequences but {y_key} {y_shape[0]}")
    return x_shape[0], x_shape[2]


@contextmanager
def _open_source(path: Path, split: str, scratch: Path) -> Iterator[_Source]:
    """Open a DeepSEA .mat file checked by :func:`_inspect` for reading in slices.

    ``scratch`` is the folder of the temporary files that compressed MATLAB v5 arrays
    are inflated into (see :func:`keras_motifs.io.matfile.row_readers`).
    """
    num_seqs, length = _inspect(path, split)
    x_key, y_key = f"{split}xdata", f"{split}data"
    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as h5:
            x, y = h5[x_key], h5[y_key]
            yield _Source(
                path=path,
                num_seqs=num_seqs,
                length=length,
                step=x.chunks[2] if x.chunks else 1,
                read=lambda lo, hi: (x[:, :, lo:hi].transpose(2, 0, 1), y[:, lo:hi].T),
            )
        return
    with row_readers(path, [x_key, y_key], scratch, binary_reason=_NOT_BINARY) as readers:
        yield _Source(
            path=path,
            num_seqs=num_seqs,
            length=length,
            step=1,
            read=lambda lo, hi: (readers[x_key].read(lo, hi).transpose(0, 2, 1), readers[y_key].read(lo, hi)),
        )



def _convert_split(
    source: _Source, writer: DatasetWriter, split: str, columns: list[int], chunk_size: int
) -> tuple[int, list[int]]:
    """Append the sequences of ``source`` positive for any of ``columns`` to ``writer``'s x_/y_{split}."""
    step = -(-chunk_size // source.step) * source.step
    kept = 0
    positives = np.zeros(len(columns), dtype=np.int64)
    for lo in range(0, source.num_seqs, step):
        hi = min(lo + step, source.num_seqs)
        x, y = source.read(lo, hi)
        labels = as_binary_uint8(np.ascontiguousarray(y), source.path, f"{split}data", _NOT_BINARY)
        selected = labels[:, columns]
        keep = selected.any(axis=1)
        count = int(keep.sum())
        if not count:
            continue
        one_hot = as_binary_uint8(x[keep][:, :, DEEPSEA_TO_ACGT], source.path, f"{split}xdata", _NOT_BINARY)
        writer.append(split, one_hot, selected[keep])
        positives += selected[keep].sum(axis=0, dtype=np.int64)
        kept += count
    return kept, positives.tolist()
