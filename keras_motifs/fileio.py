"""Atomic outputs: write to a temporary name in the same folder, then rename.

A command that fails half way never leaves a half-written file or folder under the
name the user asked for.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from keras_motifs.errors import KerasMotifsError


def _umask() -> int:
    """Return the process umask (reading it requires setting it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _check_parent(path: Path) -> None:
    """Create the parent folder of ``path`` or fail with a clear message."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise KerasMotifsError(f"{path}: cannot create its folder ({err.strerror})") from None
    if not os.access(path.parent, os.W_OK):
        raise KerasMotifsError(f"{path}: folder {path.parent} is not writable")


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    Parameters
    ----------
    path : str or PathLike
        The final file name.

    Yields
    ------
    Path
        A temporary file name in the same folder (same file system, so the final
        rename is atomic). On an exception it is removed and ``path`` is untouched.
    """
    path = Path(path)
    _check_parent(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise KerasMotifsError(f"{path}: cannot write in {path.parent} ({err.strerror})") from None
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.chmod(0o666 & ~_umask())
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; rename it to ``path`` on success.

    Parameters
    ----------
    path : str or PathLike
        The final folder name.
    overwrite : bool
        Replace an existing folder at ``path`` once the new one is complete.
        Default is False: an existing folder is an error.

    Yields
    ------
    Path
        A new empty temporary folder in the same parent folder. On an exception it
        is removed and ``path`` is untouched.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise KerasMotifsError(f"{path}: output folder already exists (remove it or choose another)")
    _check_parent(path)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as err:
        raise KerasMotifsError(f"{path}: cannot write in {path.parent} ({err.strerror})") from None
    tmp.chmod(0o777 & ~_umask())
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path``, atomically."""
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def read_json(path: str | os.PathLike, what: str = "JSON file") -> Any:
    """Read a JSON file, turning a missing or malformed file into a clear error."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise KerasMotifsError(f"{path}: {what} not found") from None
    except json.JSONDecodeError as err:
        raise KerasMotifsError(f"{path}: not valid JSON (line {err.lineno}: {err.msg})") from None
