"""Benchmark: wall time of a small ``keras-motifs run`` sweep with 1 worker and with N.

Simulates one dataset (``--num-seqs`` sequences), then runs the quick profile's sweep
on it (``--archs``, one trial, at most ``--epochs`` epochs, the motif callback every
epoch: trainings, filters, Tomtom, score, importance, report) into fresh folders, once
with ``--workers 1`` (every step in one process) and once with ``--workers N`` (each
run in a worker process with cores // N threads), each as a fresh ``keras-motifs run``
process of this checkout; alternating which goes first when ``--rounds`` > 1. Prints
the wall seconds of each sweep (fastest round), the seconds its trainings reported
(summed over the runs; a worker's include no start-up) and the ratio N / 1.
Run: ``python benchmarks/sweep_workers.py [--archs cnn-2,cnn-10,cnn-25,cnn-50] [--num-seqs 2000]
[--epochs 3] [--workers 2] [--rounds 1] [--dir PATH]``.
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from keras_motifs._runtime import usable_cpus

REPO = Path(__file__).resolve().parents[1]


def keras_motifs(*args: str) -> str:
    """Run ``keras-motifs ARGS`` of this checkout; return its standard output."""
    done = subprocess.run([sys.executable, "-m", "keras_motifs.cli", *args], cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"keras-motifs {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def sweep(folder: Path, data: Path, args, workers: int) -> tuple[float, float]:
    """Wall seconds of one sweep into a fresh folder, and the seconds its trainings reported."""
    shutil.rmtree(folder, ignore_errors=True)
    start = time.perf_counter()
    log = keras_motifs("run", "--out", str(folder), "--data", str(data), "--archs", args.archs,
                       "--epochs", str(args.epochs), "--workers", str(workers))
    wall = time.perf_counter() - start
    training = sum(float(s) for s in re.findall(r"\] \d+/\d+ train .+: done in ([\d.]+) s", log))
    return wall, training


def at_least(low: int):
    """An argparse type: an integer >= ``low``."""
    def parse(text: str) -> int:
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
        return value
    return parse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", default="cnn-2,cnn-10,cnn-25,cnn-50")
    parser.add_argument("--num-seqs", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--workers", type=at_least(2), default=2, help="compared with 1 (default 2)")
    parser.add_argument("--rounds", type=at_least(1), default=1, help="alternating rounds; the fastest of each is kept")
    parser.add_argument("--dir", help="working folder (default: a temporary one, removed afterwards)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(args.dir or scratch).resolve()
        root.mkdir(parents=True, exist_ok=True)
        data = root / "data.h5"
        keras_motifs("simulate", "--out", str(data), "--num-seqs", str(args.num_seqs))
        counts = (1, args.workers)
        results = {count: [] for count in counts}
        for round_ in range(args.rounds):  # alternate which goes first: drift in load hits both alike
            for count in counts if round_ % 2 == 0 else counts[::-1]:
                results[count].append(sweep(root / f"workers{count}", data, args, count))
        print(f"{len(args.archs.split(','))} runs, {args.num_seqs} sequences, {args.epochs} epochs, "
              f"{usable_cpus()} cores")
        print(f"{'workers':>7} {'sweep wall s':>13} {'training s (sum)':>17}")
        best = {count: min(results[count]) for count in counts}
        for count in counts:
            print(f"{count:>7} {best[count][0]:>13.1f} {best[count][1]:>17.1f}")
        print(f"ratio {args.workers} / 1: {best[args.workers][0] / best[1][0]:.3f}")


if __name__ == "__main__":
    main()
