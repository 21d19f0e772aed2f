"""MATLAB v5 MAT-files read in slices of rows, in bounded memory.

``scipy.io.loadmat`` reads arrays whole, and scipy has no public streaming reader, so
this module is a small reader of the "MAT-File Format" (MathWorks), level 5, for the
large numeric arrays of a data set (DeepSEA's valid.mat and test.mat, see
:mod:`keras_motifs.data.deepsea`). It reads real numeric arrays only, of either byte order.

:func:`variables` walks the file's top-level data elements to locate each array's real
part without reading it. :func:`row_readers` then reads slices of rows (the first axis)
with one read per column of the column-major data (:class:`RowReader`). Because rows
are the fastest axis in that order, a slice of rows of a *compressed* array
(miCOMPRESSED, scipy's and MATLAB's default) is spread over the whole zlib stream: such
an array must be binary (0 or 1, as one-hot sequences and labels are) and is first
inflated in one streaming pass into an anonymous temporary uint8 file, then sliced the
same way.
"""

from __future__ import annotations

import math
import os
import shutil
import struct
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from keras_motifs.errors import KerasMotifsError

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


@dataclass(frozen=True)
class Variable:
    """A variable of a MATLAB v5 file, located by :func:`variables` without reading its data.

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


def variables(path: str | os.PathLike) -> dict[str, Variable]:
    """Walk the top-level data elements of a MATLAB v5 file; return its variables by name.

    Reads the 128-byte header and, per variable, the first bytes of its element (inflating
    only those of a compressed one): no array data.

    Parameters
    ----------
    path : str or PathLike
        The ``.mat`` file.

    Returns
    -------
    dict of str to Variable
        Every top-level array, numeric or not, in file order.
    """
    path = Path(path)
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
        found: dict[str, Variable] = {}
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
                variable = _parse_matrix(head, 0, order, path, start, nbytes, compressed=False)
            elif mdtype == _MI_COMPRESSED:
                head = _inflate_head(handle, start, nbytes, path, _V5_VAR_HEADER_BYTES + 8)
                if len(head) >= 8 and struct.unpack(order + "I", head[:4])[0] == _MI_MATRIX:
                    variable = _parse_matrix(head, 8, order, path, start, nbytes, compressed=True)
            if variable is not None:
                found[variable.name] = variable
            # Like scipy and MATLAB: the next element follows the byte count exactly.
            position = start + nbytes
    return found


def _sub_element(head: bytes, at: int, order: str, path: Path) -> tuple[int, int, int, int]:
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


def _parse_matrix(
    head: bytes, at: int, order: str, path: Path, element: int, element_bytes: int, compressed: bool
) -> Variable:
    """Parse the array flags, dimensions, name and real-part tag of the miMATRIX data at ``head[at:]``."""

    def sub_element(at: int, expected: int | None, what: str) -> tuple[bytes, int]:
        mdtype, offset, nbytes, after = _sub_element(head, at, order, path)
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
        mdtype, data_offset, nbytes, _ = _sub_element(head, at, order, path)
        if mdtype not in _MI_NUMERIC:
            raise KerasMotifsError(f"{path}: {name}: real part of unknown MATLAB v5 data type {mdtype}")
        dtype = np.dtype(order + _MI_NUMERIC[mdtype])
        if nbytes != math.prod(shape) * dtype.itemsize:
            raise KerasMotifsError(
                f"{path}: {name}: real part holds {nbytes} bytes, not the {math.prod(shape)} {dtype.name} "
                f"values of shape {shape} (damaged file)"
            )
        data_offset += 0 if compressed else element
    return Variable(
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


def check_numeric(variable: Variable, path: Path, reason: str = "only real numeric arrays are read") -> None:
    """Refuse a MATLAB v5 variable that is not a real numeric array.

    Parameters
    ----------
    variable : Variable
        A variable found by :func:`variables`.
    path : Path
        Its file, named in the message.
    reason : str
        Why such an array is refused: the end of the message. Default is "only real
        numeric arrays are read".
    """
    if variable.dtype is None or variable.is_complex:
        kind = f"a {variable.mx_class}" if variable.dtype is None else f"a complex {variable.mx_class}"
        raise KerasMotifsError(f"{path}: {variable.name} is {kind} array; {reason}")


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


class RowReader:
    """Rows of a column-major (Fortran order) array stored in a file, read slice by slice.

    Element ``(n, i, j, ...)`` of an array of shape ``(N, I, J, ...)`` lies at
    ``n + N * (i + I * (j + ...))``: every column (one index of the trailing axes) holds
    N contiguous values, so rows ``lo:hi`` are one read of ``hi - lo`` values per column.
    Plain reads, not a memory map: the pages a map touches count in the process's
    resident memory and, with the kernel's read-around, grow far past the slice.

    Parameters
    ----------
    handle : binary file
        Open, seekable file holding the array.
    offset : int
        Offset of the array's first value in ``handle``.
    dtype : numpy.dtype
        Stored type of the values, with their byte order.
    shape : tuple of int
        Shape of the array, rows first (as ``scipy.io.loadmat`` returns it).
    path : Path
        The file the array comes from, named in messages.
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
def row_readers(
    path: str | os.PathLike,
    keys: Sequence[str],
    scratch: str | os.PathLike,
    binary_reason: str = "a compressed array is read as binary uint8",
) -> Iterator[dict[str, RowReader]]:
    """Yield a row reader per named numeric array of a MATLAB v5 file, in bounded memory.

    An uncompressed array is read in place (values of its stored type). A compressed
    one is first inflated, in one streaming pass checking that its values are 0 or 1,
    into an anonymous temporary uint8 file in ``scratch`` (its N x ... bytes of free
    space are checked first); the file disappears when the readers are closed.

    Parameters
    ----------
    path : str or PathLike
        The ``.mat`` file.
    keys : sequence of str
        Names of the arrays to read; each must be real and numeric.
    scratch : str or PathLike
        Folder of the temporary files of compressed arrays.
    binary_reason : str
        Why a compressed array must be binary: the end of the message refusing one
        that is not (see :func:`as_binary_uint8`). Default is "a compressed array is
        read as binary uint8".

    Yields
    ------
    dict of str to RowReader
        Per key, its reader, valid until the block ends.
    """
    path, scratch = Path(path), Path(scratch)
    found = variables(path)
    with ExitStack() as stack:
        handle = stack.enter_context(open(path, "rb", buffering=0))
        readers = {}
        for key in keys:
            if key not in found:
                raise KerasMotifsError(f"{path}: no {key} (arrays: {', '.join(found) or 'none'})")
            variable = found[key]
            check_numeric(variable, path)
            if variable.compressed:
                spool = stack.enter_context(_inflate_to_uint8(path, handle, variable, scratch, binary_reason))
                readers[key] = RowReader(spool, 0, np.dtype(np.uint8), variable.shape, path)
            else:
                readers[key] = RowReader(handle, variable.data_offset, variable.dtype, variable.shape, path)
        yield readers


@contextmanager
def _inflate_to_uint8(path: Path, handle, variable: Variable, scratch: Path, binary_reason: str) -> Iterator:
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
                spool.write(as_binary_uint8(values, path, variable.name, binary_reason))
                written += values.size
            if position >= end:
                break
        if written != count:
            raise KerasMotifsError(f"{path}: {variable.name}'s compressed data ends early (damaged file)")
        yield spool


def as_binary_uint8(
    values: np.ndarray, path: Path, key: str, reason: str = "expected a binary array"
) -> np.ndarray:
    """Return 0/1 values as uint8, refusing anything else.

    Parameters
    ----------
    values : numpy.ndarray
        Values of any numeric or boolean type.
    path : Path
        The file they come from, named in the message.
    key : str
        The array they belong to, named in the message.
    reason : str
        Why other values are refused: the end of the message. Default is "expected
        a binary array".

    Returns
    -------
    numpy.ndarray
        The values as uint8 (a view when they already are uint8 or bool).
    """
    if values.dtype != np.uint8 and values.dtype != np.bool_:
        if values.size and not np.isin(values, (0, 1)).all():
            raise KerasMotifsError(f"{path}: {key} holds values other than 0 and 1; {reason}")
        values = values.astype(np.uint8)
    elif values.size and values.max() > 1:
        raise KerasMotifsError(f"{path}: {key} holds values other than 0 and 1; {reason}")
    return values.view(np.uint8)
