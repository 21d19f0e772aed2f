"""``keras-motifs run``: the paper's experiment end to end, as resumable steps.

Steps: simulate (or take a dataset) -> train each architecture x trial (with the
motif-match callback) -> extract the filters of each readable conv layer on the
test set -> Tomtom -> score -> filter importance (each filter ablated on the test
set) -> report. Every step writes its outputs atomically
and is skipped when they already exist, so a run killed half way continues where
it stopped when started again. With ``workers`` > 1 the runs go side by side, each
in a worker process (:mod:`keras_motifs.workers`).

Layout of the experiment folder::

    DIR/data/synthetic.h5
    DIR/runs/<arch>/trial<k>/            a trained-run folder (keras_motifs.runfolder)
    DIR/table.tsv, table.md, report.html, figures
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from keras_motifs.defaults import ENGINE, JASPAR_RELEASE, LENGTH, NUM_SEQS, PAPER, QUICK, RELEASED_WINDOW
from keras_motifs.errors import KerasMotifsError
from keras_motifs.fileio import read_json, write_json
from keras_motifs.models import ARCHITECTURES, POOLING_SWEEP, ArchitectureSpec, check_input_length, get_spec
from keras_motifs.runfolder import RunFolder, run_path


@dataclass
class Sweep:
    """Everything a run of the experiment needs; profiles and config files fill it in.

    Attributes
    ----------
    archs : list of str
        Architecture names of the registry.
    trials : int
        Trials per architecture; trial k trains with seed ``seed + k``.
    epochs, patience, lr, batch_size, monitor, min_delta, lr_patience, lr_factor
        Training settings (see :func:`keras_motifs.training.fit`).
    num_seqs, length : int
        Size of the synthetic dataset (ignored with ``data``).
    data : str, optional
        A dataset file to use instead of simulating.
    engine : str
        Tomtom engine, ``"memelite"`` or ``"meme"``.
    jaspar_release : str
        JASPAR release of the database and of the synthetic motifs.
    seed : int
        Base seed of the data and of the trials.
    method : str
        Filter extraction method, ``"code"`` or ``"paper"``.
    window : int, optional
        Input positions aligned per filter; None: each layer's receptive field
        (see :func:`keras_motifs.filters.fixed_window`).
    callback_every : int
        Score first-layer filters every this many epochs during training (0: never).
    """

    archs: list[str] = field(default_factory=lambda: list(POOLING_SWEEP))
    trials: int = 1
    epochs: int = PAPER.epochs
    patience: int = PAPER.patience
    lr: float = PAPER.lr
    batch_size: int = PAPER.batch_size
    monitor: str = PAPER.monitor
    min_delta: float = PAPER.min_delta
    lr_patience: int = PAPER.lr_patience
    lr_factor: float = PAPER.lr_factor
    num_seqs: int = NUM_SEQS
    length: int = LENGTH
    data: str | None = None
    engine: str = ENGINE
    jaspar_release: str = JASPAR_RELEASE
    seed: int = 0
    method: str = "code"
    callback_every: int = 1
    window: int | None = None


#: Preset sweeps: the seven pooling architectures once with the laptop protocol
#: (:data:`keras_motifs.defaults.QUICK`), or every architecture of the registry five times with the paper's.
PROFILES: dict[str, dict] = {
    "quick": {"archs": list(POOLING_SWEEP), "trials": 1, **QUICK.as_dict()},
    "paper": {"archs": list(ARCHITECTURES), "trials": 5, **PAPER.as_dict(), "window": RELEASED_WINDOW},
}


def resolve_sweep(profile: str = "quick", config: str | os.PathLike | None = None, **overrides) -> Sweep:
    """Combine a profile, a YAML config file and explicit overrides (in that order of precedence, lowest first).

    Parameters
    ----------
    profile : str
        ``"quick"`` or ``"paper"``. Default is "quick".
    config : str or PathLike, optional
        YAML file with any of the fields of :class:`Sweep`. Default is None.
    **overrides
        Fields of :class:`Sweep`; None values are ignored.

    Returns
    -------
    Sweep
    """
    if profile not in PROFILES:
        raise KerasMotifsError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    values = dict(PROFILES[profile])
    if config is not None:
        values.update(_read_config(Path(config)))
    values.update({key: value for key, value in overrides.items() if value is not None})
    known = {f.name for f in dataclasses.fields(Sweep)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise KerasMotifsError(f"unknown sweep setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    if isinstance(values.get("archs"), str):
        values["archs"] = [name.strip() for name in values["archs"].split(",") if name.strip()]
    sweep = Sweep(**values)
    _check_sweep(sweep, where=str(config) if config else "sweep")
    return sweep


def _read_config(path: Path) -> dict:
    """Read a YAML sweep file (keys as on the command line, dashes or underscores)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise KerasMotifsError(f"{path}: config file not found") from None
    except yaml.YAMLError as err:
        raise KerasMotifsError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise KerasMotifsError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    return {str(key).replace("-", "_"): value for key, value in data.items()}


def _check_sweep(sweep: Sweep, where: str) -> None:
    """Validate a sweep before any work starts."""
    if not sweep.archs:
        raise KerasMotifsError(f"{where}: no architectures given")
    for name in sweep.archs:
        get_spec(name)  # unknown names fail here, listing the known ones
    for name in ("trials", "epochs", "batch_size", "num_seqs", "length"):
        value = getattr(sweep, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise KerasMotifsError(f"{where}: {name} must be a positive integer, got {value!r}")
    for name in ("patience", "callback_every", "lr_patience"):
        value = getattr(sweep, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise KerasMotifsError(f"{where}: {name} must be an integer >= 0, got {value!r}")
    if not isinstance(sweep.lr, (int, float)) or not 0 < sweep.lr < math.inf:
        raise KerasMotifsError(f"{where}: lr must be a positive number, got {sweep.lr!r}")
    from keras_motifs.training import MONITORS

    if sweep.monitor not in MONITORS:
        raise KerasMotifsError(f"{where}: monitor must be one of {', '.join(MONITORS)}, got {sweep.monitor!r}")
    if isinstance(sweep.min_delta, bool) or not isinstance(sweep.min_delta, (int, float)) or not (
            0 <= sweep.min_delta < math.inf):
        raise KerasMotifsError(f"{where}: min_delta must be a number >= 0, got {sweep.min_delta!r}")
    if not isinstance(sweep.lr_factor, (int, float)) or not 0 < sweep.lr_factor < 1:
        raise KerasMotifsError(f"{where}: lr_factor must be between 0 and 1, got {sweep.lr_factor!r}")
    if sweep.engine not in ("memelite", "meme"):
        raise KerasMotifsError(f"{where}: engine must be 'memelite' or 'meme', got {sweep.engine!r}")
    if sweep.method not in ("code", "paper"):
        raise KerasMotifsError(f"{where}: method must be 'code' or 'paper', got {sweep.method!r}")
    if sweep.window is not None and (isinstance(sweep.window, bool) or not isinstance(sweep.window, int)
                                     or sweep.window < 1):
        raise KerasMotifsError(f"{where}: window must be a positive integer, got {sweep.window!r}")


def readable_layers(spec: ArchitectureSpec) -> list[str]:
    """Conv layers of a spec whose filters have a fixed window: up to the first pool.

    The same rule as :func:`keras_motifs.probe.readable_conv_layers`, on the spec,
    so the steps are known before any model exists.
    """
    names = []
    for i, layer in enumerate(spec.conv_layers, start=1):
        names.append(f"conv{i}")
        if layer.pool_size > 1 or layer.stride > 1:
            break
    return names


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


def plan(sweep: Sweep, out_dir: Path) -> tuple[list[Step], Path, list[Path]]:
    """The steps of a sweep in order (simulate first), the dataset path and the run folders."""
    data_path = Path(sweep.data) if sweep.data else out_dir / "data" / "synthetic.h5"
    steps: list[Step] = []
    if not sweep.data:
        steps.append(Step("simulate", [data_path], lambda: _simulate(sweep, data_path)))
    run_dirs = []
    for arch in sweep.archs:
        spec = get_spec(arch)
        for trial in range(sweep.trials):
            run = RunFolder(run_path(out_dir, arch, trial))
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
                                  lambda r=run, l=layer: _tomtom(sweep, r, l), run.path))
                steps.append(Step(f"score {label} {layer}", [run.layer_file(layer, "score")],
                                  lambda r=run, l=layer: _score(sweep, data_path, r, l), run.path))
                steps.append(Step(f"importance {label} {layer}", [run.layer_file(layer, "importance")],
                                  lambda r=run, l=layer: _importance(data_path, r, l), run.path))
    return steps, data_path, run_dirs


def _simulate(sweep: Sweep, path: Path) -> None:
    from keras_motifs.data import simulate, write_dataset

    write_dataset(path, simulate(num_seqs=sweep.num_seqs, length=sweep.length, seed=sweep.seed,
                                 jaspar_release=sweep.jaspar_release))


def _train(sweep: Sweep, data_path: Path, spec: ArchitectureSpec, trial: int, run: RunFolder) -> None:
    from keras_motifs.data import load_dataset
    from keras_motifs.training import train_run

    train_run(load_dataset(data_path), spec, run.path, epochs=sweep.epochs, patience=sweep.patience,
              learning_rate=sweep.lr, batch_size=sweep.batch_size, seed=sweep.seed + trial, trial=trial,
              overwrite=True, verbose=0, motif_every=sweep.callback_every, jaspar_release=sweep.jaspar_release,
              engine=sweep.engine, monitor=sweep.monitor, min_delta=sweep.min_delta,
              lr_patience=sweep.lr_patience, lr_factor=sweep.lr_factor)


def _filters(sweep: Sweep, data_path: Path, run: RunFolder, layers: list[str]) -> None:
    from keras_motifs.filters import write_layer_motifs

    write_layer_motifs(run.model, data_path, layers=layers, split="test", method=sweep.method, out_dir=run.motifs,
                       window=sweep.window)


def _tomtom(sweep: Sweep, run: RunFolder, layer: str) -> None:
    from keras_motifs.motifs import read_meme
    from keras_motifs.tomtom import load_database, tomtom, write_tomtom_tsv

    # A layer whose filters never activated has an empty MEME file and gets an empty table.
    table = tomtom(read_meme(run.layer_file(layer, "meme"), allow_empty=True), load_database(sweep.jaspar_release),
                   engine=sweep.engine)
    write_tomtom_tsv(table, run.layer_file(layer, "tomtom"))


def _score(sweep: Sweep, data_path: Path, run: RunFolder, layer: str) -> None:
    from keras_motifs.scoring import score_files

    score_files(run.layer_file(layer, "tomtom"), run.layer_file(layer, "filters"), run.layer_file(layer, "score"),
                ground_truth=data_path, database=sweep.jaspar_release)


def _importance(data_path: Path, run: RunFolder, layer: str) -> None:
    from keras_motifs.importance import write_importance

    write_importance(run.model, data_path, run.layer_file(layer, "importance"), layer=layer, split="test")


def _check_settings(sweep: Sweep) -> None:
    """Fail before any work on settings that a later step would refuse.

    The dataset passes its check at the door (or the simulation's settings can make
    one), every architecture fits its sequence length, and the MEME suite is there
    when asked for.
    """
    from keras_motifs.data import check_dataset, load_dataset, simulation_motifs

    if sweep.data:
        check_dataset(sweep.data)  # every value, before anything is written
        length = load_dataset(sweep.data, splits=()).input_length
    else:
        simulation_motifs(sweep.num_seqs, sweep.length, jaspar_release=sweep.jaspar_release)
        length = sweep.length
    for arch in sweep.archs:
        check_input_length(get_spec(arch), length)
    if sweep.window is not None and sweep.window > length:
        raise KerasMotifsError(f"window of {sweep.window} positions is longer than the sequences ({length})")
    if sweep.engine == "meme":
        from keras_motifs.tomtom import find_meme_tomtom

        find_meme_tomtom()  # a missing MEME suite fails now, not after the first training


def _check_output_dir(out_dir: Path) -> None:
    """Fail before any work if the experiment folder cannot be written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise KerasMotifsError(f"{out_dir}: cannot create the output folder ({err.strerror})") from None
    if not os.access(out_dir, os.W_OK):
        raise KerasMotifsError(f"{out_dir}: output folder is not writable")


#: Settings that the outputs already in a folder depend on; archs and trials may grow.
_FIXED_ON_RESUME = ("epochs", "patience", "lr", "batch_size", "monitor", "min_delta", "lr_patience", "lr_factor",
                    "num_seqs", "length", "data", "engine",
                    "jaspar_release", "seed", "method", "callback_every", "window")
#: What a folder recorded before a setting existed was trained with.
_BEFORE_RECORDED = {"monitor": "val_loss", "min_delta": 0.0, "lr_patience": 0, "lr_factor": PAPER.lr_factor,
                    "window": None}


def _check_resumable(sweep: Sweep, record: Path) -> None:
    """Refuse to resume a folder whose finished steps were made with other settings."""
    if not record.exists():
        return
    previous = {**_BEFORE_RECORDED, **read_json(record, what="sweep record")}
    fixed = [key for key in _FIXED_ON_RESUME if not (key == "lr_factor" and sweep.lr_patience == 0)]  # unused then
    changed = [f"{key} was {previous.get(key)!r}, now {getattr(sweep, key)!r}"
               for key in fixed if previous.get(key) != getattr(sweep, key)]
    if changed:
        raise KerasMotifsError(
            f"{record.parent}: holds a run with other settings ({'; '.join(changed)}); "
            "use another output folder, or the same settings to resume"
        )


def _run_step(step: Step, progress) -> bool:
    """Run a step unless it is done, and give it its progress line; whether it ran."""
    if step.done():
        progress.line(step.name, "already done")
        return False
    start = time.monotonic()
    step.action()
    progress.line(step.name, "done", time.monotonic() - start)
    return True


def run_experiment(sweep: Sweep, out_dir: str | os.PathLike, stream=None, workers: int = 1) -> list[str]:
    """Run (or resume) a sweep in ``out_dir`` and write its report there.

    Parameters
    ----------
    sweep : Sweep
        What to run, from :func:`resolve_sweep`.
    out_dir : str or PathLike
        Experiment folder; re-running with the same folder skips the steps done and
        removes what unfinished ones left (temporaries named ``.NAME.XXXXXXXX.tmp``).
        The folder is locked while the run (and any worker of it) writes: a second
        run in it is refused at once.
    stream : file-like, optional
        Where progress lines go. Default is None: standard output.
    workers : int
        Runs trained and analysed at once. 1: every step in this process, in order.
        More: the data is simulated here, then the steps of each run (training, then
        filters, Tomtom, score, importance) run in a worker process of their own, this
        many at a time, each with an equal share of the cores and sharing the GPU
        (:mod:`keras_motifs.workers`); if one fails, the others running finish and no
        report is written. Not a setting of the sweep: a folder may be resumed with any
        number. Default is 1.

    Returns
    -------
    list of str
        Names of the steps that ran (not skipped), in the order they finished, the report last.
    """
    from keras_motifs.fileio import folder_lock, remove_leftover_temporaries
    from keras_motifs.report import write_report

    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise KerasMotifsError(f"workers must be a positive integer, got {workers!r}")
    out_dir = Path(out_dir)
    _check_settings(sweep)  # before anything is written: a refused run leaves no record to be locked out by
    _check_resumable(sweep, out_dir / "sweep.json")  # a folder of other settings is refused untouched, lock file too
    _check_output_dir(out_dir)
    with folder_lock(out_dir, "run") as lock:  # another run in this folder would lose its temporaries to ours
        _check_resumable(sweep, out_dir / "sweep.json")  # again: a run may have started in the folder meanwhile
        for folder in (out_dir, out_dir / "data", out_dir / "runs"):  # what steps a killed run left unfinished
            remove_leftover_temporaries(folder, recursive=folder != out_dir)
        steps, _, run_dirs = plan(sweep, out_dir)
        write_json(out_dir / "sweep.json", dataclasses.asdict(sweep))
        progress = Progress(len(steps) + 1, stream)
        if workers == 1:
            ran = [step.name for step in steps if _run_step(step, progress)]
        else:
            from keras_motifs.workers import run_in_workers

            ran = [step.name for step in steps if step.run_dir is None and _run_step(step, progress)]
            runs: dict[Path, list[Step]] = {}
            for step in steps:
                if step.run_dir is not None:
                    runs.setdefault(step.run_dir, []).append(step)
            ran += run_in_workers(runs, out_dir, workers, progress, lock_fd=lock)
        start = time.monotonic()
        report = write_report(run_dirs, out_dir, arch_order=sweep.archs)
        ran.append("report")
        progress.line("report", f"wrote {report}", time.monotonic() - start)
    return ran
