"""How a keras-motifs process uses the machine: CPUs, threads, signals, Keras' start and fresh interpreters.

Light to import (no Keras, no NumPy): the command line applies these settings before
any library that reads them is imported.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import types
from collections.abc import Callable, Iterator
from typing import Any

from keras_motifs.errors import check_integer

#: Thread pools sized by environment variables that their libraries read once, at start:
#: TensorFlow's two pools, OpenMP (BLAS, oneDNN), OpenBLAS, MKL and numba (memelite's Tomtom).
THREAD_VARIABLES = (
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)

#: GPU memory taken as needed rather than all at once, so that several processes share one GPU:
#: TensorFlow's allow-growth and JAX's no-preallocation (PyTorch allocates as needed already).
GPU_SHARING_VARIABLES = {"TF_FORCE_GPU_ALLOW_GROWTH": "true", "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}


#: The thread budget that ``keras-motifs --threads N`` gives a process and everything it starts
#: (the sweep's workers, the report's logo processes), where its affinity mask would say more.
BUDGET_VARIABLE = "KERAS_MOTIFS_THREADS"


def usable_cpus() -> int:
    """CPUs this process may use: its ``--threads`` budget when one is set, else its affinity mask."""
    budget = os.environ.get(BUDGET_VARIABLE, "")
    if budget.isdigit() and int(budget) > 0:
        return int(budget)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def thread_environment(threads: int) -> dict[str, str]:
    """Environment variables that hold a process to ``threads`` threads per pool.

    A container's CPU share (``docker --cpu-shares``, a batch task's vCPUs) does not
    change the CPUs a process sees, so without them TensorFlow, BLAS and numba each
    start one thread per core of the host.

    Parameters
    ----------
    threads : int
        Threads per pool, at least 1.

    Returns
    -------
    dict of str to str
        Each of :data:`THREAD_VARIABLES` set to ``threads``, and :data:`BUDGET_VARIABLE`, so
        that the processes this one starts share ``threads`` rather than the machine.
    """
    check_integer(threads, "threads")
    return {**dict.fromkeys(THREAD_VARIABLES, str(threads)), BUDGET_VARIABLE: str(threads)}


def import_keras_quietly() -> None:
    """Import Keras with its backend's native start-up lines (TensorFlow, CUDA) kept off the terminal."""
    # 3, not 2: on every CPU machine TensorFlow logs a cuInit ERROR when training starts. --verbose (or the
    # variable set by the user) shows everything.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import keras  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


#: The signals that end a keras-motifs process (Ctrl-C, ``kill``): :func:`handling_signals` takes them over.
ENDING_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def handling_signals(handler: Callable[[int, types.FrameType | None, Any], None]) -> Iterator[None]:
    """While the block runs, ``handler(signum, frame, previous)`` handles SIGINT and SIGTERM.

    ``previous`` is what handled the signal before the block: a callable (the
    handler of an enclosing block, Python's ``KeyboardInterrupt``), ``signal.SIG_DFL``,
    or None when it was not set from Python; a handler may chain to it. Signals that
    were set to be ignored stay ignored; outside the main thread, where Python cannot
    set handlers, nothing changes. The previous handlers return afterwards.

    Parameters
    ----------
    handler : callable
        Called with the signal's number, the interrupted frame and the previous handler.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in ENDING_SIGNALS}

    def handle(signum: int, frame: types.FrameType | None) -> None:
        handler(signum, frame, previous[signum])

    try:
        for signum, before in previous.items():
            if before is not signal.SIG_IGN:
                signal.signal(signum, handle)
        yield
    finally:
        for signum, before in previous.items():
            if before is not None:  # None: set outside Python, which Python cannot set back
                signal.signal(signum, before)


@contextlib.contextmanager
def ending_on_signals(cleanup: Callable[[], None]) -> Iterator[types.SimpleNamespace]:
    """While the block runs, SIGINT and SIGTERM end the process at once, cleanly.

    The handler raises nothing into the code it lands in (an exception there can be
    swallowed, as in a ``__del__``, or mangled, as in compiled numba code): it calls
    ``cleanup`` (which removes the temporaries being written), flushes the output,
    prints the yielded object's ``note`` on standard error (as it was on entry, even
    if file descriptor 2 is redirected meanwhile) and exits with status 128 + the
    signal's number: 130 for SIGINT, 143 for SIGTERM. Nothing half-written remains,
    since final names are only made by a rename. The handlers are set as
    :func:`handling_signals` sets them (ignored signals and other threads left alone).

    Parameters
    ----------
    cleanup : callable
        Called with no argument by the handler, before the process exits.
    """
    ending = types.SimpleNamespace(note="keras-motifs: interrupted")
    stderr = os.dup(2)

    def end(signum: int, frame: types.FrameType | None, previous: Any) -> None:
        try:
            cleanup()
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):  # a closed pipe, or a write that this signal interrupted
                    stream.flush()
            os.write(stderr, f"{ending.note}\n".encode())
        finally:
            os._exit(128 + signum)

    try:
        with handling_signals(end):
            yield ending
    finally:
        os.close(stderr)


#: What a fresh interpreter runs: the caller's module search path first (a JSON line on standard input), so
#: that it imports the same keras-motifs wherever the two started, then ``sys.exit(function(argv))``.
_FRESH_START = ("import json, sys; sys.path[:] = json.loads(sys.stdin.buffer.readline()); "
                "from {module} import {function}; sys.exit({function}(sys.argv[1:]))")


def start_fresh_python(module: str, function: str, argv: tuple[str, ...] = (), **popen) -> subprocess.Popen:
    """Start a fresh Python process that imports keras-motifs from where this one does and runs one function.

    Fresh interpreters rather than :mod:`multiprocessing`, whose processes import the
    caller's main script again (running it, unless it is guarded by ``__name__``) or
    are forked from a process that may have threads (Keras after training).

    Parameters
    ----------
    module, function : str
        The process runs ``sys.exit(module.function(argv))``.
    argv : tuple of str, optional
        Its arguments, also shown in the process list. Default is none.
    **popen
        Passed on to :class:`subprocess.Popen` (``stdin`` is always a pipe, left open for the caller).

    Returns
    -------
    subprocess.Popen
        The process, its module search path already written to its standard input.
    """
    process = subprocess.Popen([sys.executable, "-c", _FRESH_START.format(module=module, function=function), *argv],
                               stdin=subprocess.PIPE, **popen)
    line = json.dumps(sys.path) + "\n"
    with contextlib.suppress(BrokenPipeError):  # a process that could not start says why on its own output
        process.stdin.write(line if isinstance(process.stdin, io.TextIOBase) else line.encode())
        process.stdin.flush()
    return process
