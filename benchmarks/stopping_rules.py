"""Benchmark: would stopping earlier keep every figure? One training per run, each rule read from it.

For each seed (chosen before running; default 1-5) the ``quick`` profile's experiment is
run with its own protocol into ``OUT/patience<P>/seed<k>`` (P = the profile's patience),
while a callback follows, on the same validation losses, each candidate patience
(``--patience 5,10,15``) the way ``keras.callbacks.EarlyStopping(restore_best_weights=True)``
would, and keeps the weights that rule would have ended with. Nothing differs between the
trainings up to the epoch a rule stops at (same seed, same batches, same weights), so a
candidate's model is the one a training with that rule ends with, without training again.
Each candidate gets its own experiment folder ``OUT/patience<P>/seed<k>`` holding that
model, its test metrics and its history up to its stop; a run whose candidate model is
the profile's own (same best epoch) is copied. The sweep's own steps then extract,
compare, score and report it, so ``paper_effect.py --out OUT/patience<P> --config
patience<P>.yaml`` prints its figures per seed.

Prints, per rule: epochs trained over all runs (and against the profile's), per run the
best and last epoch, how many of ``paper_effect.py``'s bars it meets, and every figure
``paper_effect.py`` prints (AUROC, match any, ground truth; per layer and seed) that is worse
than the profile's own on the same seed: AUROC lower, or a match fraction on the wrong side
of it (lower for a layer whose bar asks for whole motifs, higher for a small pool's first layer).
Run: ``python benchmarks/stopping_rules.py --out DIR [--seeds 1,2,3,4,5] [--patience 5,10,15]``
(resumable: finished seeds and steps are kept).
"""

import argparse
import dataclasses
import json
import operator
import os
import shutil
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from paper_effect import BARS, FIGURES

from keras_motifs.data.reader import load_dataset
from keras_motifs.io.experiment import ExperimentFolder
from keras_motifs.io.files import write_json
from keras_motifs.io.runfolder import RunFolder
from keras_motifs.models import get_spec
from keras_motifs.report.runs import read_runs
from keras_motifs.sweep.run import run_experiment
from keras_motifs.sweep.settings import Sweep, resolve_sweep
from keras_motifs.sweep.steps import plan
from keras_motifs.training import evaluate, train_run


class PatienceRules(keras.callbacks.Callback):
    """Follow EarlyStopping(patience=P, restore_best_weights=True) for several P; keep each one's weights.

    Parameters
    ----------
    patiences : list of int
    monitor : str
        A value that is better lower (the validation loss).
    """

    def __init__(self, patiences: list[int], monitor: str = "val_loss"):
        super().__init__()
        self.patiences, self.monitor = patiences, monitor
        self.rules = {p: {"patience": p, "best": np.inf, "best_epoch": None, "weights": None, "wait": 0,
                          "stopped": None} for p in patiences}

    def on_epoch_end(self, epoch, logs=None):
        current = logs[self.monitor]
        for rule in self.rules.values():
            if rule["stopped"] is not None:
                continue
            rule["wait"] += 1  # EarlyStopping's order: count, then reset on an improvement
            if current < rule["best"]:
                rule.update(best=current, best_epoch=epoch, weights=self.model.get_weights(), wait=0)
            elif rule["wait"] >= rule["patience"] and epoch > 0:
                rule["stopped"] = epoch


def train_profile_run(sweep: Sweep, folder: ExperimentFolder, arch: str, rules: PatienceRules) -> None:
    """Train one run as the sweep's train step does (``keras_motifs.sweep.steps``), with the rules watching."""
    run = folder.run(arch, 0)
    train_run(load_dataset(folder.synthetic_data), get_spec(arch), run.path, sweep.protocol, seed=sweep.seed, trial=0,
              overwrite=True, verbose=0, callback_every=sweep.callback_every, jaspar_release=sweep.jaspar_release,
              engine=sweep.engine, callbacks=[rules])


def write_candidate(source: RunFolder, target: RunFolder, patience: int, rule: dict, dataset) -> None:
    """The candidate rule's run folder: its model, test metrics, history to its stop, and config."""
    config = json.loads(source.config.read_text())
    same_model = rule["best_epoch"] == config["best_epoch"]
    tmp = target.path.with_name(f".{target.path.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    if same_model:  # the profile's model: every later step's output holds for the candidate too
        shutil.copytree(source.path, tmp)
    else:
        tmp.mkdir(parents=True)
        model = keras.models.load_model(source.model)
        model.set_weights(rule["weights"])
        model.save(tmp / source.model.name)
        write_json(tmp / source.metrics.name, evaluate(model, dataset.x["test"], dataset.y["test"],
                                                        dataset.class_names, config["batch_size"]))
    last = rule["stopped"] if rule["stopped"] is not None else config["epochs_run"] - 1
    history = pd.read_csv(source.history).iloc[: last + 1]
    history.to_csv(tmp / source.history.name, index=False)
    config.update(patience=patience, epochs_run=last + 1, best_epoch=rule["best_epoch"],
                  fit_seconds=round(config["seconds_per_epoch"] * (last + 1), 3),
                  counterfactual=f"the weights of {source.path}'s training at its epoch {rule['best_epoch']}, "
                                 f"where patience {patience} would have stopped it at epoch {last}")
    write_json(tmp / source.config.name, config)
    target.path.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(target.path, ignore_errors=True)
    os.replace(tmp, target.path)


def run_seed(root: Path, seed: int, patiences: list[int]) -> None:
    """The profile's experiment for one seed and each candidate's, all steps done."""
    sweep = resolve_sweep("quick", seed=seed)
    base = ExperimentFolder(root / f"patience{sweep.patience}" / f"seed{seed}")
    candidates = {p: ExperimentFolder(root / f"patience{p}" / f"seed{seed}") for p in patiences}
    log = open(root / f"seed{seed}.log", "a")  # progress lines
    simulate = plan(sweep, base.path)[0][0]  # the sweep's own first step
    base.data.mkdir(parents=True, exist_ok=True)
    if not simulate.done():
        simulate.action()
    dataset = load_dataset(base.synthetic_data)
    for arch in sweep.archs:
        run = base.run(arch, 0)
        if all(c.run(arch, 0).model.exists() for c in candidates.values()) and run.model.exists():
            continue
        rules = PatienceRules(patiences, sweep.monitor)
        start = time.monotonic()
        train_profile_run(sweep, base, arch, rules)
        print(f"seed {seed} {arch}: trained in {time.monotonic() - start:.0f} s", file=log, flush=True)
        for patience, folder in candidates.items():
            write_candidate(run, folder.run(arch, 0), patience, rules.rules[patience], dataset)
    run_experiment(sweep, base.path, stream=log)
    for patience, folder in candidates.items():
        folder.data.mkdir(parents=True, exist_ok=True)
        if not folder.synthetic_data.exists():
            os.link(base.synthetic_data, folder.synthetic_data)
        run_experiment(dataclasses.replace(sweep, patience=patience), folder.path, stream=log)
    log.close()


def compare(root: Path, seeds: list[int], patiences: list[int], reference: int) -> None:
    """Print epochs and the paper's bars per rule against the reference patience."""
    tables = {p: pd.concat([read_runs(sorted((root / f"patience{p}" / f"seed{s}").glob("runs/*/trial*")))
                            .assign(seed=s) for s in seeds], ignore_index=True)
              for p in [reference, *patiences]}
    ref = tables[reference]
    epochs_ref = _epochs(root, reference, seeds)
    print(f"reference: patience {reference}, {int(epochs_ref['epochs_run'].sum())} epochs trained over "
          f"{len(epochs_ref)} runs (best epochs {int(epochs_ref['best_epoch'].min())}-"
          f"{int(epochs_ref['best_epoch'].max())})")
    for patience in patiences:
        epochs = _epochs(root, patience, seeds)
        changed = epochs.merge(epochs_ref, on=["arch", "seed"], suffixes=("", "_ref"))
        changed = changed[changed["best_epoch"] != changed["best_epoch_ref"]]
        print(f"\npatience {patience}: {int(epochs['epochs_run'].sum())} epochs "
              f"({epochs['epochs_run'].sum() / epochs_ref['epochs_run'].sum():.3f} of the reference's; "
              f"{epochs['seconds'].sum() / epochs_ref['seconds'].sum():.3f} of its training time, each run's epochs "
              "at its measured seconds per epoch); "
              f"{len(changed)} of {len(epochs)} runs end with another model:")
        for row in changed.itertuples():
            print(f"  seed {row.seed} {row.arch}: best epoch {row.best_epoch} (stopped after {row.epochs_run}) "
                  f"instead of {row.best_epoch_ref} (after {row.epochs_run_ref})")
        table, passed = tables[patience], [0, 0]
        for arch, layer, column, bound_op, bound in BARS:
            for seed in seeds:
                mine, theirs = (_value(t, arch, layer, seed, column) for t in (table, ref))
                if not (np.isnan(mine) or np.isnan(theirs)):
                    passed[0] += bound_op(mine, bound)
                    passed[1] += bound_op(theirs, bound)
        compared, worse = _worse_figures(table, ref, seeds)
        print(f"  bars met: {passed[0]} (reference {passed[1]}); of {compared} figures, worse than the "
              f"reference's: {len(worse)}")
        for line in worse:
            print(f"    {line}")


def _worse_figures(table: pd.DataFrame, ref: pd.DataFrame, seeds: list[int]) -> tuple[int, list[str]]:
    """Every figure ``paper_effect.py`` prints (AUROC, match any, ground truth per layer and seed) that is worse.

    AUROC is better higher; a layer's match fractions are better in the direction of its
    ground-truth bar (higher for a layer that should learn whole motifs, lower for a small
    pool's first layer). Returns how many figures were compared and a line per worse one.
    """
    direction = {(arch, layer): operator.ge if op is operator.ge else operator.le
                 for arch, layer, column, op, _ in BARS if column == "match_gt_frac"}
    compared, worse = 0, []
    for (arch, layer), _ in ref.groupby(["arch", "layer"]):
        for column in FIGURES:
            better_or_equal = operator.ge if column == "mean_auroc" else direction.get((arch, layer))
            if better_or_equal is None:
                continue
            for seed in seeds:
                mine, theirs = (_value(t, arch, layer, seed, column) for t in (table, ref))
                if np.isnan(mine) or np.isnan(theirs):
                    continue
                compared += 1
                if not better_or_equal(mine, theirs):
                    worse.append(f"seed {seed} {arch} {layer} {column}: {mine:.4f} against {theirs:.4f}")
    return compared, worse


def _epochs(root: Path, patience: int, seeds: list[int]) -> pd.DataFrame:
    rows = []
    for seed in seeds:
        for config in sorted((root / f"patience{patience}" / f"seed{seed}").glob("runs/*/trial0/config.json")):
            values = json.loads(config.read_text())
            rows.append({"arch": values["arch"], "seed": seed, "epochs_run": values["epochs_run"],
                         "best_epoch": values["best_epoch"],
                         "seconds": values["epochs_run"] * values["seconds_per_epoch"]})
    return pd.DataFrame(rows)


def _value(table: pd.DataFrame, arch: str, layer: str, seed: int, column: str) -> float:
    rows = table[(table["arch"] == arch) & (table["layer"] == layer) & (table["seed"] == seed)]
    return float(rows[column].iloc[0]) if len(rows) else np.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for the experiments (kept; re-run to resume)")
    parser.add_argument("--seeds", default="1,2,3,4,5", help="comma-separated seeds, chosen before running")
    parser.add_argument("--patience", default="5,10,15", help="candidate patiences, below the profile's")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    reference = resolve_sweep("quick").patience
    patiences = [int(p) for p in args.patience.split(",")]
    if any(p >= reference for p in patiences):
        parser.error(f"candidate patiences must be below the profile's ({reference})")
    root = Path(args.out)
    root.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        start = time.monotonic()
        run_seed(root, seed, patiences)
        print(f"seed {seed}: {(time.monotonic() - start) / 60:.1f} min", flush=True)
    compare(root, seeds, patiences, reference)


if __name__ == "__main__":
    main()
