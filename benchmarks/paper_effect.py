"""Benchmark: does the default run reproduce the paper on every seed?

Runs the experiment (the ``quick`` profile unless told otherwise) once per seed into
``OUT/seed<k>`` (resumable: finished steps are kept), then prints, per architecture
and scored layer, the test AUROC and the match fractions of every seed, their mean
and spread, and how many seeds meet the bars of the paper's effect:

- large first pool (cnn-10, cnn-25, cnn-50, cnn-100): AUROC >= 0.94, ground truth >= 0.85;
- small first pool (cnn-1, cnn-2, cnn-4): ground truth <= 0.2, AUROC >= 0.94;
- cnn-1's second layer: ground truth >= 0.75;
- cnn-50-2: ground truth >= 0.85; cnn19-1-2: ground truth >= 0.8;
- cnn-1-1-100: third layer ground truth >= 0.8, first two layers <= 0.1;
- cnn3-50: AUROC at least 0.1 below cnn3-2's (paper: 0.652 against 0.968).

Seeds are chosen before running and every seed is reported, bad ones included.
Run: ``python benchmarks/paper_effect.py --out DIR [--seeds 1,2,3,4,5] [--archs cnn-25,...]
[--profile quick] [--config sweep.yaml]``.
"""

import argparse
import operator
import time
from pathlib import Path

import numpy as np
import pandas as pd

from keras_motifs.report.runs import read_runs
from keras_motifs.sweep.run import run_experiment
from keras_motifs.sweep.settings import resolve_sweep

LARGE_POOL, SMALL_POOL = ("cnn-10", "cnn-25", "cnn-50", "cnn-100"), ("cnn-1", "cnn-2", "cnn-4")
#: (architecture, layer, column, comparison, bound); layer "" is the first scored layer.
BARS = (
    [(arch, "conv1", "mean_auroc", operator.ge, 0.94) for arch in LARGE_POOL + SMALL_POOL]
    + [(arch, "conv1", "match_gt_frac", operator.ge, 0.85) for arch in LARGE_POOL]
    + [(arch, "conv1", "match_gt_frac", operator.le, 0.2) for arch in SMALL_POOL]
    + [("cnn-1", "conv2", "match_gt_frac", operator.ge, 0.75),
       ("cnn-50-2", "conv1", "match_gt_frac", operator.ge, 0.85),
       ("cnn19-1-2", "conv1", "match_gt_frac", operator.ge, 0.8),
       ("cnn-1-1-100", "conv3", "match_gt_frac", operator.ge, 0.8),
       ("cnn-1-1-100", "conv1", "match_gt_frac", operator.le, 0.1),
       ("cnn-1-1-100", "conv2", "match_gt_frac", operator.le, 0.1)]
)
SYMBOLS = {operator.ge: ">=", operator.le: "<="}
#: The figures printed per layer and seed, by their column in the runs table.
FIGURES = {"mean_auroc": "AUROC", "match_any_frac": "match any", "match_gt_frac": "ground truth"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for one experiment per seed (kept; re-run to resume)")
    parser.add_argument("--seeds", default="1,2,3,4,5", help="comma-separated seeds, chosen before running")
    parser.add_argument("--archs", help="comma-separated architectures (default: the profile's)")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--config", help="YAML sweep file (e.g. another protocol to compare)")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    root = Path(args.out)
    root.mkdir(parents=True, exist_ok=True)

    frames = []
    for seed in seeds:
        sweep = resolve_sweep(args.profile, args.config, archs=args.archs, seed=seed)
        out = root / f"seed{seed}"
        start = time.monotonic()
        with open(root / f"seed{seed}.log", "a") as log:  # progress lines
            run_experiment(sweep, out, stream=log)
        print(f"seed {seed}: {(time.monotonic() - start) / 60:.1f} min (0 when resumed from finished steps)")
        runs = read_runs(sorted(out.glob("runs/*/trial*")))
        runs["seed"] = seed
        frames.append(runs)
    print(f"protocol: lr {sweep.lr:g}, batch {sweep.batch_size}, at most {sweep.epochs} epochs, early stopping on "
          f"{sweep.monitor} (min_delta {sweep.min_delta:g}) with patience {sweep.patience}, learning rate "
          f"x{sweep.lr_factor:g} after {sweep.lr_patience} epochs without improvement (0: never)\n")

    runs = pd.concat(frames, ignore_index=True)
    for (arch, layer), part in runs.groupby(["arch", "layer"], sort=False):
        by_seed = part.set_index("seed")
        for column, label in FIGURES.items():
            values = [by_seed[column].get(seed, np.nan) for seed in seeds]
            cells = " ".join(f"{v:5.3f}" for v in values)
            spread = f"{np.nanstd(values, ddof=1):.3f}" if np.count_nonzero(~np.isnan(values)) > 1 else "-"
            line = f"{arch:<12}{layer:<7}{label:<13}{cells}   mean {np.nanmean(values):.3f} sd {spread}"
            bars = [b for b in BARS if b[:3] == (arch, layer, column)]
            for _, _, _, compare, bound in bars:
                met = sum(compare(v, bound) for v in values if not np.isnan(v))
                line += f"   {SYMBOLS[compare]} {bound}: {met}/{len(seeds)} seeds"
            print(line)
        flags = [f"seed {s}: {f}" for s, f in zip(part["seed"], part["flags"].fillna("")) if f]
        for flag in dict.fromkeys(flags):
            print(f"{'':<19}flagged {flag}")
    first = runs[runs["layer"] == "conv1"].set_index(["arch", "seed"])["mean_auroc"]
    if {"cnn3-50", "cnn3-2"} <= set(runs["arch"]):
        gaps = [first.get(("cnn3-2", s), np.nan) - first.get(("cnn3-50", s), np.nan) for s in seeds]
        print(f"cnn3-2 AUROC minus cnn3-50 AUROC per seed: {' '.join(f'{g:.3f}' for g in gaps)} "
              f"(bar: >= 0.1; {sum(g >= 0.1 for g in gaps)}/{len(seeds)} seeds)")


if __name__ == "__main__":
    main()
