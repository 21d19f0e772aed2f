"""Worker processes of ``keras-motifs run --workers N``: the runs of a sweep side by side.

The main process (:func:`keras_motifs.sweep.run.run_experiment`) simulates the data,
then hands the steps of each run (its training, then its filters, Tomtom, score and
importance steps) to one of N threads; each thread starts a fresh Python process
(:mod:`keras_motifs.sweep.worker`, named ``... DIR RUN`` in the process list, started by
:func:`keras_motifs._runtime.start_fresh_python` so that it imports keras-motifs from where
the main process does), reads the sweep from ``DIR/sweep.json`` and runs that run's steps in
order; the main process writes the report once every run is done.

Why one process per run, started afresh:

- its share of the machine is set before TensorFlow starts in it
  (:func:`worker_environment`; TensorFlow reads its thread counts once, at start),
  and the main process runs no model, so it holds no GPU memory;
- it runs the very steps that ``workers=1`` runs in-process
  (:func:`keras_motifs.sweep.steps.plan`): no setting is translated into options of
  another command, so none can be lost on the way;
- a worker that fails or is killed loses only the step it was on: every step writes
  its outputs whole or not at all, and a resumed sweep removes the temporaries it left.

A worker tells the main process which steps it finished in lines of its standard
output that start with :data:`EVENT`; the rest of its output is kept, the last lines
of it shown should it fail.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import os
import signal
import subprocess
import threading
import time
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keras_motifs._runtime import (
    GPU_SHARING_VARIABLES,
    handling_signals,
    start_fresh_python,
    thread_environment,
    usable_cpus,
)
from keras_motifs.errors import KerasMotifsError, check_integer

if TYPE_CHECKING:
    from keras_motifs.sweep.steps import Progress, Step

#: What a worker process runs: ``sys.exit(module.function([DIR, RUN]))``.
WORKER = ("keras_motifs.sweep.worker", "main")
#: Start of the lines by which a worker reports a finished step: ``EVENT<TAB>status<TAB>seconds<TAB>name``.
EVENT = "keras-motifs-step"
#: Lines of a failed worker's output quoted in the error.
_TAIL_LINES = 15
#: Seconds a worker has to remove its temporaries after SIGTERM before it is killed.
_GRACE_SECONDS = 10.0


def worker_environment(workers: int) -> dict[str, str]:
    """Environment variables that give each of ``workers`` processes an equal share of this machine.

    Parameters
    ----------
    workers : int
        Processes that run at once.

    Returns
    -------
    dict of str to str
        :func:`keras_motifs._runtime.thread_environment` of max(1, cores // workers),
        counting the cores this process may run on, and
        :data:`keras_motifs._runtime.GPU_SHARING_VARIABLES`, so that the processes share
        one GPU's memory (each takes what it uses, not all of it).
    """
    check_integer(workers, "workers")
    return {**thread_environment(max(1, usable_cpus() // workers)), **GPU_SHARING_VARIABLES}


def run_in_workers(runs: dict[Path, list[Step]], out_dir: Path, workers: int, progress: Progress,
                   lock_fd: int | None = None) -> list[str]:
    """Run the steps of each run in a worker process, ``workers`` runs at a time.

    Parameters
    ----------
    runs : dict of Path to list of Step
        Run folder -> its steps in order, as :func:`keras_motifs.sweep.steps.plan` made
        them from ``out_dir/sweep.json`` (which the workers read).
    out_dir : Path
        The experiment folder.
    workers : int
        Worker processes at once (at most one per run; each gets an equal share of the cores).
    progress : Progress
        Gets one line per step, as the workers finish them.
    lock_fd : int, optional
        The descriptor of ``out_dir``'s lock (:func:`keras_motifs.io.files.folder_lock`),
        which the workers inherit: the folder stays locked while any of them runs, even
        if this process is killed, so that no other run removes their temporaries.

    Returns
    -------
    list of str
        Names of the steps that ran (not skipped), in the order they finished.

    Raises
    ------
    KerasMotifsError
        A worker failed or was killed: once the workers already running have finished
        their runs (no other run starts), the error names each step that failed and
        quotes the last lines of its worker's output.
    """
    # No more processes than runs: the cores are shared among those that can run at once.
    pool = _Workers(out_dir, max(1, min(workers, len(runs))), progress, () if lock_fd is None else (lock_fd,))
    with handling_signals(pool.end_on_signal):  # no worker outlives an interruption
        try:
            futures = [pool.threads.submit(pool.run, run_dir, steps) for run_dir, steps in runs.items()]
            concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_EXCEPTION)
            for future in futures:
                future.result()
        except BaseException:  # a bug, or Ctrl-C outside the command line: no worker outlives the sweep
            pool.terminate()
            raise
        finally:
            pool.threads.shutdown(cancel_futures=True)
    if pool.failures:
        details = "".join(f"\n{name} ({reason}), last lines of its output:\n" +
                          ("\n".join(f"    {line}" for line in tail) or "    (none)")
                          for name, reason, tail in pool.failures)
        raise KerasMotifsError(
            f"{', '.join(name for name, _, _ in pool.failures)} failed, so no report was written; the steps "
            f"finished are kept: run the same command again to redo the others{details}"
        )
    return pool.ran


class _Workers:
    """Threads that each start a worker process and relay its progress lines."""

    def __init__(self, out_dir: Path, workers: int, progress: Progress, pass_fds: tuple[int, ...]):
        self.out_dir, self.progress, self.pass_fds = out_dir, progress, pass_fds
        self.environment = {**os.environ, **worker_environment(workers)}
        self.threads = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="keras-motifs-worker")
        self.ran: list[str] = []
        self.failures: list[tuple[str, str, list[str]]] = []  # step, reason, last lines of output
        self._live: set[subprocess.Popen] = set()
        self._stopping = self._terminating = False
        self._lock = threading.RLock()  # _live and the flags; re-entered by a signal handler in the main thread
        self._printing = threading.Lock()  # progress lines, ran and failures

    def run(self, run_dir: Path, steps: list[Step]) -> None:
        """Run the steps of one run in a worker process (none when all are done)."""
        with self._lock:
            if self._stopping:  # after a failure or an interruption no run starts
                return
            process = None if all(step.done() for step in steps) else start_fresh_python(
                *WORKER, (str(self.out_dir), str(run_dir)), env=self.environment,
                pass_fds=self.pass_fds, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
            )
            if process is not None:
                self._live.add(process)
        if process is None:
            for step in steps:
                self._finished(step.name, "already done", None)
            return
        finished, tail = set(), collections.deque(maxlen=_TAIL_LINES)
        try:
            with contextlib.suppress(BrokenPipeError):  # a worker that ended at once says why below
                process.stdin.close()
            with process.stdout:
                for line in process.stdout:
                    event = _parse_event(line)
                    if event is None:
                        tail.append(line.rstrip())
                    else:
                        name, status, seconds = event
                        finished.add(name)
                        self._finished(name, status, seconds)
            process.wait()
        finally:
            with self._lock:
                self._live.discard(process)
        unfinished = [step.name for step in steps if step.name not in finished]
        if unfinished:
            self._failed(unfinished[0], _exit_reason(process.returncode), list(tail))

    def _finished(self, name: str, status: str, seconds: float | None) -> None:
        with self._printing:
            self.progress.line(name, status, seconds)
            if status == "done":
                self.ran.append(name)

    def _failed(self, name: str, reason: str, tail: list[str]) -> None:
        with self._lock:
            self._stopping = True  # runs not started yet stay so
            if self._terminating:
                return
        with self._printing:
            self.progress.line(name, f"failed ({reason})")
            self.failures.append((name, reason, tail))

    def terminate(self) -> None:
        """End the workers: SIGTERM (they remove their temporaries), then SIGKILL after a grace time."""
        with self._lock:
            self._stopping = self._terminating = True
            live = list(self._live)
        for process in live:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        deadline = time.monotonic() + _GRACE_SECONDS
        for process in live:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()

    def end_on_signal(self, signum: int, frame: types.FrameType | None, previous: Any) -> None:
        """End the workers, then do what the signal did before.

        Before: the command line's handler (which removes this process's temporaries
        and exits), Python's KeyboardInterrupt, or the default action. Set as the
        handler of :func:`keras_motifs._runtime.handling_signals` by :func:`run_in_workers`.
        """
        self.terminate()
        if callable(previous):
            previous(signum, frame)
        else:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)


def _parse_event(line: str) -> tuple[str, str, float | None] | None:
    """A worker's progress line as (step, status, seconds); None for any other line of its output.

    A line that only looks like one (e.g. a library's output, or a truncated write) is
    output too: raising here would leave the worker running with no one to wait for it.
    """
    fields = line.rstrip("\n").split("\t", 3)
    if fields[0] != EVENT or len(fields) != 4:
        return None
    _, status, seconds, name = fields
    try:
        return name, status, float(seconds) if seconds else None
    except ValueError:
        return None


def _exit_reason(code: int) -> str:
    """How a worker process ended, in words."""
    if code < 0:
        return f"killed by {_signal_name(-code)}"
    if code > 128 and code - 128 in signal.valid_signals():  # the command line's handler exits 128 + signal
        return f"exit status {code}, ended by {_signal_name(code - 128)}"
    return f"exit status {code}" if code else "ended without finishing its steps"


def _signal_name(number: int) -> str:
    """``SIGKILL`` for 9; ``signal 40`` for a signal without a name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
