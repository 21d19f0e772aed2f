"""Benchmark: whole-process start-up of the command line, seconds and peak memory.

Times, as separate processes, ``keras-motifs --help``, ``keras-motifs tomtom`` of 128
filters against JASPAR 2016 (memelite's compile cache warmed by a first call) and
``python -c "import keras_motifs"``; prints the median wall time and peak resident
memory of several rounds. ``--repo`` points at another checkout (e.g. a git worktree
of an older commit) to measure it the same way: the package is imported from there.
Targets: ``--help`` under 1 s, ``tomtom`` under 2 s.
Run: ``python benchmarks/cli_start.py [--rounds 5] [--repo PATH]``.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from keras_motifs.motifs.meme import write_meme
from keras_motifs.motifs.ppm import Motif


def measure(command: list[str], env: dict) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MiB) of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed: {child.stderr.read().decode()[-500:]}")
    child.stderr.close()
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repo", default=str(Path(__file__).parents[1]), help="checkout to import keras_motifs from")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": args.repo}
    rng = np.random.default_rng(0)
    filters = [Motif(id=f"filter{i}", ppm=rng.dirichlet(np.full(4, 0.3), size=int(rng.integers(8, 20))))
               for i in range(128)]
    with tempfile.TemporaryDirectory() as tmp:
        query = Path(tmp) / "filters.meme"
        write_meme(filters, query)
        cli = [sys.executable, "-m", "keras_motifs.cli"]
        commands = {
            "keras-motifs --help": cli + ["--help"],
            "keras-motifs tomtom (128 filters)": cli + ["tomtom", "--query", str(query), "--out", f"{tmp}/t.tsv"],
            'python -c "import keras_motifs"': [sys.executable, "-c", "import keras_motifs"],
        }
        measure(commands["keras-motifs tomtom (128 filters)"], env)  # warms memelite's cache
        print(f"keras_motifs from {args.repo}; medians of {args.rounds} rounds")
        for name, command in commands.items():
            runs = [measure(command, env) for _ in range(args.rounds)]
            print(f"{name:<36} {statistics.median(r[0] for r in runs):6.2f} s "
                  f"{statistics.median(r[1] for r in runs):7.0f} MiB peak")


if __name__ == "__main__":
    main()
