"""The report's figures: match and AUROC against the first pool size, motif match per epoch.

Also the importance heatmaps and each run's logo grids (drawn by :mod:`keras_motifs.report.logos`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from keras_motifs.motifs.ppm import Motif
from keras_motifs.report.logos import FilterLogo, LogoGrid
from keras_motifs.report.runs import LayerResult, RunResult, class_columns

DPI = 110


def _figure(width: float, height: float):
    """A matplotlib Figure that does not touch pyplot's global state."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def palette(archs: list[str]) -> dict[str, tuple]:
    """One distinct colour per architecture, in table order."""
    import seaborn as sns

    name = "tab10" if len(archs) <= 10 else "husl"
    return dict(zip(archs, sns.color_palette(name, n_colors=len(archs))))


def _style(ax) -> None:
    """Publication style for one axes: no top/right spines, light grid."""
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(True, axis="y", color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)


def _pool_axis(ax, pools: list[int]) -> None:
    """Log x axis ticked at the pool sizes present."""
    from matplotlib.ticker import NullLocator

    ax.set_xscale("log")
    ax.set_xticks(pools)
    ax.set_xticklabels([str(p) for p in pools])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlim(min(pools) / 1.5, max(pools) * 1.5)
    ax.set_xlabel("first max-pool size")


def _plot_vs_pool(ax, per_run: pd.DataFrame, column: str, archs: list[str],
                  colours: dict, families: dict[str, str], legend: bool) -> None:
    """Per-architecture mean ± sd of ``column`` (points) against first pool size.

    Architectures that differ only in their pool sizes are joined by a grey line.
    """
    import seaborn as sns

    data = per_run.dropna(subset=[column])
    _pool_axis(ax, sorted(per_run["first_pool_size"].unique()))
    _style(ax)
    if data.empty:  # e.g. no ground-truth motifs for a user's own classes
        ax.text(0.5, 0.5, "no values for these data", transform=ax.transAxes, ha="center", color="#777777")
        return
    means = data.groupby("arch").agg(x=("first_pool_size", "first"), y=(column, "mean"))
    by_family: dict[str, list[str]] = {}
    for arch in means.index:
        by_family.setdefault(families[arch], []).append(arch)
    for members in by_family.values():
        line = means.loc[members].sort_values("x")
        if line["x"].nunique() > 1:
            ax.plot(line["x"], line["y"], color="#b0b0b0", linewidth=1.2, zorder=1)
    sns.scatterplot(data=data, x="first_pool_size", y=column, hue="arch", hue_order=archs,
                    palette=colours, s=14, alpha=0.45, linewidth=0, legend=False, ax=ax, zorder=2)
    sns.lineplot(data=data, x="first_pool_size", y=column, hue="arch", hue_order=archs,
                 palette=colours, marker="o", markersize=7, err_style="bars", errorbar="sd",
                 err_kws={"capsize": 3}, linestyle="", legend=legend, ax=ax, zorder=3)


def _legend_outside(ax, title: str) -> None:
    """Move the seaborn legend of ``ax`` to the right of the axes."""
    import seaborn as sns

    if ax.get_legend() is not None:
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, title=title)


def match_vs_pool(per_run: pd.DataFrame, archs, colours, families, path: Path) -> bool:
    """Draw match-any and ground-truth match fraction against first pool size."""
    if per_run[["match_any_frac", "match_gt_frac"]].isna().all().all():
        return False
    fig = _figure(10, 3.8)
    axes = fig.subplots(1, 2, sharey=True)
    legend_panel = 1 if per_run["match_gt_frac"].notna().any() else 0
    for panel, (column, label) in enumerate([
        ("match_any_frac", "filters matching any JASPAR motif"),
        ("match_gt_frac", "filters matching a ground-truth motif"),
    ]):
        _plot_vs_pool(axes[panel], per_run, column, archs, colours, families, panel == legend_panel)
        axes[panel].set_title(label, fontsize=11)
        axes[panel].set_ylabel("fraction of first-layer filters")
        axes[panel].set_ylim(-0.03, 1.03)
    _legend_outside(axes[legend_panel], "architecture")
    fig.savefig(path)
    return True


def auroc_vs_pool(per_run: pd.DataFrame, archs, colours, families, path: Path) -> None:
    """Draw the test AUROC against first pool size."""
    fig = _figure(6.2, 3.8)
    ax = fig.subplots()
    _plot_vs_pool(ax, per_run, "mean_auroc", archs, colours, families, True)
    ax.set_ylabel("test AUROC (mean over classes)")
    low = per_run["mean_auroc"].min()
    ax.set_ylim(min(0.5, low - 0.02) if pd.notna(low) else 0.5, 1.0)
    _legend_outside(ax, "architecture")
    fig.savefig(path)


def _epoch_frame(runs: Sequence[RunResult]) -> pd.DataFrame:
    """Long table of the per-epoch motif-match fractions from every run's history."""
    parts = []
    for run in runs:
        history = run.history
        if history is None:
            continue
        for column, label in [("motif_match_frac", "any JASPAR motif"),
                              ("motif_gt_frac", "ground-truth motif")]:
            if column in history.columns:
                parts.append(pd.DataFrame({
                    "arch": run.arch, "trial": run.trial, "measure": label,
                    "epoch": np.arange(1, len(history) + 1),
                    "fraction": pd.to_numeric(history[column], errors="coerce"),
                }))
    if not parts:
        return pd.DataFrame(columns=["arch", "trial", "measure", "epoch", "fraction"])
    return pd.concat(parts, ignore_index=True).dropna(subset=["fraction"])


def match_per_epoch(runs: Sequence[RunResult], archs, colours, path: Path) -> bool:
    """Draw the callback's motif-match fractions per epoch, one line per architecture."""
    import seaborn as sns
    from matplotlib.ticker import MaxNLocator

    data = _epoch_frame(runs)
    if data.empty:
        return False
    shown = [a for a in archs if a in set(data["arch"])]
    few_epochs = data["epoch"].max() <= 30  # markers only while they do not crowd the lines
    fig = _figure(10, 3.8)
    axes = fig.subplots(1, 2, sharey=True)
    for i, (ax, measure) in enumerate(zip(axes, ["any JASPAR motif", "ground-truth motif"])):
        part = data[data["measure"] == measure]
        if not part.empty:
            sns.lineplot(data=part, x="epoch", y="fraction", hue="arch", hue_order=shown,
                         palette=colours, errorbar="sd", legend=i == 1, ax=ax,
                         **({"marker": "o", "markersize": 4} if few_epochs else {}))
        ax.set_title(f"filters matching a {measure}" if measure.startswith("g")
                     else f"filters matching {measure}", fontsize=11)
        ax.set_ylabel("fraction of first-layer filters")
        ax.set_ylim(-0.03, 1.03)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        _style(ax)
    _legend_outside(axes[1], "architecture")
    fig.savefig(path)
    return True


def _hit_label(hit: dict | None) -> tuple[str, bool]:
    """Title text for one filter's best Tomtom hit, and whether it is a ground-truth hit."""
    if not hit or hit.get("best_jaspar_id") is None:
        return "no match", False
    text = f"{hit.get('best_jaspar_name') or ''} {hit['best_jaspar_id']}".strip()
    text += f"  E={hit['best_evalue']:.1g}" if hit.get("best_evalue") is not None else ""
    gt = hit.get("best_gt_id") is not None
    if gt:
        text = "\u2605 " + text
        if hit["best_gt_id"] != hit["best_jaspar_id"]:
            text += f" (GT {hit.get('best_gt_tf') or hit['best_gt_id']})"
    return text, gt


def _by_importance(layer: LayerResult) -> list[Motif]:
    """A layer's filter motifs, the most important first when importance was measured (else as stored)."""
    if layer.importance is None:
        return list(layer.filters)
    rank = {f: i for i, f in enumerate(layer.importance.sort_values("importance", ascending=False,
                                                                    kind="stable")["filter"])}
    return sorted(layer.filters, key=lambda motif: rank.get(motif.id, len(rank)))


def importance_heatmaps(runs: Sequence[RunResult], primary: dict[str, str], archs: Sequence[str], path: Path) -> bool:
    """Per model (its first trial's primary layer), the loss increase of each filter (rows, in logo order) by class."""
    chosen = {}
    for run in sorted(runs, key=lambda r: (r.trial, str(r.path))):
        layer = next((lay for lay in run.layers if lay.name == primary.get(run.arch)), None)
        if run.arch not in chosen and layer is not None and layer.importance is not None and layer.filters:
            chosen[run.arch] = (run, layer)
    if not chosen:
        return False
    models = [arch for arch in archs if arch in chosen]
    columns = min(len(models), 6)
    rows = math.ceil(len(models) / columns)
    fig = _figure(max(2.6 * columns + 0.8, 4.0), 4.2 * rows)
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    for ax, arch in itertools.zip_longest(axes, models):
        if arch is None:
            ax.set_axis_off()
            continue
        run, layer = chosen[arch]
        table = layer.importance.set_index("filter")
        classes = class_columns(layer.importance)
        order = [m.id for m in _by_importance(layer) if m.id in table.index]
        if not order:  # a table of other filters (another layer's?): nothing to draw
            ax.set_axis_off()
            continue
        values = table.loc[order, classes].to_numpy(dtype=float)
        image = ax.imshow(values, aspect="auto", cmap="magma_r", vmin=0, vmax=max(np.nanmax(values), 1e-9),
                          interpolation="nearest")
        ax.set_title(f"{arch}, trial {run.trial}, {layer.name}", fontsize=8)
        ax.set_xticks(range(len(classes)), classes, rotation=90, fontsize=6)
        ax.set_yticks(range(len(order)), order, fontsize=5)
        fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02).ax.tick_params(labelsize=6)
    fig.suptitle("Filter importance: loss increase per class", fontsize=10)
    fig.savefig(path)
    return True


def logo_grid(run: RunResult, layer: LayerResult) -> tuple[LogoGrid, dict]:
    """What one layer's logo grid shows, and its counts of filters that match."""
    hits = {f["filter"]: f for f in (layer.score or {}).get("filters", [])}
    tops = {} if layer.importance is None else dict(zip(layer.importance["filter"], layer.importance["top_class"]))
    panels = []
    for motif in _by_importance(layer):
        label, gt = _hit_label(hits.get(motif.id))
        top = tops.get(motif.id)
        top = top if isinstance(top, str) and top else None  # none when no class loses by the ablation
        panels.append(FilterLogo(filter_id=motif.id, ppm=motif.ppm, hit=label, matched=label != "no match",
                                 ground_truth=gt, top_class=top))
    n, n_gt, n_any = len(panels), sum(logo.ground_truth for logo in panels), sum(logo.matched for logo in panels)
    scored = layer.score is not None
    summary = (f"{n_gt}/{n} filters match ground truth (\u2605, green frame), {n_any}/{n} any JASPAR motif"
               if scored else f"{n} filters (not scored with Tomtom)")
    grid = LogoGrid(title=f"{run.arch}, trial {run.trial}, layer {layer.name}: {summary}", logos=tuple(panels))
    return grid, {"n": n, "n_gt": n_gt, "n_any": n_any, "scored": scored}
