"""A numba cache folder that numba can write to, for memelite's compiled kernels.

numba uses a cache folder only if it can write there (it creates a temporary file to
check), and raises ``RuntimeError: cannot cache function ...: no locator available``
at import time when no candidate is writable. In a read-only image (Apptainer or
Singularity as Nextflow runs them: ``--no-home``, the environment cleared, the image
read-only; or ``docker --read-only``), the image's warm ``NUMBA_CACHE_DIR`` is skipped,
memelite's own ``__pycache__`` is read-only and there is no home, so
``import memelite.tomtom`` fails.

:func:`ensure_writable_cache` is called before memelite is imported: when the
configured ``NUMBA_CACHE_DIR`` is not writable, it copies that cache into a fresh
private folder in the temporary folder (``TMPDIR``, else ``/tmp``, else the current
folder: Python's :func:`tempfile.gettempdir`) and points numba there, so the kernels
compiled when the image was built load without compiling again. The copy is removed
when the process exits.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sys
import tempfile

logger = logging.getLogger("keras_motifs")

CACHE_DIR_VARIABLE = "NUMBA_CACHE_DIR"


def _writable(folder: str) -> bool:
    """Whether numba can use ``folder`` as a cache: numba's own check (create it, write a temporary file)."""
    try:
        os.makedirs(folder, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def _private_copy(source: str) -> str:
    """A new folder, private to this user, holding a copy of ``source`` (if it is a folder)."""
    try:
        copy = tempfile.mkdtemp(prefix="keras-motifs-numba-cache-")
    except OSError as error:  # FileNotFoundError when no temporary folder is usable
        raise RuntimeError(
            f"numba cannot write its cache: {CACHE_DIR_VARIABLE}={source} is not writable and "
            f"no writable temporary folder was found ({error}); set {CACHE_DIR_VARIABLE} or "
            "TMPDIR to a writable folder") from error
    atexit.register(shutil.rmtree, copy, ignore_errors=True)
    if os.path.isdir(source):
        # copyfile, not copy2: the copy takes no permissions from the image, where the cache
        # may be world-writable; folders are then made private, since numba loads pickles.
        shutil.copytree(source, copy, copy_function=shutil.copyfile, dirs_exist_ok=True)
        for folder, _, _ in os.walk(copy):
            os.chmod(folder, 0o700)
    return copy


def ensure_writable_cache() -> str | None:
    """Point numba at a writable cache folder, seeded from the configured one when that is read-only.

    Does nothing when ``NUMBA_CACHE_DIR`` is unset (numba's own choice: the package's
    ``__pycache__``, then the user's cache folder) or writable. Otherwise sets
    ``NUMBA_CACHE_DIR`` to a private copy of it in the temporary folder, removed at exit,
    and has numba read its configuration again if it is already imported. Call it
    before importing a module that compiles with ``cache=True`` (memelite).

    Returns
    -------
    str or None
        The cache folder numba uses from now on, or None when ``NUMBA_CACHE_DIR`` is unset.

    Raises
    ------
    RuntimeError
        If the configured folder is not writable and no temporary folder is either.
    """
    configured = os.environ.get(CACHE_DIR_VARIABLE)
    if not configured or _writable(configured):
        return configured or None
    copy = _private_copy(configured)
    os.environ[CACHE_DIR_VARIABLE] = copy
    if "numba" in sys.modules:
        from numba.core import config

        config.reload_config()
    logger.info("numba's cache %s=%s is read-only here: memelite's kernels load from a writable copy, %s",
                CACHE_DIR_VARIABLE, configured, copy)
    return copy
