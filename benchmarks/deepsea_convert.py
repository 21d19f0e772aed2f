"""Benchmark: speed and peak memory of converting a DeepSEA-sized bundle.

Generates, in chunks, a bundle in DeepSEA's layout: train.mat as MATLAB v7.3 writes it
(HDF5 with a 512-byte MATLAB header, ``trainxdata`` (length, 4, N) and ``traindata``
(919, N), chunked and gzip-compressed like MATLAB's ``save -v7.3``), a small MATLAB v5
valid.mat and a MATLAB v5 test.mat of ``--v5-test-seqs`` sequences (``testxdata``
(N, 4, length), ``testdata`` (N, 919), written column by column as the MAT-File Format
lays them out, zlib-compressed or not). Then, each in its own child process so that
``ru_maxrss`` is that process's alone:

1. ``convert_deepsea`` of the bundle: sequences read per second and peak RSS;
2. a whole-file load of train.mat with h5py and, for a large test.mat, of test.mat
   with ``scipy.io.loadmat`` (what converting without streaming needs).

Usage::

    python benchmarks/deepsea_convert.py [--num-seqs 500000] [--v5-test-seqs 200000]
        [--v5-compression none] [--workdir DIR] [--keep]

The generated train.mat takes about 0.3 GB per 500,000 sequences on disk when
compressed (``--input-compression none``: 2.5 GB); test.mat takes 4.9 GB per million
sequences uncompressed, about a third of that compressed, and converting a compressed
one needs as much again of temporary space beside the output. Check ``df -h`` of
``--workdir``. Generating test.mat holds its letters, N x length bytes, in memory.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import h5py
import numpy as np
import scipy.io

REPO = Path(__file__).resolve().parents[1]
NUM_LABELS = 919
#: Columns the paper keeps (see keras_motifs.data.deepsea.PAPER_CLASS_INDICES).
PAPER_COLUMNS = (592, 602, 344, 345, 635, 636, 349, 642, 359, 361, 661, 369)
MATLAB_HEADER = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2015 HDF5 schema 1.00 ."


def _random_split(rng: np.random.Generator, num: int, length: int, positive_rate: float):
    """Random one-hot (num, 4, length) uint8 in A, G, C, T order and labels (num, 919) uint8."""
    letters = rng.integers(0, 4, size=(num, length), dtype=np.uint8)
    x = (letters[:, None, :] == np.arange(4, dtype=np.uint8)[None, :, None]).view(np.uint8)
    y = (rng.random((num, NUM_LABELS), dtype=np.float32) < positive_rate).view(np.uint8)
    return x, y


def write_v5_uint8(path: Path, variables: list[tuple[str, tuple[int, ...], object]], compress: bool) -> None:
    """Write uint8 arrays as a little-endian MATLAB v5 file without holding them in memory.

    ``variables`` holds (name, shape, blocks): ``blocks`` yields the array's bytes in
    column-major (Fortran) order, the order of the MAT-File Format. With ``compress``
    each variable is an miCOMPRESSED element (zlib), as ``savemat(do_compression=True)``
    and MATLAB's ``save`` write it.
    """

    def element(mdtype: int, data: bytes) -> bytes:
        return struct.pack("<II", mdtype, len(data)) + data + b"\0" * (-len(data) % 8)

    with open(path, "wb") as handle:
        handle.write(b"MATLAB 5.0 MAT-file, written by benchmarks/deepsea_convert.py".ljust(116)
                     + b"\0" * 8 + struct.pack("<H", 0x0100) + b"IM")
        for name, shape, blocks in variables:
            count = int(np.prod(shape))
            head = (element(6, struct.pack("<II", 9, 0))  # array flags: mxUINT8_CLASS
                    + element(5, struct.pack(f"<{len(shape)}i", *shape))
                    + element(1, name.encode())
                    + struct.pack("<II", 2, count))  # real part: miUINT8
            matrix_tag = struct.pack("<II", 14, len(head) + count + -count % 8)
            matrix = itertools.chain([matrix_tag + head], blocks, [b"\0" * (-count % 8)])  # streamed, not listed
            if not compress:
                handle.writelines(matrix)
                continue
            tag_at = handle.tell()
            handle.write(struct.pack("<II", 15, 0))  # byte count patched below
            compressor = zlib.compressobj(3)
            handle.writelines(compressor.compress(data) for data in matrix)
            handle.write(compressor.flush())
            end = handle.tell()
            handle.seek(tag_at + 4)
            handle.write(struct.pack("<I", end - tag_at - 8))
            handle.seek(end)


def _v5_split(path: Path, key: str, rng: np.random.Generator, num: int, length: int, positive_rate: float,
              compress: bool) -> None:
    """Write a random DeepSEA MATLAB v5 file: ``{key}xdata`` (num, 4, length), ``{key}data`` (num, 919)."""
    letters = rng.integers(0, 4, size=(length, num), dtype=np.uint8)  # letters[l] is position l of every row
    channels = np.arange(4, dtype=np.uint8)[:, None]
    # Column-major (num, 4, length): for each position, the 4 channel columns of all rows.
    x_blocks = ((letters[position][None, :] == channels).view(np.uint8).tobytes() for position in range(length))
    y_blocks = ((rng.random(num, dtype=np.float32) < positive_rate).view(np.uint8).tobytes()
                for _ in range(NUM_LABELS))
    write_v5_uint8(path, [(f"{key}xdata", (num, 4, length), x_blocks), (f"{key}data", (num, NUM_LABELS), y_blocks)],
                   compress)


def make_bundle(folder: Path, num_seqs: int, length: int, positive_rate: float, compression: str | None,
                test_seqs: int = 4000, test_compression: bool = True, valid_seqs: int = 2000,
                seed: int = 0, gen_chunk: int = 10000) -> None:
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
    x, y = _random_split(rng, valid_seqs, length, positive_rate)
    scipy.io.savemat(folder / "valid.mat", {"validxdata": x, "validdata": y}, do_compression=True)
    _v5_split(folder / "test.mat", "test", rng, test_seqs, length, positive_rate, test_compression)


def _child_convert(bundle: str, out: str, chunk_size: int) -> dict:
    """Run the conversion in this process; return its timing and RSS figures."""
    from keras_motifs.data.deepsea import convert_deepsea

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


def _child_whole_load(path: str) -> dict:
    """Load a .mat file's arrays whole (h5py for v7.3, scipy.io.loadmat for v5); return the peak RSS."""
    rss_after_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    started = time.perf_counter()
    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as h5:
            x, y = (h5[key][...] for key in ("trainxdata", "traindata"))
    else:
        arrays = scipy.io.loadmat(path)
        x, y = arrays["testxdata"], arrays["testdata"]
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
    parser.add_argument("--v5-test-seqs", type=int, default=4000,
                        help="Sequences of the MATLAB v5 test.mat. Default is 4000 (DeepSEA's has 455,024).")
    parser.add_argument("--v5-compression", choices=("zlib", "none"), default="zlib",
                        help="Compression of the generated test.mat. Default is zlib (MATLAB's and savemat's).")
    parser.add_argument("--workdir", type=Path, default=None, help="Where to generate files. Default: a temp dir.")
    parser.add_argument("--keep", action="store_true", help="Keep the generated files.")
    parser.add_argument("--skip-whole-load", action="store_true", help="Do not measure the whole-file load.")
    parser.add_argument("--child", choices=("generate", "convert", "whole-load"), help=argparse.SUPPRESS)
    parser.add_argument("--bundle", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child == "generate":
        make_bundle(Path(args.bundle), args.num_seqs, args.length, args.positive_rate,
                    None if args.input_compression == "none" else "gzip",
                    test_seqs=args.v5_test_seqs, test_compression=args.v5_compression == "zlib")
        print(json.dumps({}))
        return
    if args.child == "convert":
        from keras_motifs.data.deepsea import DEFAULT_CHUNK_SIZE

        print(json.dumps(_child_convert(args.bundle, args.out, args.chunk_size or DEFAULT_CHUNK_SIZE)))
        return
    if args.child == "whole-load":
        print(json.dumps(_child_whole_load(args.bundle)))
        return

    workdir = Path(tempfile.mkdtemp(prefix="deepsea_bench.", dir=args.workdir))
    try:
        bundle = workdir / "deepsea_train"
        started = time.perf_counter()
        # Generated in a child too: Linux keeps ru_maxrss across execve, so every child would
        # otherwise start from this process's peak RSS, the generator's.
        _run_child("--child", "generate", "--bundle", str(bundle), "--num-seqs", str(args.num_seqs),
                   "--length", str(args.length), "--positive-rate", str(args.positive_rate),
                   "--input-compression", args.input_compression, "--v5-test-seqs", str(args.v5_test_seqs),
                   "--v5-compression", args.v5_compression)
        generated = time.perf_counter() - started
        train_size = (bundle / "train.mat").stat().st_size
        test_size = (bundle / "test.mat").stat().st_size
        test_arrays = args.v5_test_seqs * (4 * args.length + NUM_LABELS)
        print(f"generated {args.num_seqs} train sequences ({train_size / 1e9:.2f} GB on disk, "
              f"{args.input_compression}) and {args.v5_test_seqs} MATLAB v5 test sequences "
              f"({test_size / 1e9:.2f} GB on disk, {args.v5_compression}; arrays {test_arrays / 2**20:,.0f} MiB "
              f"as uint8) in {generated:.0f} s")

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
        print(f"conversion's own peak RSS / test.mat's arrays: {own / test_arrays:.3f}; "
              f"/ train.mat's arrays: {own / (args.num_seqs * (4 * args.length + NUM_LABELS)):.3f}")
        if not args.skip_whole_load:
            for name, reader in (("train.mat", "h5py"), ("test.mat", "scipy.io.loadmat")):
                whole = _run_child("--child", "whole-load", "--bundle", str(bundle / name))
                whole_own = whole["peak_rss"] - whole["rss_after_import"]
                print(f"whole-file load of {name} ({reader}, arrays {whole['nbytes'] / 2**20:,.0f} MiB) in "
                      f"{whole['seconds']:.1f} s: peak RSS {whole['peak_rss'] / 2**20:,.0f} MiB, "
                      f"{whole_own / 2**20:,.0f} MiB above its imports; ratio streaming conversion / this "
                      f"load: {own / whole_own:.3f} above imports")
    finally:
        if args.keep:
            print(f"files kept in {workdir}")
        else:
            shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
