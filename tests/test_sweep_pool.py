"""keras-motifs run --workers N: the runs of a tiny sweep side by side, a killed worker, bad values.

The sweeps here train cnn-25 and cnn-50 for one epoch on the 300 sequences of
``small_dataset_file``; each worker process starts TensorFlow afresh (a few seconds).
"""

import dataclasses
import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from keras_motifs.cli import main
from keras_motifs.errors import KerasMotifsError
from keras_motifs.io.files import TEMPORARY_NAME
from keras_motifs.sweep import pool as workers
from keras_motifs.sweep.run import run_experiment
from keras_motifs.sweep.settings import Sweep, resolve_sweep
from keras_motifs.sweep.steps import Progress, Step

ARCHS = "cnn-25,cnn-50"


def run_command(out, data, *more):
    """``keras-motifs run`` of the tiny sweep, as a command line."""
    return [sys.executable, "-m", "keras_motifs.cli", "run", "--out", str(out), "--data", str(data), "--archs", ARCHS,
            "--epochs", "1", *more]


def ran(log):
    """Names of the steps that a progress log says ran."""
    return sorted(re.findall(r"\] \d+/\d+ (.+): done in ", log))


def temporaries(folder):
    return [path for path in Path(folder).rglob("*") if TEMPORARY_NAME.fullmatch(path.name)]


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory, small_dataset_file):
    """The tiny sweep with --workers 1, in a process whose TensorFlow has the threads each of 2 workers gets."""
    out = tmp_path_factory.mktemp("one_worker")
    done = subprocess.run(run_command(out, small_dataset_file), env={**os.environ, **workers.worker_environment(2)},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out


def test_two_workers_give_the_same_results_as_one(one_worker, small_dataset_file, tmp_path, capsys, monkeypatch):
    """Exactly the same numbers: a worker runs the very steps of --workers 1, on as many threads here.

    With a different thread count (plain --workers 1 on this machine's every core) the
    trainings came out bit for bit the same, but the importance step's losses differed
    in the 8th digit (sums over the test set in another order): gt_importance_share by
    1e-7 and, on these 60 test sequences, one AUROC drop by one tied pair (0.0012).
    """
    out = tmp_path / "two"
    started = []  # the worker processes, so that a --workers ignored in favour of the main process fails here
    popen = subprocess.Popen

    def recording_popen(args, **kwargs):
        started.append(args[-1])
        return popen(args, **kwargs)

    monkeypatch.setattr(workers.subprocess, "Popen", recording_popen)
    assert main([str(a) for a in run_command(out, small_dataset_file, "--workers", "2")[3:]]) == 0
    log = capsys.readouterr().out
    assert sorted(started) == [str(out / "runs" / arch / "trial0") for arch in ARCHS.split(",")]
    assert (out / "table.tsv").read_text() == (one_worker / "table.tsv").read_text()
    for run in ("cnn-25/trial0", "cnn-50/trial0"):
        for name in ("metrics.json", "history.csv", "motifs/conv1.score.json", "motifs/conv1.importance.tsv"):
            assert (out / "runs" / run / name).read_bytes() == (one_worker / "runs" / run / name).read_bytes(), name
    steps = [f"{kind} {arch} trial 0{layer}" for arch in ARCHS.split(",")
             for kind, layer in (("train", ""), ("filters", ""), ("tomtom", " conv1"), ("score", " conv1"),
                                 ("importance", " conv1"))]
    assert ran(log) == sorted(steps)  # every step its line, in whatever order the workers finished them
    assert "11/11 report: wrote" in log


def test_two_workers_agree_with_one_on_every_core(one_worker, small_dataset_file, tmp_path):
    """Plain --workers 1 here (TensorFlow on all cores): names, counts and match fractions exactly the same;
    AUROC, AUPR and the importance figures to 1e-6 (sums in another order differ in their last digits)."""
    import pandas as pd

    sweep = resolve_sweep("quick", archs=ARCHS, epochs=1, data=str(small_dataset_file))
    run_experiment(sweep, tmp_path, stream=io.StringIO())
    here, split = (pd.read_csv(folder / "table.tsv", sep="\t") for folder in (tmp_path, one_worker))
    close = [c for c in here.columns if c.startswith(("auroc", "aupr", "gt_importance_share", "class_consistency"))]
    pd.testing.assert_frame_equal(here.drop(columns=close), split.drop(columns=close), check_exact=True)
    pd.testing.assert_frame_equal(here[close], split[close], check_exact=False, rtol=0, atol=1e-6)


def worker_of(parent: int, run_dir: Path) -> int | None:
    """The process id of ``parent``'s worker for ``run_dir``, from /proc."""
    for entry in Path("/proc").iterdir():
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and str(run_dir).encode() in args:
            return int(entry.name)
    return None


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the worker process in /proc")
def test_a_killed_worker_loses_only_its_step(one_worker, small_dataset_file, tmp_path):
    """SIGKILL to the worker training cnn-50: cnn-25 finishes, the sweep fails naming the step; run again,
    only cnn-50's steps run, cnn-25's model is the same file, and the table is the one of --workers 1."""
    out = tmp_path / "killed"
    command = run_command(out, small_dataset_file, "--workers", "2")
    sweep = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim = out / "runs" / "cnn-50" / "trial0"
    deadline = time.monotonic() + 120
    while not any(TEMPORARY_NAME.fullmatch(p.name) for p in victim.parent.glob(".trial0.*")):  # training started
        assert sweep.poll() is None and time.monotonic() < deadline, sweep.communicate()
        time.sleep(0.02)
    pid = worker_of(sweep.pid, victim)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    stdout, stderr = sweep.communicate(timeout=120)
    assert sweep.returncode == 2
    assert stderr.startswith("keras-motifs: error: train cnn-50 trial 0 failed, so no report was written; ")
    assert "train cnn-50 trial 0 (killed by SIGKILL), last lines of its output:" in stderr
    assert "importance cnn-25 trial 0 conv1: done" in stdout  # the other worker finished its run
    assert not (out / "report.html").exists() and temporaries(victim.parent)  # the killed training's folder
    kept = (out / "runs" / "cnn-25" / "trial0" / "model.keras").stat()

    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert ran(again.stdout) == ["filters cnn-50 trial 0", "importance cnn-50 trial 0 conv1",
                                 "score cnn-50 trial 0 conv1", "tomtom cnn-50 trial 0 conv1", "train cnn-50 trial 0"]
    assert "train cnn-25 trial 0: already done" in again.stdout
    now = (out / "runs" / "cnn-25" / "trial0" / "model.keras").stat()
    assert (now.st_ino, now.st_mtime_ns) == (kept.st_ino, kept.st_mtime_ns)
    assert not temporaries(out)
    assert (out / "table.tsv").read_text() == (one_worker / "table.tsv").read_text()

    # the number of workers is no setting of the sweep: any number resumes the folder
    sweep_settings = resolve_sweep("quick", archs=ARCHS, epochs=1, data=str(small_dataset_file))
    assert run_experiment(sweep_settings, out, stream=io.StringIO(), workers=3) == ["report"]
    assert "workers" not in json.loads((out / "sweep.json").read_text())


def test_workers_must_be_a_positive_integer(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["run", "--out", str(tmp_path / "x"), "--workers", "0"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "argument --workers: expected a positive integer, got '0'" in err
    for bad in (0, -1, 1.5, True):
        with pytest.raises(KerasMotifsError, match=f"workers must be a positive integer, got {bad!r}"):
            run_experiment(resolve_sweep("quick"), tmp_path / "y", workers=bad)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_each_worker_gets_its_share_of_the_cores(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    monkeypatch.delenv("KERAS_MOTIFS_THREADS", raising=False)
    assert workers.worker_environment(2) == {
        "TF_NUM_INTRAOP_THREADS": "8", "TF_NUM_INTEROP_THREADS": "8", "OMP_NUM_THREADS": "8",
        "OPENBLAS_NUM_THREADS": "8", "MKL_NUM_THREADS": "8", "NUMBA_NUM_THREADS": "8", "KERAS_MOTIFS_THREADS": "8",
        "TF_FORCE_GPU_ALLOW_GROWTH": "true", "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
    }
    assert workers.worker_environment(3)["TF_NUM_INTRAOP_THREADS"] == "5"
    assert workers.worker_environment(32)["OMP_NUM_THREADS"] == "1"


def test_workers_share_the_threads_budget_not_the_machine(monkeypatch):
    """`keras-motifs --threads 4 run --workers 2` on a 64-core node: 2 threads a worker, not 32."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    monkeypatch.setenv("KERAS_MOTIFS_THREADS", "4")
    assert workers.worker_environment(2)["TF_NUM_INTRAOP_THREADS"] == "2"
    assert workers.worker_environment(2)["KERAS_MOTIFS_THREADS"] == "2"


def test_a_worker_reads_the_sweep_as_it_was_given():
    """The sweep reaches a worker through sweep.json: every setting comes back equal."""
    for sweep in (resolve_sweep("quick"), resolve_sweep("paper", lr_patience=3, min_delta=0.001, data="d.h5")):
        assert Sweep(**json.loads(json.dumps(dataclasses.asdict(sweep)))) == sweep


def stand_in(folder: Path, monkeypatch, code: str) -> None:
    """Make the workers run ``code`` (which reads ``sys.argv``: ``-c DIR RUN``) instead of a run's steps."""
    (folder / "stand_in_worker.py").write_text("def main(argv):\n" + textwrap.indent(code, "    "))
    monkeypatch.syspath_prepend(str(folder))  # the workers import from the caller's sys.path
    monkeypatch.setattr(workers, "WORKER", ("stand_in_worker", "main"))


#: A stand-in worker: run A finishes its first step, writes a line that only looks like a
#: progress line, then fails; run B finishes both.
FAKE = """import sys
run = sys.argv[2]
print("keras-motifs-step\\tdone\\t0.5\\ttrain " + run, flush=True)
if run == "A":
    print("keras-motifs-step\\tdone\\tsoon\\tfilters A", flush=True)
    print("Traceback: something broke", file=sys.stderr)
    sys.exit(3)
print("keras-motifs-step\\talready done\\t\\tfilters " + run, flush=True)
"""


@pytest.mark.parametrize("count", [1, 2])
def test_a_failed_worker_is_named_with_its_last_lines(count, tmp_path, monkeypatch):
    """With one worker, no run starts after a failure; with two, the other running run finishes."""
    stand_in(tmp_path, monkeypatch, FAKE)
    runs = {Path(name): [Step(f"{kind} {name}", [tmp_path / f"{kind}{name}"], lambda: None, Path(name))
                         for kind in ("train", "filters")] for name in ("A", "B")}
    log = io.StringIO()
    with pytest.raises(KerasMotifsError) as failed:
        workers.run_in_workers(runs, tmp_path, count, Progress(5, log))
    assert str(failed.value).startswith("filters A failed, so no report was written; the steps finished are kept")
    assert str(failed.value).endswith("\nfilters A (exit status 3), last lines of its output:\n"
                                      "    keras-motifs-step\tdone\tsoon\tfilters A\n"
                                      "    Traceback: something broke")
    lines = log.getvalue()
    assert "train A: done in 0.5 s" in lines and "filters A: failed (exit status 3)" in lines
    assert ("filters B: already done" in lines) == (count == 2)


#: A stand-in worker that records its process id, then waits to be ended and notes a SIGTERM.
WAITING = """import os, signal, sys, time
from pathlib import Path
folder = Path(sys.argv[1])
signal.signal(signal.SIGTERM, lambda *_: ((folder / f"ended{os.getpid()}").touch(), sys.exit(143)))
(folder / f"started{os.getpid()}").touch()
time.sleep(60)
"""


def test_ctrl_c_ends_the_workers(tmp_path, monkeypatch):
    """SIGINT reaches the workers as SIGTERM (they may remove their temporaries) before the sweep stops."""
    stand_in(tmp_path, monkeypatch, WAITING)
    runs = {Path(name): [Step(f"train {name}", [tmp_path / name], lambda: None, Path(name))] for name in "AB"}

    def interrupt_once_both_started():
        while len(list(tmp_path.glob("started*"))) < 2:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_once_both_started, daemon=True).start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        workers.run_in_workers(runs, tmp_path, 2, Progress(2, io.StringIO()))
    assert time.monotonic() - start < 30
    started = sorted(p.name[len("started"):] for p in tmp_path.glob("started*"))
    assert sorted(p.name[len("ended"):] for p in tmp_path.glob("ended*")) == started
    assert not any(Path(f"/proc/{pid}").exists() for pid in started)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler before is back


OPEN_FILES = """import os, sys
from pathlib import Path
opened = [os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")]
(Path(sys.argv[1]) / f"open{os.getpid()}").write_text("\\n".join(opened))
"""


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_workers_hold_the_folder_lock(tmp_path, monkeypatch):
    """A worker keeps the folder locked, should the main process be killed before it ends."""
    from keras_motifs.io.files import LOCK_NAME, folder_lock

    stand_in(tmp_path, monkeypatch, OPEN_FILES)
    runs = {Path("A"): [Step("train A", [tmp_path / "A"], lambda: None, Path("A"))]}
    with folder_lock(tmp_path, "run") as lock, pytest.raises(KerasMotifsError, match="train A"):
        workers.run_in_workers(runs, tmp_path, 1, Progress(1, io.StringIO()), lock_fd=lock)
    (listing,) = tmp_path.glob("open*")
    assert str((tmp_path / LOCK_NAME).resolve()) in listing.read_text().splitlines()


THREADS = """import os, sys
from pathlib import Path
(Path(sys.argv[1]) / f"threads{os.getpid()}").write_text(os.environ["TF_NUM_INTRAOP_THREADS"])
"""


def test_no_more_workers_than_runs(tmp_path, monkeypatch):
    """--workers 4 on a sweep of one run: that run's worker gets every core, not a quarter of them."""
    stand_in(tmp_path, monkeypatch, THREADS)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    runs = {Path("A"): [Step("train A", [tmp_path / "A"], lambda: None, Path("A"))]}
    with pytest.raises(KerasMotifsError, match="train A"):  # the stand-in finishes no step
        workers.run_in_workers(runs, tmp_path, 4, Progress(1, io.StringIO()))
    assert [path.read_text() for path in tmp_path.glob("threads*")] == ["16"]
