"""Benchmark: filter extraction, Tomtom and the motif-match callback.

1. PPM extraction of cnn-25's 30 first-layer filters on 5,000 x 200 sequences
   (target under 1 s), next to the first-layer forward pass alone over the same
   batches, its floor; ratio printed.
2. Tomtom (memelite, warm) of the 30 filters and of cnn-1's 128 second-layer
   filters against JASPAR 2016; ``--measure-compile`` also times memelite's
   one-time compile in an empty cache (via ``tomtom_speed.py``).
3. The callback's cost: seconds per epoch of cnn-25 on the full training set
   (17,500 sequences) with MotifMatchCallback on 1,000 validation sequences every
   epoch, against the same training without it (target ratio <= 1.10).
Run: ``python benchmarks/motif_speed.py [--epochs 3] [--measure-compile]``.
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import keras
from _timing import EpochTimer

from keras_motifs.callbacks import MotifMatchCallback
from keras_motifs.data import simulate
from keras_motifs.filters import extract_filters, feature_map_model
from keras_motifs.models import build_model
from keras_motifs.tomtom import load_database, tomtom
from keras_motifs.training import fit


def best_of(repeats: int, action) -> float:
    """Median wall time of ``action()`` over ``repeats`` calls, after one warm-up call."""
    action()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; the fastest of each is kept")
    parser.add_argument("--measure-compile", action="store_true")
    args = parser.parse_args()
    data = simulate(num_seqs=25000, seed=0)
    x = data.x["test"]  # 5,000 x 200 x 4

    model = build_model("cnn-25")
    fit(model, data, epochs=1, verbose=0)  # trained a little, so filters fire like real ones
    features = feature_map_model(model)[0]

    def forward():
        for start in range(0, len(x), 512):
            keras.ops.convert_to_numpy(features(x[start : start + 512], training=False))

    extract = best_of(args.repeats, lambda: extract_filters(model, x))
    floor = best_of(args.repeats, forward)
    print(f"extraction of 30 filters on {len(x)} x 200: {extract:.3f} s; forward pass alone {floor:.3f} s; "
          f"ratio {extract / floor:.2f} (two passes: maxima, then windows)")

    jaspar = load_database("JASPAR2016")
    first = extract_filters(model, x).motifs()
    deep = extract_filters(build_model("cnn-1"), x[:1000], layer="conv2").motifs()
    for name, queries in ((f"{len(first)} cnn-25 conv1 filters", first), (f"{len(deep)} cnn-1 conv2 filters", deep)):
        seconds = best_of(args.repeats, lambda q=queries: tomtom(q, jaspar))
        print(f"Tomtom (memelite, warm) of {name} against {len(jaspar)} JASPAR 2016 matrices: {seconds:.3f} s")
    if args.measure_compile:
        subprocess.run([sys.executable, str(Path(__file__).with_name("tomtom_speed.py")), "--measure-compile",
                        "--repeats", "1"], check=True)

    without, with_callback = [], []
    for _ in range(args.rounds):  # alternate, so drift in machine load hits both alike
        timer = EpochTimer()
        fit(build_model("cnn-25"), data, epochs=args.epochs, callbacks=[timer], verbose=0)
        without.append(timer.steady())
        timer = EpochTimer()
        callback = MotifMatchCallback(data.x["valid"][:1000])
        fit(build_model("cnn-25"), data, epochs=args.epochs, callbacks=[callback, timer], verbose=0)
        with_callback.append(timer.steady())
    print(f"cnn-25 epoch on {len(data.x['train'])} sequences: {min(without):.2f} s without the callback, "
          f"{min(with_callback):.2f} s with it every epoch on 1,000 sequences; "
          f"ratio {min(with_callback) / min(without):.3f}")


if __name__ == "__main__":
    main()
