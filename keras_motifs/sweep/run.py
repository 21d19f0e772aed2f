"""``keras-motifs run``: the paper's experiment end to end, as resumable steps, then its report.

A run killed half way continues where it stopped when started again. With
``workers`` > 1 the runs go side by side, each in a worker process
(:mod:`keras_motifs.sweep.pool`). The experiment folder's layout is
:class:`keras_motifs.io.experiment.ExperimentFolder`'s.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

from keras_motifs.errors import KerasMotifsError, check_integer
from keras_motifs.io.experiment import ExperimentFolder
from keras_motifs.io.files import write_json
from keras_motifs.models import check_input_length, get_spec
from keras_motifs.sweep.settings import Sweep, check_resumable
from keras_motifs.sweep.steps import Progress, Step, plan, run_step


def _check_settings(sweep: Sweep) -> None:
    """Fail before any work on settings that a later step would refuse.

    The dataset passes its check at the door (or the simulation's settings can make
    one), every architecture fits its sequence length, and the MEME suite is there
    when asked for.
    """
    from keras_motifs.data.reader import check_dataset, load_dataset
    from keras_motifs.data.synthetic import simulation_motifs

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
        from keras_motifs.motifs.tomtom import find_meme_tomtom

        find_meme_tomtom()  # a missing MEME suite fails now, not after the first training


def _check_output_dir(out_dir: Path) -> None:
    """Fail before any work if the experiment folder cannot be written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise KerasMotifsError(f"{out_dir}: cannot create the output folder ({err.strerror})") from None
    if not os.access(out_dir, os.W_OK):
        raise KerasMotifsError(f"{out_dir}: output folder is not writable")


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
        (:mod:`keras_motifs.sweep.pool`); if one fails, the others running finish and no
        report is written. Not a setting of the sweep: a folder may be resumed with any
        number. Default is 1.

    Returns
    -------
    list of str
        Names of the steps that ran (not skipped), in the order they finished, the report last.
    """
    from keras_motifs.io.files import folder_lock, remove_leftover_temporaries
    from keras_motifs.report.write import write_report

    check_integer(workers, "workers")
    out_dir = Path(out_dir)
    folder = ExperimentFolder(out_dir)
    _check_settings(sweep)  # before anything is written: a refused run leaves no record to be locked out by
    check_resumable(sweep, folder.record)  # a folder of other settings is refused untouched, lock file too
    _check_output_dir(out_dir)
    with folder_lock(out_dir, "run") as lock:  # another run in this folder would lose its temporaries to ours
        check_resumable(sweep, folder.record)  # again: a run may have started in the folder meanwhile
        for place in (out_dir, folder.data, folder.runs):  # what steps a killed run left unfinished
            remove_leftover_temporaries(place, recursive=place != out_dir)
        steps, run_dirs = plan(sweep, out_dir)
        write_json(folder.record, dataclasses.asdict(sweep))
        progress = Progress(len(steps) + 1, stream)
        if workers == 1:
            ran = [step.name for step in steps if run_step(step, progress)]
        else:
            from keras_motifs.sweep.pool import run_in_workers

            ran = [step.name for step in steps if step.run_dir is None and run_step(step, progress)]
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
