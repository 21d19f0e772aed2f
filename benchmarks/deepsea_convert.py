"""Benchmark: speed and peak memory of converting a DeepSEA-sized train.mat.

Generates, in chunks, a bundle in DeepSEA's layout: train.mat as MATLAB v7.3 writes it
(HDF5 with a 512-byte MATLAB header, ``trainxdata`` (length, 4, N) and ``traindata``
(919, N), chunked and gzip-compressed like MATLAB's ``save -v7.3``), and small MATLAB v5
valid.mat and test.mat. Then, each in its own child process so that ``ru_maxrss`` is
that process's alone:

1. ``convert_deepsea`` of the bundle: sequences read per second and peak RSS;
2. a whole-file load of train.mat with h5py (what converting without streaming needs).

Usage::

    python benchmarks/deepsea_convert.py [--num-seqs 500000] [--workdir DIR] [--keep]

The generated train.mat takes about 0.3 GB per 500,000 sequences on disk when
compressed (``--input-compression none``: 2.5 GB); check ``df -h`` of ``--workdir``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import scipy.io

REPO = Path(__file__).resolve().parents[1]
NUM_LABELS = 919
#: Columns the paper keeps (see keras_motifs.deepsea.PAPER_CLASS_INDICES).
PAPER_COLUMNS = (592, 602, 344, 345, 635, 636, 349, 642, 359, 361, 661, 369)
MATLAB_HEADER = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2015 HDF5 schema 1.00 ."


def _random_split(rng: np.random.Generator, num: int, length: int, positive_rate: float):
    """Random one-hot (num, 4, length) uint8 in A, G, C, T order and labels (num, 919) uint8."""
    letters = rng.integers(0, 4, size=(num, length), dtype=np.uint8)
    x = (letters[:, None, :] == np.arange(4, dtype=np.uint8)[None, :, None]).view(np.uint8)
    y = (rng.random((num, NUM_LABELS), dtype=np.float32) < positive_rate).view(np.uint8)
    return x, y


def make_bundle(folder: Path, num_seqs: int, length: int, positive_rate: float, compression: str | None,
                seed: int = 0, gen_chunk: int = 10000, small: tuple[int, int] = (2000, 4000)) -> None:
    """Write train.mat (v7.3, generated in chunks), valid.mat and test.mat (v5) into ``folder``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    train = folder / "train.mat"
    with h5py.File(train, "w", userblock_size=512) as h5:
        options = {"compression": compression, "compression_opts": 3} if compression else {}
        x_ds = h5.create_dataset("trainxdata", shape=(length, 4, num_seqs), dtype=np.uint8,
                                 chunks=(length, 4, 64), **options)
        y_ds = h5.create_dataset("traindata", shape=(NUM_LABELS, num_seqs), dtype=np.uint8,
                                 chunks=(NUM_LABELS, 1024), **options)
        for dataset in (x_ds, y_ds):
            dataset.attrs["MATLAB_class"] = np.bytes_("uint8")
        for lo in range(0, num_seqs, gen_chunk):
            hi = min(lo + gen_chunk, num_seqs)
            x, y = _random_split(rng, hi - lo, length, positive_rate)
            x_ds[:, :, lo:hi] = x.transpose(2, 1, 0)
            y_ds[:, lo:hi] = y.T
    with open(train, "r+b") as handle:
        handle.write(MATLAB_HEADER)
    for split, num in zip(("valid", "test"), small):
        x, y = _random_split(rng, num, length, positive_rate)
        scipy.io.savemat(folder / f"{split}.mat", {f"{split}xdata": x, f"{split}data": y}, do_compression=True)


def _child_convert(bundle: str, out: str, chunk_size: int) -> dict:
    """Run the conversion in this process; return its timing and RSS figures."""
    from keras_motifs.deepsea import convert_deepsea

    rss_after_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    started = time.perf_counter()
    summary = convert_deepsea(bundle, out, chunk_size=chunk_size)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "rss_after_import": rss_after_import,
        "splits": summary["splits"],
    }


def _child_whole_load(train: str) -> dict:
    """Load train.mat's two arrays whole with h5py; return the peak RSS."""
    rss_after_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    started = time.perf_counter()
    with h5py.File(train, "r") as h5:
        x = h5["trainxdata"][...]
        y = h5["traindata"][...]
    return {
        "seconds": time.perf_counter() - started,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "rss_after_import": rss_after_import,
        "nbytes": x.nbytes + y.nbytes,
    }


def _run_child(*args: str) -> dict:
    """Run this script in a fresh interpreter in a child mode and parse its JSON output.

    The repository root goes first on the child's PYTHONPATH, so an uninstalled
    checkout benchmarks its own keras_motifs.
    """
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    result = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env)
    if result.returncode:
        sys.exit(f"child {' '.join(args)} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-seqs", type=int, default=500_000, help="train.mat sequences. Default is 500000.")
    parser.add_argument("--length", type=int, default=1000, help="Sequence length. Default is 1000.")
    parser.add_argument("--positive-rate", type=float, default=0.02,
                        help="Probability of each label being 1 (0.02: ~21%% of sequences kept for 12 classes). "
                             "Default is 0.02.")
    parser.add_argument("--chunk-size", type=int, default=None, help="convert_deepsea chunk_size. Default: its own.")
    parser.add_argument("--input-compression", choices=("gzip", "none"), default="gzip",
                        help="Compression of the generated train.mat. Default is gzip (MATLAB's -v7.3 default).")
    parser.add_argument("--workdir", type=Path, default=None, help="Where to generate files. Default: a temp dir.")
    parser.add_argument("--keep", action="store_true", help="Keep the generated files.")
    parser.add_argument("--skip-whole-load", action="store_true", help="Do not measure the whole-file load.")
    parser.add_argument("--child", choices=("convert", "whole-load"), help=argparse.SUPPRESS)
    parser.add_argument("--bundle", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child == "convert":
        from keras_motifs.deepsea import DEFAULT_CHUNK_SIZE

        print(json.dumps(_child_convert(args.bundle, args.out, args.chunk_size or DEFAULT_CHUNK_SIZE)))
        return
    if args.child == "whole-load":
        print(json.dumps(_child_whole_load(args.bundle)))
        return

    workdir = Path(tempfile.mkdtemp(prefix="deepsea_bench.", dir=args.workdir))
    try:
        bundle = workdir / "deepsea_train"
        started = time.perf_counter()
        make_bundle(bundle, args.num_seqs, args.length, args.positive_rate,
                    None if args.input_compression == "none" else "gzip")
        generated = time.perf_counter() - started
        train_size = (bundle / "train.mat").stat().st_size
        print(f"generated {args.num_seqs} train sequences ({train_size / 1e9:.2f} GB on disk, "
              f"{args.input_compression}) in {generated:.0f} s")

        out = workdir / "invivo.h5"
        child = ["--child", "convert", "--bundle", str(workdir), "--out", str(out)]
        if args.chunk_size:
            child += ["--chunk-size", str(args.chunk_size)]
        convert = _run_child(*child)
        read = sum(split["read"] for split in convert["splits"].values())
        kept = {name: split["kept"] for name, split in convert["splits"].items()}
        print(f"converted {read} sequences (train {convert['splits']['train']['read']}) in "
              f"{convert['seconds']:.1f} s: {read / convert['seconds']:,.0f} sequences/s; kept {kept}; "
              f"output {out.stat().st_size / 1e6:,.0f} MB")
        own = convert["peak_rss"] - convert["rss_after_import"]
        print(f"conversion peak RSS {convert['peak_rss'] / 2**20:,.0f} MiB, of which the imports "
              f"(keras_motifs pulls in Keras) {convert['rss_after_import'] / 2**20:,.0f} MiB and the conversion "
              f"{own / 2**20:,.0f} MiB")
        if not args.skip_whole_load:
            whole = _run_child("--child", "whole-load", "--bundle", str(bundle / "train.mat"))
            whole_own = whole["peak_rss"] - whole["rss_after_import"]
            print(f"whole-file load of train.mat (h5py, arrays {whole['nbytes'] / 2**20:,.0f} MiB) in "
                  f"{whole['seconds']:.1f} s: peak RSS {whole['peak_rss'] / 2**20:,.0f} MiB, "
                  f"{whole_own / 2**20:,.0f} MiB above its imports")
            print(f"ratio streaming / whole load: {own / whole_own:.3f} above imports, "
                  f"{convert['peak_rss'] / whole['peak_rss']:.3f} in total")
    finally:
        if args.keep:
            print(f"files kept in {workdir}")
        else:
            shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
