"""The report of a sweep from its run folders: Table 1, figures, logo grids and ``report.html``.

:func:`~keras_motifs.report.write.write_report` is the entry point; the run folders are
read by :mod:`.runs`, Table 1 made by :mod:`.tables`, the figures drawn by :mod:`.figures`
and :mod:`.logos`, the page written by :mod:`.html`.
"""

from keras_motifs.report.runs import read_runs
from keras_motifs.report.tables import summary_table
from keras_motifs.report.write import write_report

__all__ = ["read_runs", "summary_table", "write_report"]
