"""The experiment folder of ``keras-motifs run`` (and of the pipeline's ``--outdir``): where each file lives.

::

    DIR/sweep.json               the resolved sweep (its settings fix the folder's finished steps)
    DIR/data/synthetic.h5        the simulated dataset, unless the sweep names one
    DIR/runs/<arch>/trial<k>/    trained-run folders (:class:`keras_motifs.io.runfolder.RunFolder`)
    DIR/table.tsv, table.md, runs.tsv, report.html, figures/   the report
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from keras_motifs.io.runfolder import RUNS, RunFolder, run_path

#: The report's files, written by :func:`keras_motifs.report.write_report`.
TABLE, TABLE_MARKDOWN, RUNS_TABLE, REPORT, FIGURES = "table.tsv", "table.md", "runs.tsv", "report.html", "figures"


@dataclass(frozen=True)
class ExperimentFolder:
    """The files of one experiment.

    Parameters
    ----------
    path : Path
        The experiment folder.
    """

    path: Path

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))

    @property
    def record(self) -> Path:
        """``sweep.json``: the resolved sweep."""
        return self.path / "sweep.json"

    @property
    def data(self) -> Path:
        """``data/``: the simulated dataset's folder."""
        return self.path / "data"

    @property
    def synthetic_data(self) -> Path:
        """``data/synthetic.h5``: the simulated dataset."""
        return self.data / "synthetic.h5"

    @property
    def runs(self) -> Path:
        """``runs/``: the trained-run folders."""
        return self.path / RUNS

    def run(self, arch: str, trial: int | str) -> RunFolder:
        """The run folder of ``arch``, trial ``trial``."""
        return RunFolder(run_path(self.path, arch, trial))

