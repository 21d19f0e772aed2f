"""How a keras-motifs process uses the machine: the CPUs it may run on and the threads it starts.

Light to import (no Keras, no NumPy): the command line applies these settings before
any library that reads them is imported.
"""

from __future__ import annotations

import os

from keras_motifs.errors import KerasMotifsError

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


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the system has one)."""
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
        Each of :data:`THREAD_VARIABLES` set to ``threads``.
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise KerasMotifsError(f"threads must be a positive integer, got {threads!r}")
    return dict.fromkeys(THREAD_VARIABLES, str(threads))
