"""The report of a sweep: the paper's Table 1, filter logos, plots and ``report.html``.

Reads trained-run folders (``docs/design.md``, "A trained-run folder") and writes
into one output folder::

    OUT/
      table.tsv      Table 1, one row per architecture (and per deeper scored layer),
                     mean and standard deviation over trials in separate columns
      table.md       the same table as Markdown, "mean ± sd"
      runs.tsv       one row per run and scored layer: the numbers Table 1 averages
      figures/       match_vs_pool.png, auroc_vs_pool.png, motif_match_per_epoch.png,
                     importance.png (filter x class heatmaps of filter importance),
                     logos/<arch>_trial<k>_<layer>.png (one grid of logos per run and layer,
                     the most important filters first when importance was measured)
      report.html    all of the above; images beside it, linked relatively

Every file appears whole or not at all; ``report.html`` is written last, so its
presence means the report is complete. A logo grid drawn by the previous report
in the same folder from the same inputs is copied rather than drawn again, and
grids are drawn in parallel processes (:mod:`keras_motifs.report.logos`). Matplotlib is
imported only when a report is drawn, and only through ``matplotlib.figure.Figure``
(no pyplot state, no backend switch for the caller)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from keras_motifs.errors import KerasMotifsError
from keras_motifs.io.experiment import FIGURES, REPORT, RUNS_TABLE, TABLE, TABLE_MARKDOWN
from keras_motifs.io.files import atomic_directory, atomic_file
from keras_motifs.report.figures import (
    DPI,
    auroc_vs_pool,
    importance_heatmaps,
    logo_grid,
    match_per_epoch,
    match_vs_pool,
    palette,
)
from keras_motifs.report.html import runs_display, write_html
from keras_motifs.report.logos import draw_grids
from keras_motifs.report.runs import RunResult, check_run_dirs, protocol_sentence, read_run_folders, runs_frame
from keras_motifs.report.tables import (
    display_table,
    first_layer_rows,
    flag_notes,
    markdown,
    missing_run_notes,
    primary_layers,
    summary_table,
    table_caption,
)


def _file_stem(text: str) -> str:
    """A safe file-name part."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def write_report(
    run_dirs: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    arch_order: Sequence[str] | None = None,
    title: str = "keras-motifs report",
    expected_runs: Sequence[tuple[str, int]] = (),
) -> Path:
    """Write Table 1, logos, plots and ``report.html`` for trained-run folders.

    Parameters
    ----------
    run_dirs : list of str or PathLike
        Trained-run folders (layout in ``docs/design.md``). ``config.json`` (with
        ``arch``, ``trial`` and ``spec.conv_layers[0].pool_size``) and ``metrics.json``
        (``mean_auroc``, ``mean_aupr``) are required; ``history.csv`` and
        ``motifs/<layer>.{meme,score.json}`` are used when present, so runs that were
        only trained still give table rows with AUROC and AUPR.
    out_dir : str or PathLike
        Output folder, created if needed. Files already in it other than the report's
        (for example the runs of a sweep) are left alone; the report's own files are
        replaced.
    arch_order : list of str, optional
        Row order of architectures, e.g. the registry's order. Default is None: by first
        pool size, then name.
    title : str
        Heading of ``report.html``. Default is "keras-motifs report".
    expected_runs : list of (str, int), optional
        The (architecture, trial) pairs meant to be in the report, e.g. every run a
        pipeline started: each one that no folder holds gets a note under the table,
        so that a failed run does not leave a row over fewer trials without a word.
        Default is none.

    Returns
    -------
    Path
        The path of ``report.html``, written last.

    Raises
    ------
    KerasMotifsError
        A run folder is missing or lacks ``config.json`` or ``metrics.json`` (the message
        names the folder and the file), two folders hold the same architecture and trial,
        or the output folder cannot be written.
    """
    paths = check_run_dirs(run_dirs)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise KerasMotifsError(f"{out_dir}: report folder is a file, not a folder")
    runs = read_run_folders(paths)  # every input read and checked before anything is written
    created = not out_dir.exists()
    try:
        return _write_report_files(runs, out_dir, arch_order, title, expected_runs)
    except BaseException:
        if created:  # a refused report leaves nothing behind
            shutil.rmtree(out_dir, ignore_errors=True)
        raise


def _write_report_files(runs: list[RunResult], out_dir: Path, arch_order: Sequence[str] | None, title: str,
                        expected_runs: Sequence[tuple[str, int]] = ()) -> Path:
    """Write the report of runs already read into ``out_dir``; return the path of ``report.html``."""
    frame = runs_frame(runs)
    table = summary_table(frame, arch_order)
    archs = list(dict.fromkeys(table["arch"]))
    colours = palette(archs)
    families = {run.arch: run.family for run in runs}
    per_run = first_layer_rows(frame)
    primary = primary_layers(frame)
    order = {a: i for i, a in enumerate(archs)}

    figures: dict[str, str | None] = {}
    logos: list[dict] = []
    with atomic_directory(out_dir / FIGURES, overwrite=True) as tmp:
        figures["match_vs_pool"] = ("figures/match_vs_pool.png" if match_vs_pool(
            per_run, archs, colours, families, tmp / "match_vs_pool.png") else None)
        auroc_vs_pool(per_run, archs, colours, families, tmp / "auroc_vs_pool.png")
        figures["auroc_vs_pool"] = "figures/auroc_vs_pool.png"
        figures["motif_match_per_epoch"] = ("figures/motif_match_per_epoch.png" if match_per_epoch(
            runs, archs, colours, tmp / "motif_match_per_epoch.png") else None)
        figures["importance"] = ("figures/importance.png" if importance_heatmaps(
            runs, primary, archs, tmp / "importance.png") else None)
        (tmp / "logos").mkdir()
        used: set[str] = set()
        grids = []
        for run in sorted(runs, key=lambda r: (order[r.arch], r.trial, str(r.path))):
            for layer in run.layers:
                if layer.filters is None:
                    continue
                stem = _file_stem(f"{run.arch}_trial{run.trial}_{layer.name}")
                name, k = f"{stem}.png", 2
                while name in used:
                    name, k = f"{stem}_{k}.png", k + 1
                used.add(name)
                grid, stats = logo_grid(run, layer)
                grids.append((grid, tmp / "logos" / name))
                logos.append({**stats, "arch": run.arch, "trial": run.trial, "layer": layer.name,
                              "first": layer.name == primary[run.arch],
                              "src": f"figures/logos/{name}"})
        # The previous report's figures are still in place: its logos drawn from the same inputs are copied.
        draw_grids(grids, DPI, previous=out_dir / FIGURES / "logos")

    with atomic_file(out_dir / TABLE) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g", na_rep="")
    with atomic_file(out_dir / RUNS_TABLE) as tmp:
        frame.to_csv(tmp, sep="\t", index=False, float_format="%.6g", na_rep="")
    caption = table_caption(frame, protocol_sentence([run.config for run in runs]))
    notes = flag_notes(frame) + missing_run_notes(runs, expected_runs)
    with atomic_file(out_dir / TABLE_MARKDOWN) as tmp:
        tmp.write_text(markdown(display_table(table), caption, notes), encoding="utf-8")
    report = out_dir / REPORT
    write_html(report, title, table, caption, notes, runs_display(frame, out_dir), figures, logos, len(runs))
    return report
