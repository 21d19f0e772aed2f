"""Benchmark: the dataset check at the door on a DeepSEA-sized file, against reading it once.

Generates (once, kept at ``--path``) a dataset of ``--rows`` one-hot sequences of
``--length`` nt stored as uint8 (default 270,000 x 1,000, the in vivo dataset's train
split; the valid and test splits get 1% each) with 12 labels, then measures, each in a
fresh process: reading every array of the file once, whole (what ``load_dataset`` does),
and :func:`keras_motifs.data.reader.check_dataset`. Prints wall seconds and peak resident
memory of both and their ratios; the check's memory is bounded by its chunk size
(``CHECK_CHUNK_BYTES``) whatever the file's size.
Run: ``python benchmarks/check_speed.py [--path /tmp/check_speed.h5] [--rows 270000] [--length 1000]``.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from keras_motifs.data.writer import DatasetWriter

READ_ONCE = """
import sys, h5py
import keras_motifs.data.reader  # the same imports as the check, so that memory compares arrays
with h5py.File(sys.argv[1], "r") as h5:
    for key in ("x_train", "y_train", "x_valid", "y_valid", "x_test", "y_test"):
        h5[key][...]
"""
CHECK = """
import sys
from keras_motifs.data.reader import check_dataset
check_dataset(sys.argv[1])
"""


def generate(path: Path, rows: int, length: int, block: int = 5000) -> None:
    """Write a random one-hot dataset of the given size, streaming ``block`` rows at a time."""
    rng = np.random.default_rng(0)
    eye = np.eye(4, dtype=np.uint8)
    class_names = [f"class{k}" for k in range(12)]
    with DatasetWriter(path, class_names, length, np.uint8) as writer:
        for split, total in (("train", rows), ("valid", rows // 100), ("test", rows // 100)):
            for start in range(0, total, block):
                n = min(block, total - start)
                writer.append(split, eye[rng.integers(0, 4, (n, length))], rng.integers(0, 2, (n, 12)))
        writer.set_attributes("benchmark", {"rows": rows, "length": length}, {name: [] for name in class_names})


def measure(code: str, path: Path) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MiB) of a child process running ``code``."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code, str(path)])
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if status:
        raise SystemExit(f"child failed with status {status}")
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", type=Path, default=Path("/tmp/check_speed.h5"), help="dataset (made if absent)")
    parser.add_argument("--rows", type=int, default=270_000)
    parser.add_argument("--length", type=int, default=1000)
    args = parser.parse_args()
    if not args.path.exists():
        start = time.perf_counter()
        generate(args.path, args.rows, args.length)
        print(f"generated {args.path} ({args.path.stat().st_size / 2**30:.2f} GiB on disk) "
              f"in {time.perf_counter() - start:.0f} s")
    measure(READ_ONCE, args.path)  # warm the page cache so that both runs read from memory
    read_s, read_mib = measure(READ_ONCE, args.path)
    check_s, check_mib = measure(CHECK, args.path)
    print(f"{args.rows} x {args.length} uint8 (+1% valid, +1% test)")
    print(f"read once, whole:  {read_s:6.1f} s  peak {read_mib:7.0f} MiB")
    print(f"check_dataset:     {check_s:6.1f} s  peak {check_mib:7.0f} MiB")
    print(f"check / read: time {check_s / read_s:.2f}x, peak memory {check_mib / read_mib:.2f}x")


if __name__ == "__main__":
    main()
