"""Benchmark: filter importance (ablation of every filter) against one forward pass.

Times :func:`keras_motifs.importance.filter_importance` on ``--num-seqs`` sequences
(default 5,000, like the test split) for cnn-25's 30 first-layer filters and cnn-1's
128 second-layer filters, and ``model.predict`` of the same sequences (one full
forward pass, compiled). Prints seconds and the ratio; the floor is one pass of the
layers after the ablated one per filter (aim for cnn-25: under 10 x a forward pass).
Models are untrained: the cost does not depend on the weights.
Run: ``python benchmarks/importance_speed.py [--num-seqs 5000]``.
"""

import argparse
import time

import numpy as np

from keras_motifs.importance import filter_importance
from keras_motifs.models import build_model
from keras_motifs.probe.inputs import random_sequences

CASES = (("cnn-25", "conv1"), ("cnn-1", "conv2"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-seqs", type=int, default=5000)
    args = parser.parse_args()
    x = random_sequences(args.num_seqs, 200, seed=0)
    y = np.random.default_rng(0).integers(0, 2, (args.num_seqs, 12))
    for arch, layer in CASES:
        model = build_model(arch)
        model.predict(x[:256], verbose=0)  # compile once, outside the timing
        start = time.perf_counter()
        model.predict(x, batch_size=256, verbose=0)
        forward = time.perf_counter() - start
        start = time.perf_counter()
        table = filter_importance(model, x, y, layer=layer)
        seconds = time.perf_counter() - start
        print(f"{arch} {layer}: {len(table)} filters in {seconds:.1f} s; forward pass {forward:.2f} s; "
              f"ratio {seconds / forward:.1f} x ({seconds / forward / len(table):.2f} x per filter)")


if __name__ == "__main__":
    main()
