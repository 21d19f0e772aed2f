"""Benchmark: the report step (``keras_motifs.report.write.write_report``) of a paper-sized sweep.

Generates ``--runs`` trained-run folders (default 85: the paper profile's 17
architectures x 5 trials) as the pipeline writes them: ``config.json``,
``metrics.json``, ``history.csv`` with the motif callback's columns, and for two
layers ``motifs/<layer>.meme``, ``.filters.tsv``, ``.tomtom.tsv`` and ``.score.json``:
conv1 with 30 filters of width 19 and conv2 with 128 filters of width 5, each
layer without 0-3 of its filters (the pipeline leaves out filters with no
informative column); a third of the filters match a ground-truth motif, a third
another JASPAR motif. That is 2 x 85 logo grids of about 13,000 logos: every run
has a deeper layer here, where the paper's own sweep scores one for cnn-1 and
cnn-1-1-100 only (about 5,400 logos in all).

Then times, each in a fresh process importing ``keras_motifs`` from the checkout
given: the report of ``--before`` (e.g. a git worktree of an older commit; its
seconds scaled linearly from ``--before-runs`` runs when fewer), the report of
this checkout into a new folder, and again into the same folder with nothing
changed (a resumed sweep). Prints wall and CPU seconds (the processes' and their
children's) and the ratio before / after.
Run: ``python benchmarks/report_speed.py [--runs 85] [--before PATH [--before-runs N]] [--dir PATH]``.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from keras_motifs.io.files import write_json
from keras_motifs.motifs.meme import write_meme
from keras_motifs.motifs.ppm import Motif

#: The paper profile's architectures: name, first and second pool size.
ARCHS = [
    ("cnn-1", 1, 100), ("cnn-2", 2, 50), ("cnn-4", 4, 25), ("cnn-10", 10, 10), ("cnn-25", 25, 4),
    ("cnn-50", 50, 2), ("cnn-100", 100, 1), ("cnn-50-2", 50, 50), ("cnn9-4", 4, 25), ("cnn9-25", 25, 4),
    ("cnn3-2", 2, 50), ("cnn3-50", 50, 2), ("cnn19-1-2", 2, 50), ("cnn-1-1-100", 1, 1),
    ("cnn-25-60", 25, 4), ("cnn-25-90", 25, 4), ("cnn-25-120", 25, 4),
]
TRIALS = 5
LAYERS = {"conv1": (30, 19), "conv2": (128, 5)}  # filters, width
CLASSES = ["Arid3a", "CEBPB", "FOSL1", "Gabpa", "MAFK", "MAX", "MEF2A", "NFYB", "SP1", "SRF", "STAT1", "YY1"]
EPOCHS = 30

TIMED = """
import resource, sys, time
import keras_motifs
from keras_motifs.report.write import write_report
start, cpu = time.perf_counter(), time.process_time()
write_report(open(sys.argv[1]).read().split(), sys.argv[2])
wall = time.perf_counter() - start
children = resource.getrusage(resource.RUSAGE_CHILDREN)
print(wall, time.process_time() - cpu + children.ru_utime + children.ru_stime, keras_motifs.__file__)
"""


def filter_ppm(rng: np.random.Generator, width: int) -> np.ndarray:
    """A learned-looking filter: a sharp core of 6-12 positions in weakly informative flanks."""
    ppm = rng.dirichlet(np.full(4, 8.0), size=width)
    core = min(width, int(rng.integers(6, 13)))
    start = int(rng.integers(0, width - core + 1))
    ppm[start:start + core] = rng.dirichlet(np.full(4, 0.3), size=core)
    return ppm


def filter_hits(rng: np.random.Generator, ids: list[str]) -> list[dict]:
    """Best Tomtom hits as ``score.json`` holds them: a third ground truth, a third other JASPAR motifs."""
    hits = []
    for fid in ids:
        kind = int(rng.integers(0, 3))
        tf = CLASSES[int(rng.integers(0, len(CLASSES)))]
        jaspar, evalue = f"MA{int(rng.integers(1, 1000)):04d}.1", float(10.0 ** rng.uniform(-8, -1))
        hits.append({
            "filter": fid,
            "best_jaspar_id": jaspar if kind else None, "best_jaspar_name": tf if kind else None,
            "best_evalue": evalue if kind else None,
            "best_gt_tf": tf if kind == 2 else None, "best_gt_id": jaspar if kind == 2 else None,
            "best_gt_evalue": evalue if kind == 2 else None,
        })
    return hits


def write_layer(rng: np.random.Generator, motifs_dir: Path, layer: str, n: int, width: int) -> float:
    """Write one layer's motif files; return its fraction of filters matching ground truth."""
    dropped = set(rng.choice(n, size=int(rng.integers(0, 4)), replace=False).tolist())
    motifs = [Motif(id=f"filter{i}", ppm=filter_ppm(rng, width), name=layer, nsites=int(rng.integers(50, 2000)))
              for i in range(n) if i not in dropped]
    write_meme(motifs, motifs_dir / f"{layer}.meme")
    pd.DataFrame({"filter": [m.id for m in motifs], "layer": layer, "width": width,
                  "num_sites": [m.nsites for m in motifs], "max_activation": 1.0,
                  "consensus": ["N" * width] * len(motifs)}
                 ).to_csv(motifs_dir / f"{layer}.filters.tsv", sep="\t", index=False)
    hits = filter_hits(rng, [f"filter{i}" for i in range(n)])
    rows = [f"{h['filter']}\t{h['best_jaspar_id']}\t0\t1e-9\t{h['best_evalue']}\t1e-7\t{width}\tN\tN\t+"
            for h in hits if h["best_jaspar_id"]]
    (motifs_dir / f"{layer}.tomtom.tsv").write_text(
        "Query_ID\tTarget_ID\tOptimal_offset\tp-value\tE-value\tq-value\tOverlap\tQuery_consensus\t"
        "Target_consensus\tOrientation\n" + "\n".join(rows) + "\n")
    n_any, n_gt = sum(h["best_jaspar_id"] is not None for h in hits), sum(h["best_gt_id"] is not None for h in hits)
    write_json(motifs_dir / f"{layer}.score.json", {
        "layer": layer, "num_filters": n, "evalue_threshold": 0.1, "match_any_frac": n_any / n,
        "match_gt_frac": n_gt / n, "tf_coverage": {tf: True for tf in CLASSES}, "filters": hits})
    return n_gt / n


def write_run(rng: np.random.Generator, run: Path, arch: str, pools: tuple[int, int], trial: int) -> None:
    """Write one trained-run folder as training and the motif steps leave it (no model.keras)."""
    (run / "motifs").mkdir(parents=True)
    spec = {"name": arch, "conv_layers": [
        {"filters": n, "kernel_size": width, "pool_size": pool, "pool_stride": None, "activation": "relu",
         "dropout": 0.1} for (n, width), pool in zip(LAYERS.values(), pools)]}
    epochs_run = int(rng.integers(15, EPOCHS + 1))
    write_json(run / "config.json", {
        "arch": arch, "spec": spec, "trial": trial, "seed": trial, "epochs": 100, "epochs_run": epochs_run,
        "best_epoch": epochs_run - 11, "patience": 10, "monitor": "val_loss", "min_delta": 0.0,
        "lr": 3e-4, "lr_patience": 0, "lr_factor": 0.2, "batch_size": 100, "class_names": CLASSES})
    auroc = {c: float(rng.uniform(0.85, 0.98)) for c in CLASSES}
    aupr = {c: float(rng.uniform(0.4, 0.8)) for c in CLASSES}
    write_json(run / "metrics.json", {"auroc": auroc, "aupr": aupr, "mean_auroc": float(np.mean(list(auroc.values()))),
                                      "mean_aupr": float(np.mean(list(aupr.values())))})
    gt = [write_layer(rng, run / "motifs", layer, n, width) for layer, (n, width) in LAYERS.items()][0]
    ramp = np.linspace(0, 1, epochs_run)
    pd.DataFrame({"epoch": range(epochs_run), "loss": 0.6 - 0.2 * ramp, "val_loss": 0.62 - 0.18 * ramp,
                  "motif_match_frac": np.minimum(1.0, 1.2 * ramp), "motif_gt_frac": gt * ramp}
                 ).to_csv(run / "history.csv", index=False)


def generate(root: Path, count: int) -> list[Path]:
    """Write ``count`` run folders, architectures in turn, trial by trial."""
    rng = np.random.default_rng(0)
    runs = []
    for k in range(count):
        arch, first, second = ARCHS[k % len(ARCHS)]
        trial = k // len(ARCHS)
        runs.append(root / arch / f"trial{trial}")
        write_run(rng, runs[-1], arch, (first, second), trial)
    return runs


def time_report(repo: Path, runs: list[Path], out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of ``write_report`` in a fresh process importing keras_motifs from ``repo``."""
    listing = out.parent / f"{out.name}.runs"
    listing.write_text("\n".join(map(str, runs)))
    done = subprocess.run([sys.executable, "-c", TIMED, str(listing), str(out)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(repo)}, cwd=out.parent)  # not a checkout's root
    if done.returncode != 0:
        raise SystemExit(f"the report of {repo} failed:\n{done.stderr[-2000:]}")
    wall, cpu, module = done.stdout.split()
    if not Path(module).resolve().is_relative_to(repo.resolve()):
        raise SystemExit(f"keras_motifs was imported from {module}, not from {repo}")
    return float(wall), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=len(ARCHS) * TRIALS, help="run folders (default: the paper's 85)")
    parser.add_argument("--before", type=Path, help="a checkout to compare with (e.g. a git worktree of HEAD)")
    parser.add_argument("--before-runs", type=int, help="time --before on this many runs, scaled to --runs")
    parser.add_argument("--dir", type=Path, help="keep the runs and reports here (default: a temporary folder)")
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[1]
    if args.dir and args.dir.exists():
        raise SystemExit(f"{args.dir}: already exists; give a new folder")
    root = args.dir or Path(tempfile.mkdtemp(prefix="report_speed_"))
    try:
        runs = generate(root / "runs", args.runs)
        grids = [meme for run in runs for meme in (run / "motifs").glob("*.meme")]
        logos = sum(meme.read_text().count("\nMOTIF ") for meme in grids)
        print(f"{len(runs)} runs, {len(grids)} logo grids, {logos} logos; {os.cpu_count()} CPUs")
        results = {}
        if args.before:
            sample = args.before_runs or len(runs)
            wall, cpu = time_report(args.before, runs[:sample], root / "report_before")
            scale = len(runs) / sample
            label = "before" + (f" ({sample} runs, x{scale:.2f})" if sample != len(runs) else "")
            results[label] = before = (wall * scale, cpu * scale)
        results["after, new folder"] = after = time_report(here, runs, root / "report_after")
        results["after, resumed (unchanged)"] = resumed = time_report(here, runs, root / "report_after")
        for label, (wall, cpu) in results.items():
            print(f"{label:<34} {wall:8.1f} s wall {cpu:8.1f} s CPU")
        if args.before:
            print(f"before / after (wall): {before[0] / after[0]:.1f}x new folder, "
                  f"{before[0] / resumed[0]:.1f}x resumed")
    finally:
        if not args.dir:
            shutil.rmtree(root, ignore_errors=True)

if __name__ == "__main__":
    main()
