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
the kept sequences to resizable, chunked, compressed HDF5 datasets. train.mat (and an
HDF5 valid.mat or test.mat) is sliced with h5py. A MATLAB v5 file is read by a small
reader of the "MAT-File Format" (MathWorks) in this module, not by ``scipy.io.loadmat``
(which reads arrays whole; scipy has no public streaming reader): it walks the file's
data elements to locate each array's real part without reading it, then reads a slice
of rows with one read per column of the column-major data. Because rows are the fastest
axis in that order, a slice of rows of a *compressed* array (miCOMPRESSED, scipy's and
MATLAB's default) is spread over the whole zlib stream: such an array is first inflated
in one streaming pass into an anonymous temporary uint8 file beside the output, then
sliced the same way.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import struct
import tarfile
import tempfile
import time
import warnings
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from keras_motifs import __version__
from keras_motifs.data import SPLITS
from keras_motifs.encode import class_motif_ids_for
from keras_motifs.errors import KerasMotifsError, KerasMotifsWarning
from keras_motifs.fileio import atomic_file
from keras_motifs.jaspar import DEFAULT_RELEASE

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
# MATLAB v5 ("MAT-File Format", MathWorks): element data types, array classes and flags.
_MI_UINT32, _MI_INT32, _MI_MATRIX, _MI_COMPRESSED = 6, 5, 14, 15
#: Numeric element data types (miINT8 ... miUINT64) as numpy type codes.
_MI_NUMERIC = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8", 13: "u8"}
_MX_CLASSES = (
    "cell struct object char sparse double single int8 uint8 int16 uint16 int32 uint32 int64 uint64".split()
)
#: Classes 6 (double) to 15 (uint64) are numeric: their real part follows the name element.
_MX_FIRST_NUMERIC = 6
_MX_COMPLEX_FLAG = 0x0800
_V5_HEADER_BYTES = 128
#: Bytes of a variable's element read to parse its flags, dimensions and name.
_V5_VAR_HEADER_BYTES = 4096
#: Bytes of compressed data read, and at most inflated, at a time.
_IO_BLOCK = 4 << 20
_BUNDLE_FILES = {"train": "train.mat", "valid": "valid.mat", "test": "test.mat"}
_TARBALL_SUFFIXES = (".tar.gz", ".tgz", ".tar")


def convert_deepsea(
    bundle: str | os.PathLike,
    out: str | os.PathLike,
    class_indices: Sequence[int] | None = None,
    class_names: Sequence[str] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    class_motif_ids: Mapping[str, Sequence[str]] | None = None,
    jaspar_release: str = DEFAULT_RELEASE,
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
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise KerasMotifsError(f"chunk_size must be a positive integer, got {chunk_size!r}")
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
        with atomic_file(out) as tmp, h5py.File(tmp, "w") as h5:
            for split in SPLITS:
                with _open_source(files[split], split, out.parent) as source:
                    kept, positives = _convert_split(source, h5, split, list(classes.values()), chunk_size)
                summary["splits"][split] = {
                    "file": f"{bundle}:{files[split].name}" if _is_tarball(bundle) else str(files[split]),
                    "read": shapes[split][0],
                    "kept": kept,
                    "positives": dict(zip(classes, positives)),
                }
            h5.create_dataset("class_names", data=np.array(list(classes), dtype=object), dtype=h5py.string_dtype())
            h5.attrs["source"] = "deepsea"
            h5.attrs["keras_motifs_version"] = __version__
            h5.attrs["parameters"] = json.dumps(
                {
                    "bundle": str(bundle),
                    "class_indices": dict(classes),
                    "keep": "positive for at least one kept class",
                    "channel_order_in": "AGCT",
                    "num_read": {split: s["read"] for split, s in summary["splits"].items()},
                    "num_kept": {split: s["kept"] for split, s in summary["splits"].items()},
                }
            )
            h5.attrs["class_motif_ids"] = json.dumps(motif_ids)
            h5.attrs["jaspar_release"] = jaspar_release
        summary["seconds"] = time.perf_counter() - started

    for split, info in summary["splits"].items():
        if info["kept"] == 0:
            warnings.warn(f"{bundle}: no {split} sequence is positive for the kept classes", KerasMotifsWarning)
    absent = [name for name, count in summary["splits"]["train"]["positives"].items() if count == 0]
    if absent:
        warnings.warn(f"{bundle}: no train sequence is positive for {', '.join(absent)}", KerasMotifsWarning)
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
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".bundle.tmp", dir=out.parent))
        try:
            try:
                found = _extract_members(tar, tmp, bundle)
            except (tarfile.TarError, EOFError, zlib.error) as err:
                raise KerasMotifsError(f"{bundle}: damaged tarball ({err})") from None
            missing = [name for name in _BUNDLE_FILES.values() if name not in found]
            if missing:
                raise KerasMotifsError(f"{bundle}: tarball has no {', '.join(missing)}")
            yield {split: tmp / name for split, name in _BUNDLE_FILES.items()}
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


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
    variables = None
    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as h5:
            found = {key: h5[key].shape for key in h5 if isinstance(h5[key], h5py.Dataset)}
        # MATLAB v7.3 stores arrays transposed: x (length, 4, N), y (919, N).
        found = {key: shape[::-1] for key, shape in found.items()}
        layout = "HDF5 shape reversed"
    else:
        variables = _v5_variables(path)
        found = {name: variable.shape for name, variable in variables.items()}
        layout = "MATLAB v5"
    missing = [key for key in (x_key, y_key) if key not in found]
    if missing:
        raise KerasMotifsError(
            f"{path}: not a DeepSEA {split} file: no {' or '.join(missing)} (arrays: {', '.join(found) or 'none'})"
        )
    if variables is not None:
        for key in (x_key, y_key):
            _check_v5_numeric(variables[key], path)
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
    are inflated into (see :func:`_v5_row_readers`).
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
    with _v5_row_readers(path, [x_key, y_key], scratch) as readers:
        yield _Source(
            path=path,
            num_seqs=num_seqs,
            length=length,
            step=1,
            read=lambda lo, hi: (readers[x_key].read(lo, hi).transpose(0, 2, 1), readers[y_key].read(lo, hi)),
        )


@dataclass(frozen=True)
class _V5Variable:
    """A variable of a MATLAB v5 file, located by :func:`_v5_variables` without reading its data.

    Attributes
    ----------
    name : str
        Variable name.
    shape : tuple of int
        Dimensions, in the order ``scipy.io.loadmat`` returns them.
    mx_class : str
        MATLAB class ("uint8", "double", "cell", ...).
    is_complex : bool
        Whether the array has an imaginary part.
    dtype : numpy.dtype or None
        Storage type of the real part, with the file's byte order (may differ from
        ``mx_class``: MATLAB stores doubles of small integers as miUINT8, for one);
        None for an array that is not numeric.
    element : int
        File offset of the data of the variable's top-level element (after its tag).
    element_bytes : int
        Byte count of that data.
    compressed : bool
        Whether the element is miCOMPRESSED (zlib data inflating to an miMATRIX element).
    data_offset : int
        Offset of the real part's first byte: in the file if not ``compressed``, else
        in the inflated element (which starts with its 8-byte miMATRIX tag).
    """

    name: str
    shape: tuple[int, ...]
    mx_class: str
    is_complex: bool
    dtype: np.dtype | None
    element: int
    element_bytes: int
    compressed: bool
    data_offset: int


def _v5_variables(path: Path) -> dict[str, _V5Variable]:
    """Walk the top-level data elements of a MATLAB v5 file; return its variables by name.

    Reads the 128-byte header and, per variable, the first bytes of its element (inflating
    only those of a compressed one): no array data.
    """
    not_v5 = f"{path}: neither a MATLAB v5 nor a v7.3 (HDF5) file"
    size = path.stat().st_size
    with open(path, "rb") as handle:
        header = handle.read(_V5_HEADER_BYTES)
        if len(header) < _V5_HEADER_BYTES or header[126:128] not in (b"IM", b"MI"):
            raise KerasMotifsError(f"{not_v5} (no MAT-file header)")
        order = "<" if header[126:128] == b"IM" else ">"
        (version,) = struct.unpack(order + "H", header[124:126])
        if version != 0x0100:
            raise KerasMotifsError(f"{not_v5} (MAT-file version {version:#06x}, v5's is 0x0100)")
        variables: dict[str, _V5Variable] = {}
        position = _V5_HEADER_BYTES
        while position < size:
            handle.seek(position)
            tag = handle.read(8)
            if len(tag) < 8:
                raise KerasMotifsError(f"{path}: truncated MATLAB v5 file (partial element tag at byte {position})")
            mdtype, nbytes = struct.unpack(order + "II", tag)
            start = position + 8
            if start + nbytes > size:
                raise KerasMotifsError(
                    f"{path}: truncated MATLAB v5 file (the element at byte {position} ends past the end of the file)"
                )
            variable = None
            if mdtype == _MI_MATRIX:
                handle.seek(start)
                head = handle.read(min(nbytes, _V5_VAR_HEADER_BYTES))
                variable = _parse_v5_matrix(head, 0, order, path, start, nbytes, compressed=False)
            elif mdtype == _MI_COMPRESSED:
                head = _inflate_head(handle, start, nbytes, path, _V5_VAR_HEADER_BYTES + 8)
                if len(head) >= 8 and struct.unpack(order + "I", head[:4])[0] == _MI_MATRIX:
                    variable = _parse_v5_matrix(head, 8, order, path, start, nbytes, compressed=True)
            if variable is not None:
                variables[variable.name] = variable
            # Like scipy and MATLAB: the next element follows the byte count exactly.
            position = start + nbytes
    return variables


def _v5_sub_element(head: bytes, at: int, order: str, path: Path) -> tuple[int, int, int, int]:
    """Return (data type, data offset, byte count, next offset) of the element at ``head[at:]``.

    Handles the small data element form (type and byte count in one 4-byte word, at
    most 4 bytes of data) and the 8-byte padding of the normal form.
    """
    if at + 8 > len(head):
        raise KerasMotifsError(
            f"{path}: a MATLAB v5 variable header is truncated or longer than {_V5_VAR_HEADER_BYTES} bytes"
        )
    first, second = struct.unpack_from(order + "II", head, at)
    if first >> 16:
        return first & 0xFFFF, at + 4, first >> 16, at + 8
    return first, at + 8, second, at + 8 + -(-second // 8) * 8


def _parse_v5_matrix(
    head: bytes, at: int, order: str, path: Path, element: int, element_bytes: int, compressed: bool
) -> _V5Variable:
    """Parse the array flags, dimensions, name and real-part tag of the miMATRIX data at ``head[at:]``."""

    def sub_element(at: int, expected: int | None, what: str) -> tuple[bytes, int]:
        mdtype, offset, nbytes, after = _v5_sub_element(head, at, order, path)
        if (expected is not None and mdtype != expected) or offset + nbytes > len(head):
            raise KerasMotifsError(f"{path}: damaged MATLAB v5 variable ({what} element at byte {at})")
        return head[offset : offset + nbytes], after

    flags_data, at = sub_element(at, _MI_UINT32, "array flags")
    dims_data, at = sub_element(at, _MI_INT32, "dimensions")
    name_data, at = sub_element(at, None, "array name")
    if len(flags_data) < 4 or len(dims_data) < 8:
        raise KerasMotifsError(f"{path}: damaged MATLAB v5 variable (array flags or dimensions too short)")
    (flags,) = struct.unpack_from(order + "I", flags_data)
    shape = struct.unpack(order + f"{len(dims_data) // 4}i", dims_data[: len(dims_data) // 4 * 4])
    name = name_data.decode("latin-1")
    class_code = flags & 0xFF
    mx_class = _MX_CLASSES[class_code - 1] if 1 <= class_code <= len(_MX_CLASSES) else f"class {class_code}"
    dtype, data_offset = None, 0
    if _MX_FIRST_NUMERIC <= class_code <= len(_MX_CLASSES):
        mdtype, data_offset, nbytes, _ = _v5_sub_element(head, at, order, path)
        if mdtype not in _MI_NUMERIC:
            raise KerasMotifsError(f"{path}: {name}: real part of unknown MATLAB v5 data type {mdtype}")
        dtype = np.dtype(order + _MI_NUMERIC[mdtype])
        if nbytes != math.prod(shape) * dtype.itemsize:
            raise KerasMotifsError(
                f"{path}: {name}: real part holds {nbytes} bytes, not the {math.prod(shape)} {dtype.name} "
                f"values of shape {shape} (damaged file)"
            )
        data_offset += 0 if compressed else element
    return _V5Variable(
        name=name,
        shape=shape,
        mx_class=mx_class,
        is_complex=bool(flags & _MX_COMPLEX_FLAG),
        dtype=dtype,
        element=element,
        element_bytes=element_bytes,
        compressed=compressed,
        data_offset=data_offset,
    )


def _check_v5_numeric(variable: _V5Variable, path: Path) -> None:
    """Refuse a MATLAB v5 variable that is not a real numeric array."""
    if variable.dtype is None or variable.is_complex:
        kind = f"a {variable.mx_class}" if variable.dtype is None else f"a complex {variable.mx_class}"
        raise KerasMotifsError(f"{path}: {variable.name} is {kind} array; DeepSEA's arrays are real and numeric")


def _inflate(handle, start: int, nbytes: int, path: Path, piece: int) -> Iterator[bytes]:
    """Yield the bytes that the zlib data at ``start`` (``nbytes`` long) inflates to.

    Reads ``piece`` bytes at a time and yields pieces of at most ``piece`` bytes, so
    memory stays bounded whatever the compression ratio.
    """
    inflater = zlib.decompressobj()
    handle.seek(start)
    remaining = nbytes
    try:
        while not inflater.eof:
            data = inflater.unconsumed_tail
            if not data:
                if not remaining:
                    return
                data = handle.read(min(remaining, piece))
                remaining -= len(data)
            output = inflater.decompress(data, piece)
            if output:
                yield output
    except zlib.error as err:
        raise KerasMotifsError(f"{path}: damaged compressed MATLAB v5 variable ({err})") from None


def _inflate_head(handle, start: int, nbytes: int, path: Path, size: int) -> bytes:
    """Return the first ``size`` bytes (fewer if it is shorter) the zlib data at ``start`` inflates to."""
    head = bytearray()
    for output in _inflate(handle, start, nbytes, path, size):
        head += output
        if len(head) >= size:
            break
    return bytes(head[:size])


class _V5Rows:
    """Rows of a column-major (Fortran order) array stored in a file, read slice by slice.

    Element ``(n, i, j, ...)`` of an array of shape ``(N, I, J, ...)`` lies at
    ``n + N * (i + I * (j + ...))``: every column (one index of the trailing axes) holds
    N contiguous values, so rows ``lo:hi`` are one read of ``hi - lo`` values per column.
    Plain reads, not a memory map: the pages a map touches count in the process's
    resident memory and, with the kernel's read-around, grow far past the slice.
    """

    def __init__(self, handle, offset: int, dtype: np.dtype, shape: tuple[int, ...], path: Path):
        self.handle, self.offset, self.dtype, self.shape, self.path = handle, offset, dtype, shape, path

    def read(self, lo: int, hi: int) -> np.ndarray:
        """Return rows ``lo:hi``, shape ``(hi - lo,) + shape[1:]``, as a new array of the stored type."""
        num = self.shape[0]
        columns = np.empty((math.prod(self.shape[1:]), hi - lo), dtype=self.dtype)
        for column, values in enumerate(columns):
            self.handle.seek(self.offset + (column * num + lo) * self.dtype.itemsize)
            if self.handle.readinto(values) != values.nbytes:
                raise KerasMotifsError(f"{self.path}: truncated MATLAB v5 file")
        return columns.reshape(self.shape[:0:-1] + (hi - lo,)).transpose()


@contextmanager
def _v5_row_readers(path: Path, keys: Sequence[str], scratch: Path) -> Iterator[dict[str, _V5Rows]]:
    """Yield a row reader per named numeric array of a MATLAB v5 file, in bounded memory.

    An uncompressed array is read in place (values of its stored type). A compressed
    one is first inflated, in one streaming pass checking that its values are 0 or 1,
    into an anonymous temporary uint8 file in ``scratch`` (its N x ... bytes of free
    space are checked first); the file disappears when the readers are closed.
    """
    variables = _v5_variables(path)
    with ExitStack() as stack:
        handle = stack.enter_context(open(path, "rb", buffering=0))
        readers = {}
        for key in keys:
            if key not in variables:
                raise KerasMotifsError(f"{path}: no {key} (arrays: {', '.join(variables) or 'none'})")
            variable = variables[key]
            _check_v5_numeric(variable, path)
            if variable.compressed:
                spool = stack.enter_context(_inflate_to_uint8(path, handle, variable, scratch))
                readers[key] = _V5Rows(spool, 0, np.dtype(np.uint8), variable.shape, path)
            else:
                readers[key] = _V5Rows(handle, variable.data_offset, variable.dtype, variable.shape, path)
        yield readers


@contextmanager
def _inflate_to_uint8(path: Path, handle, variable: _V5Variable, scratch: Path) -> Iterator:
    """Inflate a compressed variable's real part into a temporary uint8 file; yield it, open."""
    count = math.prod(variable.shape)
    free = shutil.disk_usage(scratch).free
    if count > free:
        raise KerasMotifsError(
            f"{path}: {variable.name} is compressed; reading it in slices needs {count:,} bytes of temporary "
            f"space in {scratch}, only {free:,} free"
        )
    itemsize = variable.dtype.itemsize
    end = variable.data_offset + count * itemsize
    with tempfile.TemporaryFile(dir=scratch, prefix=f".{variable.name}.", suffix=".tmp") as spool:
        position, carry, written = 0, b"", 0
        for piece in _inflate(handle, variable.element, variable.element_bytes, path, _IO_BLOCK):
            lo, hi = max(variable.data_offset - position, 0), min(end - position, len(piece))
            position += len(piece)
            if lo < hi:
                data = carry + piece[lo:hi] if carry else memoryview(piece)[lo:hi]
                whole = len(data) // itemsize * itemsize
                carry = bytes(data[whole:])
                values = np.frombuffer(data, dtype=variable.dtype, count=whole // itemsize)
                spool.write(_as_uint8(values, path, variable.name))
                written += values.size
            if position >= end:
                break
        if written != count:
            raise KerasMotifsError(f"{path}: {variable.name}'s compressed data ends early (damaged file)")
        yield spool


def _as_uint8(values: np.ndarray, path: Path, key: str) -> np.ndarray:
    """Return 0/1 values as uint8, refusing anything else."""
    if values.dtype != np.uint8 and values.dtype != np.bool_:
        if values.size and not np.isin(values, (0, 1)).all():
            raise KerasMotifsError(f"{path}: {key} holds values other than 0 and 1; DeepSEA's arrays are binary")
        values = values.astype(np.uint8)
    elif values.size and values.max() > 1:
        raise KerasMotifsError(f"{path}: {key} holds values other than 0 and 1; DeepSEA's arrays are binary")
    return values.view(np.uint8)


def _convert_split(
    source: _Source, h5: h5py.File, split: str, columns: list[int], chunk_size: int
) -> tuple[int, list[int]]:
    """Append the sequences of ``source`` positive for any of ``columns`` to x_/y_{split}."""
    x_out = h5.create_dataset(
        f"x_{split}",
        shape=(0, source.length, 4),
        maxshape=(None, source.length, 4),
        dtype=np.uint8,
        chunks=(_OUTPUT_CHUNK_ROWS, source.length, 4),
        compression="gzip",
    )
    y_out = h5.create_dataset(
        f"y_{split}",
        shape=(0, len(columns)),
        maxshape=(None, len(columns)),
        dtype=np.uint8,
        chunks=(4096, len(columns)),
        compression="gzip",
    )
    step = -(-chunk_size // source.step) * source.step
    kept = 0
    positives = np.zeros(len(columns), dtype=np.int64)
    for lo in range(0, source.num_seqs, step):
        hi = min(lo + step, source.num_seqs)
        x, y = source.read(lo, hi)
        labels = _as_uint8(np.ascontiguousarray(y), source.path, f"{split}data")
        selected = labels[:, columns]
        keep = selected.any(axis=1)
        count = int(keep.sum())
        if not count:
            continue
        one_hot = _as_uint8(x[keep][:, :, DEEPSEA_TO_ACGT], source.path, f"{split}xdata")
        x_out.resize(kept + count, axis=0)
        y_out.resize(kept + count, axis=0)
        x_out[kept:] = one_hot
        y_out[kept:] = selected[keep]
        positives += selected[keep].sum(axis=0, dtype=np.int64)
        kept += count
    return kept, positives.tolist()
