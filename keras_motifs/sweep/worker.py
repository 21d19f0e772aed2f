"""A worker process of ``keras-motifs run --workers N``: the steps of one run.

Started by :mod:`keras_motifs.sweep.pool`.

It runs the very steps that ``workers=1`` runs in-process (:func:`keras_motifs.sweep.steps.plan`
of the sweep recorded in the folder) and reports each finished step on its standard output,
in the lines that :mod:`keras_motifs.sweep.pool` reads.
"""

from __future__ import annotations

import sys
from pathlib import Path

from keras_motifs._runtime import ending_on_signals, import_keras_quietly
from keras_motifs.errors import KerasMotifsError
from keras_motifs.io.experiment import ExperimentFolder
from keras_motifs.io.files import discard_temporaries
from keras_motifs.sweep.pool import EVENT
from keras_motifs.sweep.settings import Sweep, read_record
from keras_motifs.sweep.steps import plan, run_step


class _Events:
    """The worker's side of the progress lines: one event line per step on standard output."""

    def line(self, name: str, status: str, seconds: float | None = None) -> None:
        print(f"{EVENT}\t{status}\t{'' if seconds is None else seconds}\t{name}", flush=True)


def main(argv: list[str]) -> int:
    """Run the steps of run folder ``argv[1]`` of the sweep recorded in experiment folder ``argv[0]``; exit status."""
    out_dir, run_dir = Path(argv[0]), Path(argv[1])
    with ending_on_signals(discard_temporaries):
        import_keras_quietly()
        try:
            sweep = Sweep(**read_record(ExperimentFolder(out_dir).record))
            steps, _ = plan(sweep, out_dir)
            events = _Events()
            for step in steps:
                if step.run_dir == run_dir:
                    run_step(step, events)
        except KerasMotifsError as err:
            print(f"keras-motifs: error: {err}", file=sys.stderr)
            return 2
    return 0
