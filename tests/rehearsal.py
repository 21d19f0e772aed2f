"""The rehearsal of the pipeline's modules: every module's script rendered and executed for real.

Nextflow does not run here; this does what it would do with each task of a tiny run, one
task at a time, in the workflow's order:

1. **Render.** Each process's source comes from Nextflow's own parser (``nextflow_lang``), its
   settings (``task.ext.args``, ``task.cpus``, ``shell``, ``env``, the resolved ``params``) from
   the configuration evaluated with Groovy (``nextflow_config``, with the chosen profiles and
   params overrides), and its ``script:`` body and ``output:`` section are evaluated by Groovy
   with ``task``, ``meta`` and each input bound as Nextflow binds them (``nextflow_render``).
2. **Stage.** A fresh work dir per task; each file input a symlink to the producing task's
   output, named as its ``path`` declaration says (the file's own name, or a ``stageAs:``
   pattern such as REPORT's ``part?/*``, expanded as Nextflow expands it).
3. **Run.** ``.command.sh`` is written and run with the process's shell (``bash -ue`` by
   default) in an environment like a task's: cleared but for PATH and the config's ``env``
   (so no HOME). With a launcher template it runs wherever the template says, for example in
   a container: Nextflow renders on the host and runs the script in the container.
4. **Check.** Every declared output (each ``path(...)`` pattern, globs included) exists, and
   ``versions.yml`` parses as YAML with the task's process name (``KERAS_MOTIFS:TRAIN``) as
   its one key, each tool with a version.

The channel logic of ``nextflow/workflows/keras_motifs.nf`` is reproduced here by hand (no
Nextflow): the simulation's meta id, one TRAIN per architecture x trial (``seed + trial``),
FILTERS' ``.meme`` and ``.filters.tsv`` files split into one task per layer (``meta.layer``
from the file name), the join of each layer's Tomtom table with its filter table, the
models combined with their layers for IMPORTANCE, and every task's ``runs`` folder collected
for REPORT (with no external runs). Both Tomtom modules run on each layer (TOMTOM only where
MEME's ``tomtom`` is found where tasks run): SCORE and REPORT take TOMTOM's table when it
ran, as ``--engine meme`` does, else TOMTOM_MEMELITE's, as ``--engine memelite`` does. What
``conf/modules.config`` publishes is reproduced by hand too: each run step's output files
under ``runs/`` (its ``saveAs``), into ``WORK/<params.outdir>``, and REPORT's ``report``.

Command line (one line per task: process, task, status, seconds; exit status 1 on any failure)::

    python tests/rehearsal.py --work DIR [--launcher TEMPLATE] [--profile test]
                              [--skip TOMTOM] [--param num_seqs=300] [--env NAME=VALUE]

A launcher template is a shell command with ``{root}`` (the folder of every task's work
dir), ``{workdir}`` (the task's) and ``{command}`` (the task's environment and shell running
``.command.sh``), e.g. ``podman run --rm -v {root}:{root} -w {workdir} IMAGE {command}``.
"""

from __future__ import annotations

import argparse
import copy
import glob
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nextflow_config import process_labels, task_settings_many  # noqa: E402
from nextflow_lang import parse_project  # noqa: E402
from nextflow_render import GroovyRenderer, RenderError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: The workflow every process runs in: task.process is "KERAS_MOTIFS:<NAME>".
WORKFLOW = "KERAS_MOTIFS"
#: The order the workflow runs its processes in (one task at a time here).
PROCESSES = ("SIMULATE", "JASPAR", "GROUND_TRUTH", "TRAIN", "FILTERS", "TOMTOM", "TOMTOM_MEMELITE",
             "SCORE", "IMPORTANCE", "REPORT")
#: The steps that write a piece of a run folder, published by conf/modules.config's saveAs.
RUN_STEPS = ("TRAIN", "FILTERS", "TOMTOM", "TOMTOM_MEMELITE", "SCORE", "IMPORTANCE")
#: Over the profile's params, as typed on the command line (``--num_seqs 300 --epochs 1``):
#: a tiny dataset and one epoch (the motif callback stays on).
TINY_PARAMS = {"num_seqs": "300", "epochs": "1"}
DEFAULT_PROFILES = ("test",)
#: Seconds a task may run before it counts as failed.
TASK_TIMEOUT = 900


class TaskFailed(RuntimeError):
    """A task could not be rendered, failed, or did not write what it declares."""


@dataclass
class Task:
    """One task of the rehearsal and what became of it."""

    process: str
    label: str
    workdir: Path
    status: str = "pending"
    seconds: float = 0.0
    reason: str = ""
    #: emit name -> the declaration's items (a tuple's, or the one of a plain declaration): a
    #: ``val`` item as its value, a ``path`` item as the list of files its pattern matched.
    outputs: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def line(self) -> str:
        """The one line the command line prints for this task."""
        text = f"{self.process:<16} {self.label:<28} {self.status:<8} {self.seconds:7.1f} s"
        return text + (f"  ({self.reason})" if self.status == "skipped" and self.reason else "")


@dataclass(frozen=True)
class Process:
    """A process's source as the parser read it, and its settings for the rehearsal."""

    name: str
    source: Path
    script: str
    input_text: str
    output_text: str
    settings: dict


def load_processes(root: Path, profiles: tuple[str, ...], params: dict) -> dict[str, Process]:
    """Every process of the workflow, parsed from ``root`` with its settings under ``profiles``."""
    files = parse_project(root)["files"]
    found = {}
    for relpath, info in files.items():
        for proc in info.get("processes", []):
            if proc["name"] in PROCESSES:
                found[proc["name"]] = (root / relpath, proc)
    missing = [name for name in PROCESSES if name not in found]
    if missing:
        raise TaskFailed(f"{root}: no process named {', '.join(missing)} in its .nf files")
    queries = [{"profiles": list(profiles), "process": name, "labels": process_labels(name, root), "params": params}
               for name in PROCESSES]
    settings = task_settings_many(queries, root=root)
    return {
        name: Process(name=name, source=path, script=proc["script"], input_text=proc["input_text"],
                      output_text=proc["outputs"], settings=settings[i])
        for i, (name, (path, proc)) in enumerate((n, found[n]) for n in PROCESSES)
    }


def check_launcher(template: str | None) -> str | None:
    """A launcher template, refused (ValueError) unless it runs ``{command}``."""
    if template is not None and "{command}" not in template:
        raise ValueError(f"--launcher {template!r}: the template must run {{command}} (the task's environment "
                         "and shell running .command.sh)")
    return template


# ------------------------------------------------------------------ staging


def _expand_wildcards(pattern: str, name: str, index: int, size: int) -> str:
    """Nextflow's stage name of the ``index``-th (1-based) of ``size`` files for a ``stageAs`` pattern."""
    parent, _, base = pattern.rpartition("/")
    if base in ("*", ""):
        base = name
    else:
        base = base.replace("*", "" if size <= 1 else str(index))
        base = _replace_question_marks(base, index)
    if parent:
        parent = _replace_question_marks(parent.replace("*", str(index)), index)
        return f"{parent}/{base}"
    return base


def _replace_question_marks(text: str, index: int) -> str:
    """Each run of ``?`` becomes the index, left-padded with zeros to the run's length."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "?":
            j = i
            while j < len(text) and text[j] == "?":
                j += 1
            out.append(str(index).zfill(j - i))
            i = j
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def stage_names(pattern: str | None, files: list[Path]) -> list[str]:
    """The names ``files`` are staged under for a ``path`` input declared with ``pattern``."""
    if not files:
        return []
    if not pattern or pattern == "*":
        return [f.name for f in files]
    if "*" not in pattern and "?" not in pattern and len(files) > 1:
        pattern += "*"
    return [_expand_wildcards(pattern, f.name, i + 1, len(files)) for i, f in enumerate(files)]


# ------------------------------------------------------------------ the rehearsal


class Rehearsal:
    """Tasks of the pipeline's modules rendered, staged, run and checked, as Nextflow would.

    Parameters
    ----------
    work : Path
        Where the tasks' work dirs (``work/``) and the published outputs go.
    launcher : str, optional
        A shell command template with ``{root}``, ``{workdir}`` and ``{command}`` that runs a
        task's script elsewhere (a container). Default is None: locally, in a cleared environment.
    profiles : tuple of str, optional
        The ``-profile`` settings are evaluated with. Default is ``("test",)``.
    params : dict, optional
        Params over the profile's (``--num_seqs 300``). Default is :data:`TINY_PARAMS`.
    skip : iterable of str, optional
        Processes not to run. Default is none.
    env : dict, optional
        Variables added to every task's environment (e.g. PYTHONPATH for a source checkout).
        Default is none.
    root : Path, optional
        The pipeline's folder. Default is this repository.
    """

    def __init__(self, work: Path, *, launcher: str | None = None, profiles: tuple[str, ...] = DEFAULT_PROFILES,
                 params: dict | None = None, skip=(), env: dict | None = None, root: Path = ROOT):
        unknown = sorted(set(skip) - set(PROCESSES))
        if unknown:
            raise ValueError(f"--skip {', '.join(unknown)}: not a process of the workflow ({', '.join(PROCESSES)})")
        self.work = Path(work).resolve()
        self.root_dir = self.work / "work"
        self.launcher = check_launcher(launcher)
        self.skip = set(skip)
        self.env = dict(env or {})
        self.params = dict(TINY_PARAMS if params is None else params)
        self.processes = load_processes(Path(root), tuple(profiles), self.params)
        self.resolved_params = self.processes["SIMULATE"].settings["params"]
        self.outdir = self.work / str(self.resolved_params["outdir"])
        self.tasks: list[Task] = []
        #: The Groovy child, started by the first task and shared with the copies of with_launcher.
        self._groovy: dict[str, GroovyRenderer] = {}

    def with_launcher(self, launcher: str | None, work: Path) -> Rehearsal:
        """The same rehearsal (processes, settings, Groovy child) with another launcher, in another folder."""
        other = copy.copy(self)
        other.launcher = check_launcher(launcher)
        other.work = Path(work).resolve()
        other.root_dir = other.work / "work"
        other.outdir = other.work / str(self.resolved_params["outdir"])
        other.tasks = []
        return other

    def __enter__(self) -> Rehearsal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """End the Groovy child process, if one is running (a later task starts another)."""
        renderer = self._groovy.pop("renderer", None)
        if renderer is not None:
            renderer.close()

    # -------------------------------------------------------------- one task

    def task(self, process: str, label: str, inputs: list, *, on_line=None, not_run: str | None = None) -> Task:
        """Render, stage, run and check one task of ``process`` with ``inputs``, one per declaration.

        Each input is what the workflow's channel gives: a value for ``val``, a Path (or a list
        of Paths) for ``path``, a list of those for ``tuple``. With ``not_run`` (the reason),
        the task is staged and its ``.command.sh`` rendered, but not run: it counts as skipped.
        """
        proc = self.processes[process]
        workdir = self.root_dir / f"{len(self.tasks) + 1:02d}-{process}-{label.replace(':', '-').replace(' ', '_')}"
        task = Task(process=process, label=label, workdir=workdir)
        self.tasks.append(task)
        if process in self.skip:
            task.status, task.reason = "skipped", "--skip"
        else:
            start = time.monotonic()
            try:
                self._run(proc, task, inputs, not_run is None)
                task.status, task.reason = ("ok", "") if not_run is None else ("skipped", f"{not_run}; rendered only")
            except (TaskFailed, RenderError) as error:
                task.status, task.reason = "failed", str(error)
            task.seconds = time.monotonic() - start
        if on_line:
            on_line(task)
        return task

    def _run(self, proc: Process, task: Task, inputs: list, execute: bool = True) -> None:
        if task.workdir.exists():
            shutil.rmtree(task.workdir)
        task.workdir.mkdir(parents=True)
        renderer = self._groovy.get("renderer") or self._groovy.setdefault("renderer", GroovyRenderer())
        declared = renderer.declarations(proc.input_text)
        if len(declared) != len(inputs):
            raise TaskFailed(f"{proc.source.relative_to(ROOT)}: {len(declared)} inputs declared, the workflow gives {len(inputs)}")
        binding = {}
        for item, value in zip(declared, inputs):
            items, values = (item["items"], list(value)) if item["kind"] == "tuple" else ([item], [value])
            for inner, inner_value in zip(items, values, strict=True):
                binding[inner["name"]] = self._bind(task.workdir, inner, inner_value)
        settings = proc.settings
        task_object = {key: value for key, value in settings.items() if key not in ("params", "aws", "google", "engines")}
        task_object.update(process=f"{WORKFLOW}:{proc.name}", name=f"{WORKFLOW}:{proc.name} ({task.label})",
                           attempt=1, index=1, workDir=str(task.workdir))
        rendered = renderer.render(proc.script, proc.output_text, task_object, binding, settings.get("shell") or ["/bin/bash", "-ue"])
        (task.workdir / ".command.sh").write_text(rendered["script"])
        if not execute:
            return
        self._launch(task, settings)
        task.outputs = self._collect_outputs(proc, task.workdir, rendered["outputs"])
        self._check_versions(proc, task.workdir, task_object["process"])

    @staticmethod
    def _bind(workdir: Path, item: dict, value) -> dict:
        """Stage a ``path`` input's files (symlinks) or pass a ``val``; what the script sees."""
        if item["kind"] == "val":
            return {"val": value}
        if item["kind"] != "path":
            raise TaskFailed(f"input {item['kind']}({item.get('name')}): the rehearsal stages val and path inputs only")
        files = [Path(v).resolve() for v in (value if isinstance(value, (list, tuple)) else [value])]
        names = stage_names(item.get("options", {}).get("stageAs"), files)
        if len(set(names)) != len(names):
            raise TaskFailed(f"input {item['name']}: two files staged under one name: {names}")
        for name, source in zip(names, files):
            link = workdir / name
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(source)
        # One file binds as a path (no arity declared), several as a blank-separated list.
        return {"path": names[0]} if len(names) == 1 else {"paths": names}

    def _command(self, settings: dict) -> tuple[str, dict]:
        """The command that runs .command.sh, and the environment it runs in."""
        shell = settings.get("shell") or ["/bin/bash", "-ue"]
        shell = shell if isinstance(shell, list) else shlex.split(shell)
        task_env = {str(k): str(v) for k, v in (settings.get("env") or {}).items()} | self.env
        if self.launcher is None:
            return shlex.join([*shell, ".command.sh"]), {"PATH": os.environ["PATH"], **task_env}
        assignments = [f"{k}={v}" for k, v in task_env.items()]
        command = shlex.join([*(["env", *assignments] if assignments else []), *shell, ".command.sh"])
        return command, dict(os.environ)

    def _launch(self, task: Task, settings: dict) -> None:
        command, env = self._command(settings)
        if self.launcher is not None:
            command = self.launcher.format(root=shlex.quote(str(self.root_dir)), workdir=shlex.quote(str(task.workdir)),
                                           command=command)
        with open(task.workdir / ".command.out", "w") as out, open(task.workdir / ".command.err", "w") as err:
            try:
                proc = subprocess.run(["/bin/bash", "-c", command], cwd=task.workdir, env=env, stdout=out, stderr=err,
                                      stdin=subprocess.DEVNULL, timeout=TASK_TIMEOUT)
            except subprocess.TimeoutExpired:
                raise TaskFailed(f"still running after {TASK_TIMEOUT} s; killed") from None
        (task.workdir / ".exitcode").write_text(f"{proc.returncode}\n")
        if proc.returncode != 0:
            tail = (task.workdir / ".command.err").read_text().strip().splitlines()[-15:]
            raise TaskFailed(f"exit status {proc.returncode}; .command.err ends:\n    " + "\n    ".join(tail))

    @staticmethod
    def _collect_outputs(proc: Process, workdir: Path, declared: list[dict]) -> dict:
        """Each emit's items, the path patterns matched in ``workdir`` (missing ones fail the task)."""
        outputs = {}
        for position, item in enumerate(declared):
            emit = item.get("options", {}).get("emit", f"out{position}")
            items = item["items"] if item["kind"] == "tuple" else [item]
            values = []
            for inner in items:
                if inner["kind"] == "val":
                    values.append(inner["value"])
                elif inner["kind"] == "path":
                    pattern = inner["value"]
                    matches = sorted(glob.glob(pattern, root_dir=workdir, recursive=True))
                    if not matches:
                        raise TaskFailed(f"missing output file(s) `{pattern}` (emit: {emit}) expected by {proc.name}")
                    values.append([workdir / m for m in matches])
                else:
                    raise TaskFailed(f"output {inner['kind']}(...) (emit: {emit}): the rehearsal checks val and path only")
            outputs[emit] = values
        return outputs

    @staticmethod
    def _check_versions(proc: Process, workdir: Path, process_name: str) -> None:
        path = workdir / "versions.yml"
        try:
            versions = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as error:
            raise TaskFailed(f"versions.yml: {error}") from None
        if not isinstance(versions, dict) or list(versions) != [process_name]:
            raise TaskFailed(f"versions.yml: one key {process_name!r} expected, got {versions!r}")
        tools = versions[process_name]
        if not isinstance(tools, dict) or not tools or any(v in (None, "") for v in tools.values()):
            raise TaskFailed(f"versions.yml: each tool under {process_name!r} needs a version, got {tools!r}")

    # -------------------------------------------------------------- the workflow

    def available(self, executable: str) -> bool:
        """Whether ``executable`` is on the PATH where tasks run (asked through the launcher, if any)."""
        if self.launcher is None:
            return shutil.which(executable) is not None
        probe = self.root_dir / f"00-probe-{executable}"
        probe.mkdir(parents=True, exist_ok=True)
        (probe / ".command.sh").write_text(f"command -v {shlex.quote(executable)}\n")
        command = self.launcher.format(root=shlex.quote(str(self.root_dir)), workdir=shlex.quote(str(probe)),
                                       command="bash .command.sh")
        return subprocess.run(["/bin/bash", "-c", command], cwd=probe, capture_output=True).returncode == 0

    def run(self, on_line=None) -> list[Task]:
        """Every task of a run of ``keras_motifs.nf`` with the resolved params, in the workflow's order."""
        if self.work.exists() and any(self.work.iterdir()):
            raise TaskFailed(f"{self.work}: not empty; give a new folder")
        self.root_dir.mkdir(parents=True)
        self._workflow(self.resolved_params, on_line)
        return self.tasks

    def _workflow(self, P: dict, on_line) -> None:
        def skipped(process: str, label: str, reason: str) -> None:
            task = Task(process=process, label=label, workdir=self.root_dir, status="skipped", reason=reason)
            self.tasks.append(task)
            if on_line:
                on_line(task)

        if P.get("data"):
            data = Path(P["data"])
            skipped("SIMULATE", "-", "params.data given")
        else:
            meta = {"id": f"synthetic_{P['num_seqs']}_seed{P['seed']}"}
            simulate = self.task("SIMULATE", meta["id"], [meta], on_line=on_line)
            data = simulate.outputs["h5"][1][0] if simulate.ok else None
        jaspar = self.task("JASPAR", str(P["jaspar_release"]), [P["jaspar_release"]], on_line=on_line)
        database = jaspar.outputs["meme"][0][0] if jaspar.ok else None
        ground_truth = None
        if data is None:
            skipped("GROUND_TRUTH", "-", "no dataset")
        else:
            gt = self.task("GROUND_TRUTH", data.name, [data], on_line=on_line)
            ground_truth = gt.outputs["json"][0][0] if gt.ok else None

        archs = [name.strip() for name in str(P["archs"]).split(",") if name.strip()]
        runs = [{"id": f"{arch}_trial{trial}", "arch": arch, "trial": trial, "seed": int(P["seed"]) + trial}
                for arch in archs for trial in range(int(P["trials"]))]
        no_meme = None if self.available("tomtom") else "no MEME `tomtom` on PATH where tasks run"
        parts = []
        for run in runs:
            parts += self._run_tasks(run, data, database, ground_truth, no_meme, skipped, on_line)
        expected = [f"{run['arch']}/trial{run['trial']}" for run in runs]
        report = self.task("REPORT", "report", [parts, [], expected], on_line=on_line)
        if report.ok:
            self._publish(report.outputs["report"][0][0], "report")

    def _run_tasks(self, run: dict, data, database, ground_truth, no_meme: str | None, skipped, on_line) -> list[Path]:
        """TRAIN, FILTERS and each layer's tasks of one run; the `runs` folders they emit."""
        parts = []
        if data is None:
            skipped("TRAIN", run["id"], "no dataset")
            return parts
        train = self.task("TRAIN", run["id"], [[run, data]], on_line=on_line)
        if not train.ok:
            return parts
        self._publish_run_step(train)
        parts.append(train.outputs["run"][1][0])
        model = train.outputs["model"][1][0]
        filters = self.task("FILTERS", run["id"], [[run, model, data]], on_line=on_line)
        if not filters.ok:
            return parts
        self._publish_run_step(filters)
        parts.append(filters.outputs["run"][1][0])
        # FILTERS.out.meme.transpose(): one item per layer, meta.layer from the file name.
        tables = {path.name.removesuffix(".filters.tsv"): path for path in filters.outputs["filters"][1]}
        for meme in filters.outputs["meme"][1]:
            layer = meme.name.removesuffix(".meme")
            meta = run | {"layer": layer}
            label = f"{run['id']}:{layer}"
            if database is None:
                skipped("TOMTOM_MEMELITE", label, "no JASPAR database")
            else:
                parts += self._layer_tasks(meta, label, meme, tables.get(layer), database, ground_truth, no_meme, skipped,
                                           on_line)
            importance = self.task("IMPORTANCE", label, [[meta, model], data], on_line=on_line)
            if importance.ok:
                self._publish_run_step(importance)
                parts.append(importance.outputs["run"][1][0])
        return parts

    def _layer_tasks(self, meta: dict, label: str, meme: Path, table: Path | None, database: Path, ground_truth,
                     no_meme: str | None, skipped, on_line) -> list[Path]:
        """Tomtom (both engines) and SCORE of one layer; the `runs` folders they emit."""
        engines = []
        if "TOMTOM" not in self.skip:
            # Without MEME's tomtom, TOMTOM's script is still rendered (not run).
            engines.append(self.task("TOMTOM", label, [[meta, meme], database], on_line=on_line, not_run=no_meme))
        engines.append(self.task("TOMTOM_MEMELITE", label, [[meta, meme], database], on_line=on_line))
        # The engine's table feeds SCORE and REPORT: MEME's where it ran, as --engine meme does.
        meme_ran = engines[0].process == "TOMTOM" and engines[0].status != "skipped"
        tomtom = engines[0] if meme_ran else engines[-1]
        if not tomtom.ok:
            skipped("SCORE", label, f"{tomtom.process} did not run")
            return []
        self._publish_run_step(tomtom)
        parts = [tomtom.outputs["run"][1][0]]
        if table is None:
            skipped("SCORE", label, f"FILTERS wrote no {meta['layer']}.filters.tsv to join")
        elif ground_truth is None:
            skipped("SCORE", label, "no ground truth")
        else:
            score = self.task("SCORE", label, [[meta, tomtom.outputs["tsv"][1][0], table], ground_truth, database],
                              on_line=on_line)
            if score.ok:
                self._publish_run_step(score)
                parts.append(score.outputs["run"][1][0])
        return parts

    # -------------------------------------------------------------- publishing

    def _publish_run_step(self, task: Task) -> None:
        """conf/modules.config's saveAs for the run steps: every output file under ``runs/``, by its path."""
        for items in task.outputs.values():
            for paths in (item for item in items if isinstance(item, list)):
                for path in paths:
                    self._publish(path, str(path.relative_to(task.workdir)), only_under="runs/")

    def _publish(self, path: Path, name: str, only_under: str | None = None) -> None:
        if only_under and not name.startswith(only_under):
            return
        target = self.outdir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            shutil.copytree(path, target, symlinks=False, dirs_exist_ok=True)
        else:
            shutil.copy2(path, target)


# ------------------------------------------------------------------ command line


def _pairs(values: list[str], option: str) -> dict:
    out = {}
    for text in values:
        name, sep, value = text.partition("=")
        if not sep or not name:
            raise SystemExit(f"rehearsal: error: {option} {text!r}: give NAME=VALUE")
        out[name] = value
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rehearsal", description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", required=True, type=Path, help="a new folder for the work dirs and published outputs")
    parser.add_argument("--launcher", help="template running each task elsewhere: {root}, {workdir}, {command}")
    parser.add_argument("--profile", default=",".join(DEFAULT_PROFILES), help="Nextflow profiles, comma-separated (default: test)")
    parser.add_argument("--skip", action="append", default=[], metavar="PROCESS", help="a process not to run (repeatable)")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help=f"a param over the profile's, as on Nextflow's command line (repeatable; default {TINY_PARAMS})")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="a variable added to every task's environment (repeatable)")
    args = parser.parse_args(argv)
    params = TINY_PARAMS | _pairs(args.param, "--param")
    try:
        with Rehearsal(args.work, launcher=args.launcher, profiles=tuple(p for p in args.profile.split(",") if p),
                       params=params, skip=args.skip, env=_pairs(args.env, "--env")) as rehearsal:
            tasks = rehearsal.run(on_line=lambda task: print(task.line(), flush=True))
    except (ValueError, RuntimeError, FileNotFoundError) as error:  # TaskFailed, the config's and Groovy's errors
        print(f"rehearsal: error: {error}", file=sys.stderr)
        return 2
    failed = [task for task in tasks if task.status == "failed"]
    for task in failed:
        print(f"\n{task.process} ({task.label}) failed in {task.workdir}:\n  {task.reason}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
