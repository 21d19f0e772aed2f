"""Atomic outputs: write to a temporary name in the same folder, then rename.

A command that fails half way never leaves a half-written file or folder under the
name the user asked for, and every problem met while writing is reported under
that name (``OUT: no space left on device``), never under the temporary one.

Temporaries are named ``.NAME.XXXXXXXX.tmp`` beside ``NAME``. Those being written
are kept in a registry, so that a signal handler can remove them before the
process ends (:func:`discard_temporaries`); a later run removes those that a killed
process left behind (:func:`remove_leftover_temporaries`), which is safe only while no
other process writes the folder: commands that resume in a folder hold its lock
(:func:`folder_lock`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from keras_motifs.errors import KerasMotifsError, KerasMotifsWarning

#: Names of the temporaries of :func:`atomic_file` and :func:`atomic_directory`
#: (eight characters of ``tempfile``'s alphabet, which earlier versions used).
TEMPORARY_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")

#: Error numbers that only writing causes: they concern the output, whatever the call.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EROFS, getattr(errno, "EDQUOT", errno.ENOSPC)}

#: How HDF5 quotes the system's error number in the messages h5py passes on.
_ERRNO_IN_MESSAGE = re.compile(r"errno = (\d+)")

#: The lock file of a folder that a command writes (:func:`folder_lock`); kept, never a temporary.
LOCK_NAME = ".keras-motifs.lock"

#: Temporaries being written -> the paths they become.
_live: dict[Path, Path] = {}


def os_error_reason(err: Exception) -> str:
    """Say in a few lower-case words, on one line, what an OS or HDF5 error means.

    Parameters
    ----------
    err : Exception
        An OSError, or an error of h5py that quotes HDF5's ``errno = N``.

    Returns
    -------
    str
        The system's text for the error number, e.g. "no space left on device",
        else the first line of the message.
    """
    code = getattr(err, "errno", None)
    if not code:
        found = _ERRNO_IN_MESSAGE.search(str(err))
        code = int(found.group(1)) if found else None
    text = os.strerror(code) if code else (str(err).strip().splitlines() or [type(err).__name__])[0]
    return text[:1].lower() + text[1:]


def _shown_path(path: str | os.PathLike) -> Path:
    """The name the user knows for ``path``: a path inside a temporary being written as its final path."""
    path = Path(path)
    for tmp, final in list(_live.items()):
        if path == tmp or tmp in path.parents:
            return _shown_path(final / path.relative_to(tmp))
    return path


def _filenames(err: Exception) -> list[Path]:
    """The file names an OSError carries."""
    names = (getattr(err, "filename", None), getattr(err, "filename2", None))
    return [Path(name) for name in names if isinstance(name, (str, os.PathLike))]


def _is_write_error(err: Exception, path: Path, tmp: Path) -> bool:
    """Whether an error met while writing ``tmp`` for ``path`` is about the output (not, say, a missing input)."""
    text = str(err)
    names_tmp = tmp.name in text
    if isinstance(err, OSError):
        if _filenames(err):
            return any(name in (path, tmp) or tmp in name.parents for name in _filenames(err))
        return names_tmp or err.errno in _WRITE_ERRNOS
    # h5py raises RuntimeError for some failures of HDF5's file driver: only those quoting errno and the file
    return isinstance(err, RuntimeError) and names_tmp and _ERRNO_IN_MESSAGE.search(text) is not None


def _write_error(path: Path, tmp: Path, err: Exception) -> KerasMotifsError:
    """``err``, met while writing ``tmp``, as a KerasMotifsError naming ``path`` (or the file in it at fault)."""
    inside = [name for name in _filenames(err) if tmp in name.parents]
    shown = _shown_path(inside[0] if inside else path)
    reason = re.sub(rf"[^\s'\"]*{re.escape(tmp.name)}", lambda _: str(shown), os_error_reason(err))
    return KerasMotifsError(f"{shown}: {reason}")


def _check_parent(path: Path) -> None:
    """Create the parent folder of ``path`` or fail with a clear message."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise KerasMotifsError(f"{_shown_path(path)}: cannot create its folder ({os_error_reason(err)})") from None
    if not os.access(path.parent, os.W_OK):
        raise KerasMotifsError(f"{_shown_path(path)}: folder {_shown_path(path.parent)} is not writable")


def _new_temporary(path: Path, create: Callable[[Path], None]) -> Path:
    """Create a temporary beside ``path`` with ``create`` (which fails if it exists), registered first.

    Registering the name before it exists leaves no moment at which a signal
    handler could miss it.
    """
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        _live[tmp] = path
        try:
            create(tmp)
            return tmp
        except FileExistsError:
            del _live[tmp]
        except OSError as err:
            del _live[tmp]
            raise KerasMotifsError(
                f"{_shown_path(path)}: cannot write in {_shown_path(path.parent)} ({os_error_reason(err)})"
            ) from None
    raise KerasMotifsError(f"{_shown_path(path)}: cannot find a free temporary name in {_shown_path(path.parent)}")


def _remove(path: Path) -> None:
    """Remove a file or folder tree if it exists; a symbolic link itself, never its target."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _discard(tmp: Path) -> None:
    """Remove a temporary, then forget it."""
    _remove(tmp)
    _live.pop(tmp, None)


def discard_temporaries() -> None:
    """Remove every temporary being written, for a process that is about to end (a signal handler).

    Nothing half-written then remains: the final names are only ever made by a rename.
    """
    for tmp in list(_live):
        with contextlib.suppress(OSError):
            _remove(tmp)


def remove_leftover_temporaries(folder: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """Remove what writers killed half way left under ``folder``: entries named like a temporary.

    Parameters
    ----------
    folder : str or PathLike
        The folder to clean (symbolic links are not followed); a missing one has nothing.
    recursive : bool
        Search every depth, not only the folder's own entries. Default is True.

    Returns
    -------
    list of Path
        The entries removed.
    """
    removed = []
    for parent, folders, files in os.walk(folder):
        removed += [Path(parent) / name for name in [*folders, *files] if TEMPORARY_NAME.fullmatch(name)]
        folders[:] = [name for name in folders if recursive and not TEMPORARY_NAME.fullmatch(name)]
    for path in removed:
        _remove(path)
    return removed


@contextlib.contextmanager
def _written_as(path: Path, tmp: Path) -> Iterator[None]:
    """Inside the block ``tmp`` is written for ``path``: errors about it are reported under ``path``, and
    ``tmp`` is removed when the block ends, whatever happened."""
    try:
        yield
    except (OSError, RuntimeError) as err:
        if not _is_write_error(err, path, tmp):
            raise
        raise _write_error(path, tmp, err) from None
    finally:
        _discard(tmp)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    Parameters
    ----------
    path : str or PathLike
        The final file name; an existing folder there is refused.

    Yields
    ------
    Path
        An empty temporary file in the same folder (same file system, so the final
        rename is atomic). On an exception it is removed and ``path`` is untouched.

    Raises
    ------
    KerasMotifsError
        ``path`` is a folder, or writing or renaming failed (a full disk, a missing
        permission): the message names ``path`` and the reason.
    """
    path = Path(path)
    if path.is_dir():
        raise KerasMotifsError(f"{_shown_path(path)}: is a folder; give a file name")
    _check_parent(path)
    tmp = _new_temporary(path, lambda name: os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)))
    with _written_as(path, tmp):
        yield tmp
        os.replace(tmp, path)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; rename it to ``path`` on success.

    Parameters
    ----------
    path : str or PathLike
        The final folder name.
    overwrite : bool
        Replace an existing folder at ``path`` once the new one is complete (the old
        one is renamed away first, so ``path`` is never half deleted). Default is
        False: an existing folder is an error.

    Yields
    ------
    Path
        A new empty temporary folder in the same parent folder. On an exception it
        is removed and ``path`` is untouched.

    Raises
    ------
    KerasMotifsError
        ``path`` exists (without ``overwrite``) or is a file, or writing or renaming
        failed: the message names ``path`` and the reason.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise KerasMotifsError(f"{_shown_path(path)}: output folder already exists (remove it or choose another)")
    if path.exists() and not path.is_dir():
        raise KerasMotifsError(f"{_shown_path(path)}: is a file; give a folder name")
    _check_parent(path)
    tmp = _new_temporary(path, lambda name: os.mkdir(name, 0o777))
    with _written_as(path, tmp):
        yield tmp
        if path.exists():
            old = _new_temporary(path, lambda name: os.mkdir(name, 0o700))
            try:
                os.replace(path, old)  # a folder may replace an empty one
                try:
                    os.replace(tmp, path)
                except OSError:
                    os.replace(old, path)
                    raise
            finally:
                _discard(old)
        else:
            os.replace(tmp, path)


@contextlib.contextmanager
def scratch_directory(beside: str | os.PathLike) -> Iterator[Path]:
    """Yield a registered temporary folder beside ``beside``, removed when the block ends.

    For intermediate files (an extracted tarball) that must not outlive the command,
    even when a signal ends it (:func:`discard_temporaries`) or it is killed
    (:func:`remove_leftover_temporaries` matches its name).
    """
    beside = Path(beside)
    _check_parent(beside)
    tmp = _new_temporary(beside, lambda name: os.mkdir(name, 0o700))
    try:
        yield tmp
    finally:
        _discard(tmp)


@contextlib.contextmanager
def temporaries_in(folder: str | os.PathLike) -> Iterator[None]:
    """Inside the block, the temporary files and folders that libraries make with ``tempfile`` go to ``folder``.

    For a library that leaves its temporaries behind when it fails (Keras' assets
    folder when saving a model fills the disk): made inside a folder of ours that is
    removed whatever happens, nothing of them outlives the command. The previous
    temporary folder returns afterwards.
    """
    previous = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield
    finally:
        tempfile.tempdir = previous


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike, command: str) -> Iterator[int]:
    """Hold ``folder``'s lock while the block runs; yield the lock file's descriptor.

    A second command that asks for the lock of the same folder fails at once, naming
    the folder and the process that took it, instead of removing the first one's
    temporaries as leftovers and writing the same files. Processes started with the
    descriptor (``subprocess.Popen(..., pass_fds=[fd])``) hold the lock with this one,
    and keep it until they end, should this one end first.

    Parameters
    ----------
    folder : str or PathLike
        An existing folder.
    command : str
        What holds the lock, for the message of a command refused (e.g. "run").

    Raises
    ------
    KerasMotifsError
        Another process holds the lock.

    Warns
    -----
    KerasMotifsWarning
        The file system does not lock (the block runs unlocked).
    """
    import fcntl

    path = Path(folder) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise KerasMotifsError(f"{folder}: cannot create its lock file {LOCK_NAME} ({os_error_reason(err)})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            raise KerasMotifsError(
                f"{folder}: another keras-motifs command is writing this folder ({holder}, or the worker processes "
                f"it started); wait for it to end, or use another folder"
            ) from None
        except OSError as err:  # a file system without locks (some cluster mounts): go on, saying what is lost
            warnings.warn(f"{folder}: cannot lock this folder ({os_error_reason(err)}); a second command started "
                          "in it would not be refused, so run one at a time", KerasMotifsWarning, stacklevel=3)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"keras-motifs {command}, process {os.getpid()}".encode(), 0)
        yield fd
    finally:
        os.close(fd)


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
