"""Benchmark: Tomtom of 30 and 128 query motifs against JASPAR 2016 CORE vertebrates.

Prints whether memelite's numba cache was cold (then the first call includes the
one-time compile), the first call's time, and warm times (median of repeats) for
30 and 128 queries: softened JASPAR matrices padded like filters, and random
matrices. With ``--measure-compile`` it also times the one-time compile in a child
process whose numba cache is an empty temporary folder (``NUMBA_CACHE_DIR``), so
the installed cache is left alone. Run:
``python benchmarks/tomtom_speed.py [--repeats 5] [--measure-compile]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from keras_motifs.motifs.jaspar import load_jaspar
from keras_motifs.motifs.ppm import Motif
from keras_motifs.motifs.tomtom import _memelite_cache_is_warm, tomtom


def _queries(jaspar: list[Motif], n: int, kind: str, seed: int = 0) -> list[Motif]:
    """``n`` query motifs of width 19 (first-layer filters' width)."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        return [Motif(f"filter{i}", rng.dirichlet(np.ones(4), size=19)) for i in range(n)]
    queries = []
    for i, j in enumerate(rng.choice(len(jaspar), size=n, replace=False)):
        ppm = 0.8 * jaspar[j].ppm[:19] + 0.05
        pad = np.full((19 - len(ppm), 4), 0.25)
        queries.append(Motif(f"filter{i}", np.vstack([ppm, pad])))
    return queries


_CHILD = """
import time
from keras_motifs.motifs.jaspar import load_jaspar
from keras_motifs.motifs.ppm import Motif
from keras_motifs.motifs.tomtom import _memelite_cache_is_warm, tomtom
jaspar = load_jaspar("JASPAR2016")
cold = not _memelite_cache_is_warm()
start = time.perf_counter()
tomtom(jaspar[:30], jaspar)
print(f"{cold} {time.perf_counter() - start:.1f}")
"""


def _measure_compile() -> None:
    """Time the first Tomtom call of a fresh process with an empty numba cache."""
    with tempfile.TemporaryDirectory(prefix="numba_cache_") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, check=True)
    cold, seconds = out.stdout.split()[-2:]
    print(f"one-time compile (fresh process, empty numba cache, detected cold: {cold}): {seconds} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="warm repeats per case (default 5)")
    parser.add_argument("--measure-compile", action="store_true", help="also time the one-time numba compile")
    args = parser.parse_args()
    if args.measure_compile:
        _measure_compile()

    jaspar = load_jaspar("JASPAR2016")
    cold = not _memelite_cache_is_warm()
    start = time.perf_counter()
    tomtom(_queries(jaspar, 30, "jaspar"), jaspar)
    first = time.perf_counter() - start
    print(f"memelite numba cache: {'cold' if cold else 'warm'} before the first call")
    print(f"first call (30 queries x {len(jaspar)} targets, {'includes compile' if cold else 'loads cache'}): {first:.2f} s")
    for n in (30, 128):
        for kind in ("jaspar", "random"):
            queries = _queries(jaspar, n, kind)
            times, hits = [], 0
            for _ in range(args.repeats):
                start = time.perf_counter()
                table = tomtom(queries, jaspar)
                times.append(time.perf_counter() - start)
                hits = table.Query_ID.nunique()
            print(
                f"warm: {n:3d} {kind:6s} queries x {len(jaspar)} targets: median {statistics.median(times) * 1000:7.1f} ms"
                f" (min {min(times) * 1000:.1f}), queries with a hit at E<=0.1: {hits}/{n}"
            )


if __name__ == "__main__":
    main()
