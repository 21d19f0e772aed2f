"""numba's cache under a read-only image: a writable copy seeded from the warm, read-only one."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from keras_motifs.motifs import numba_cache
from keras_motifs.motifs.numba_cache import CACHE_DIR_VARIABLE, ensure_writable_cache


@pytest.fixture
def environment(tmp_path, monkeypatch):
    """A private temporary folder; NUMBA_CACHE_DIR and numba's configuration restored afterwards."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    before = os.environ.get(CACHE_DIR_VARIABLE)
    yield scratch
    if before is None:
        os.environ.pop(CACHE_DIR_VARIABLE, None)
    else:
        os.environ[CACHE_DIR_VARIABLE] = before
    if "numba" in sys.modules:
        from numba.core import config

        config.reload_config()


def _read_only(folder, monkeypatch):
    """Make ``folder`` read-only; root ignores file modes, so there numba's check is told so too."""
    for path in [*folder.rglob("*"), folder]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    if os.geteuid() == 0:
        writable = numba_cache._writable
        monkeypatch.setattr(numba_cache, "_writable", lambda path: path != str(folder) and writable(path))
    assert not numba_cache._writable(str(folder))


def test_unset_left_to_numba(environment):
    os.environ.pop(CACHE_DIR_VARIABLE, None)
    assert ensure_writable_cache() is None
    assert CACHE_DIR_VARIABLE not in os.environ
    assert not list(environment.iterdir())


def test_writable_left_as_configured(environment, tmp_path):
    configured = tmp_path / "cache"
    os.environ[CACHE_DIR_VARIABLE] = str(configured)
    assert ensure_writable_cache() == str(configured)
    assert os.environ[CACHE_DIR_VARIABLE] == str(configured)
    assert not list(environment.iterdir())


def test_read_only_cache_seeds_a_private_writable_copy(environment, tmp_path, monkeypatch):
    warm = tmp_path / "opt-numba-cache"
    kernels = warm / "memelite_abc123"
    kernels.mkdir(parents=True)
    (kernels / "tomtom._tomtom-10.py311.nbi").write_bytes(b"index")
    (kernels / "tomtom._tomtom-10.py311.1.nbc").write_bytes(b"kernel")
    warm.chmod(0o777)  # world-writable in the image: the copy must not inherit it
    _read_only(warm, monkeypatch)
    os.environ[CACHE_DIR_VARIABLE] = str(warm)

    copy = ensure_writable_cache()

    assert os.environ[CACHE_DIR_VARIABLE] == copy
    assert os.path.dirname(copy) == str(environment)
    assert numba_cache._writable(copy)
    copied = {path.relative_to(copy).as_posix(): path.read_bytes()
              for path in sorted(Path(copy).rglob("*")) if path.is_file()}
    assert copied == {"memelite_abc123/tomtom._tomtom-10.py311.nbi": b"index",
                      "memelite_abc123/tomtom._tomtom-10.py311.1.nbc": b"kernel"}
    for folder, _, _ in os.walk(copy):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700, folder
    # Called again (every Tomtom calls it), the copy is writable and kept.
    assert ensure_writable_cache() == copy


def test_uncreatable_cache_gets_an_empty_writable_one(environment, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    os.environ[CACHE_DIR_VARIABLE] = str(blocker / "cache")  # cannot be made, even by root

    copy = ensure_writable_cache()

    assert os.path.dirname(copy) == str(environment)
    assert os.listdir(copy) == []
    assert numba_cache._writable(copy)


def test_numba_already_imported_reads_the_new_folder(environment, tmp_path):
    config = pytest.importorskip("numba.core.config")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    os.environ[CACHE_DIR_VARIABLE] = str(blocker / "cache")
    config.reload_config()
    assert config.CACHE_DIR == str(blocker / "cache")

    copy = ensure_writable_cache()

    assert config.CACHE_DIR == copy


def test_no_writable_temporary_folder_is_a_clear_error(environment, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    os.environ[CACHE_DIR_VARIABLE] = str(blocker / "cache")
    monkeypatch.setattr(tempfile, "tempdir", str(blocker / "tmp"))

    with pytest.raises(RuntimeError, match=r"NUMBA_CACHE_DIR=.*a-file/cache is not writable.*TMPDIR"):
        ensure_writable_cache()


def test_tomtom_prepares_the_cache_before_memelite_is_imported():
    # In a fresh interpreter: memelite's import is what fails in a read-only image, so the
    # cache must be made writable before it.
    code = (
        "import sys\n"
        "import numpy as np\n"
        "import keras_motifs.motifs.tomtom as tomtom_module\n"
        "from keras_motifs.motifs import Motif\n"
        "def prepared():\n"
        "    sys.exit(42 if 'memelite' not in sys.modules else 1)\n"
        "tomtom_module.ensure_writable_cache = prepared\n"
        "motif = Motif(id='m', ppm=np.full((6, 4), 0.25))\n"
        "tomtom_module.tomtom([motif], [motif], engine='memelite')\n"
    )
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 42, proc.stderr[-2000:]
