"""The steps of a sweep: what each writes, the action that writes it, and their order.

Steps: simulate (or take a dataset) -> train each architecture x trial (with the
motif-match callback) -> extract the filters of each readable conv layer on the
test set -> Tomtom -> score -> filter importance (each filter ablated on the test
set); the report follows (:func:`keras_motifs.sweep.run.run_experiment`). Every step
writes its outputs atomically and is skipped when they already exist.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from keras_motifs.io.experiment import ExperimentFolder
from keras_motifs.io.runfolder import RunFolder
from keras_motifs.models import ArchitectureSpec, get_spec, readable_layers
from keras_motifs.sweep.settings import Sweep


@dataclass
class Step:
    """One unit of work: its outputs, the action that writes them atomically, and its run folder.

    ``run_dir`` is None for a step that belongs to no run (simulate); the steps of a
    run read what the steps of the same run before them wrote, and nothing else.
    """

    name: str
    outputs: list[Path]
    action: Callable[[], None]
    run_dir: Path | None = None

    def done(self) -> bool:
        return all(path.exists() for path in self.outputs)


class Progress:
    """An overall text bar, and one line per finished step with its elapsed time."""

    def __init__(self, total: int, stream=None):
        self.total = total
        self.finished = 0
        self.stream = stream or sys.stdout
        self.start = time.monotonic()

    def line(self, name: str, status: str, seconds: float | None = None) -> None:
        self.finished += 1
        width = 20
        filled = round(width * self.finished / self.total)
        bar = "#" * filled + "." * (width - filled)
        took = f" in {seconds:.1f} s" if seconds is not None else ""
        total = time.monotonic() - self.start
        print(f"[{bar}] {self.finished}/{self.total} {name}: {status}{took} (total {total / 60:.1f} min)",
              file=self.stream, flush=True)


def run_step(step: Step, progress) -> bool:
    """Run a step unless it is done, and give it its progress line; whether it ran."""
    if step.done():
        progress.line(step.name, "already done")
        return False
    start = time.monotonic()
    step.action()
    progress.line(step.name, "done", time.monotonic() - start)
    return True


def plan(sweep: Sweep, out_dir: Path) -> tuple[list[Step], list[Path]]:
    """The steps of a sweep in order (simulate first) and the run folders."""
    folder = ExperimentFolder(out_dir)
    data_path = Path(sweep.data) if sweep.data else folder.synthetic_data
    steps: list[Step] = []
    if not sweep.data:
        steps.append(Step("simulate", [data_path], lambda: _simulate(sweep, data_path)))
    run_dirs = []
    for arch in sweep.archs:
        spec = get_spec(arch)
        for trial in range(sweep.trials):
            run = folder.run(arch, trial)
            run_dirs.append(run.path)
            label = f"{arch} trial {trial}"
            steps.append(Step(f"train {label}", [run.model],
                              lambda r=run, s=spec, t=trial: _train(sweep, data_path, s, t, r), run.path))
            layers = readable_layers(spec)
            steps.append(Step(
                f"filters {label}",
                [run.layer_file(layer, kind) for layer in layers for kind in ("meme", "filters")],
                lambda r=run, ls=layers: _filters(sweep, data_path, r, ls), run.path,
            ))
            for layer in layers:
                steps.append(Step(f"tomtom {label} {layer}", [run.layer_file(layer, "tomtom")],
                                  lambda r=run, name=layer: _tomtom(sweep, r, name), run.path))
                steps.append(Step(f"score {label} {layer}", [run.layer_file(layer, "score")],
                                  lambda r=run, name=layer: _score(sweep, data_path, r, name), run.path))
                steps.append(Step(f"importance {label} {layer}", [run.layer_file(layer, "importance")],
                                  lambda r=run, name=layer: _importance(data_path, r, name), run.path))
    return steps, run_dirs


def _simulate(sweep: Sweep, path: Path) -> None:
    from keras_motifs.data.synthetic import simulate
    from keras_motifs.data.writer import write_dataset

    write_dataset(path, simulate(num_seqs=sweep.num_seqs, length=sweep.length, seed=sweep.seed,
                                 jaspar_release=sweep.jaspar_release))


def _train(sweep: Sweep, data_path: Path, spec: ArchitectureSpec, trial: int, run: RunFolder) -> None:
    from keras_motifs.data.reader import load_dataset
    from keras_motifs.training import train_run

    train_run(load_dataset(data_path), spec, run.path, sweep.protocol, seed=sweep.seed + trial, trial=trial,
              overwrite=True, verbose=0, callback_every=sweep.callback_every, jaspar_release=sweep.jaspar_release,
              engine=sweep.engine)


def _filters(sweep: Sweep, data_path: Path, run: RunFolder, layers: list[str]) -> None:
    from keras_motifs.filters import write_layer_motifs

    write_layer_motifs(run.model, data_path, layers=layers, split="test", method=sweep.method, out_dir=run.motifs,
                       window=sweep.window)


def _tomtom(sweep: Sweep, run: RunFolder, layer: str) -> None:
    from keras_motifs.motifs.jaspar import load_database
    from keras_motifs.motifs.meme import read_meme
    from keras_motifs.motifs.tomtom import tomtom
    from keras_motifs.motifs.tomtom_table import write_tomtom_tsv

    # A layer whose filters never activated has an empty MEME file and gets an empty table.
    table = tomtom(read_meme(run.layer_file(layer, "meme"), allow_empty=True), load_database(sweep.jaspar_release),
                   engine=sweep.engine)
    write_tomtom_tsv(table, run.layer_file(layer, "tomtom"))


def _score(sweep: Sweep, data_path: Path, run: RunFolder, layer: str) -> None:
    from keras_motifs.data.ground_truth import resolve_ground_truth
    from keras_motifs.motifs.scoring import score_files

    score_files(run.layer_file(layer, "tomtom"), run.layer_file(layer, "filters"), run.layer_file(layer, "score"),
                ground_truth=resolve_ground_truth(data_path), database=sweep.jaspar_release)


def _importance(data_path: Path, run: RunFolder, layer: str) -> None:
    from keras_motifs.importance import write_importance

    write_importance(run.model, data_path, run.layer_file(layer, "importance"), layer=layer, split="test")
