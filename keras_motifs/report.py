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
grids are drawn in parallel processes (:mod:`keras_motifs.logos`). Matplotlib is
imported only when a report is drawn, and only through ``matplotlib.figure.Figure``
(no pyplot state, no backend switch for the caller).
"""

from __future__ import annotations

import html
import itertools
import math
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from keras_motifs import __version__, motifs
from keras_motifs.errors import KerasMotifsError
from keras_motifs.fileio import atomic_directory, atomic_file, read_json
from keras_motifs.logos import FilterLogo, LogoGrid, draw_grids
from keras_motifs.runfolder import RunFolder, natural_key

#: Columns of ``table.tsv`` (and of :func:`summary_table`), in order.
TABLE_COLUMNS = [
    "model", "arch", "layer", "first_pool_size", "n_trials",
    "auroc_mean", "auroc_std", "aupr_mean", "aupr_std",
    "match_any_mean", "match_any_std", "match_gt_mean", "match_gt_std",
    "gt_importance_share_mean", "gt_importance_share_std", "class_consistency_mean", "class_consistency_std",
    "n_flagged",
]

#: Columns of ``runs.tsv`` (and of :func:`read_runs`), in order.
RUN_COLUMNS = [
    "run_dir", "arch", "trial", "first_pool_size", "layer", "num_filters",
    "mean_auroc", "mean_aupr", "match_any_frac", "match_gt_frac", "evalue_threshold",
    "gt_importance_share", "class_consistency", "device", "flags",
]
#: A run whose test AUROC is this far below the median of the runs reported with it is flagged.
AUROC_FLAG_MARGIN = 0.05
#: Mark of a flagged model in Table 1.
FLAG_MARK = "\u2020"

_DPI = 110


@dataclass(frozen=True)
class _Layer:
    """One layer's motif files in a run folder."""

    name: str
    filters: list[motifs.Motif] | None
    score: dict | None
    importance: pd.DataFrame | None = None


@dataclass(frozen=True)
class _Run:
    """What the report needs from one trained-run folder."""

    path: Path
    arch: str
    trial: int
    family: str
    first_pool_size: int
    mean_auroc: float
    mean_aupr: float
    layers: tuple[_Layer, ...]
    history: pd.DataFrame | None
    config: dict


def _get(mapping: Any, keys: Sequence[str | int], path: Path) -> Any:
    """Look up nested ``keys`` in parsed JSON, failing with the file and key named."""
    value = mapping
    for depth, key in enumerate(keys):
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            where = "".join(f"[{k!r}]" for k in keys[: depth + 1])
            raise KerasMotifsError(f"{path}: missing {where}") from None
    return value


def _number(value: Any, what: str, path: Path) -> float:
    """Return ``value`` as a float, or fail naming the file and field."""
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        raise KerasMotifsError(f"{path}: {what} must be a number, got {value!r}") from None


def _family(spec: dict) -> str:
    """Describe a spec without its pool sizes: architectures that differ only in pooling share it."""
    layers = []
    for layer in spec["conv_layers"]:
        pool = layer.get("pool_size")
        kept = {
            key: value
            for key, value in layer.items()
            if key != "pool_size" and not ("stride" in key and value in (None, pool))
        }
        layers.append(sorted(kept.items(), key=lambda item: item[0]))
    others = sorted((k, repr(v)) for k, v in spec.items() if k not in ("conv_layers", "name"))
    return repr((layers, others))


def _read_layers(run: RunFolder) -> tuple[_Layer, ...]:
    """The layers with a MEME file or a score, in natural layer order."""
    layers = []
    for name in run.layers("meme", "score"):
        meme, score_path = run.layer_file(name, "meme"), run.layer_file(name, "score")
        score = None
        if score_path.is_file():
            score = read_json(score_path, what="layer score file")
            for key in ("match_any_frac", "match_gt_frac", "num_filters"):
                _get(score, [key], score_path)
        # Read before the report writes anything; a layer whose filters never activated has none.
        filters = motifs.read_meme(meme, allow_empty=True) if meme.is_file() else None
        importance_path = run.layer_file(name, "importance")
        importance = _read_importance(importance_path) if importance_path.is_file() else None
        layers.append(_Layer(name=name, filters=filters, score=score, importance=importance))
    return tuple(layers)


def _read_importance(path: Path) -> pd.DataFrame:
    """A layer's filter importance table (``keras_motifs.importance``), checked for the columns used."""
    try:
        table = pd.read_csv(path, sep="\t")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise KerasMotifsError(f"{path}: not a filter importance table ({str(err).splitlines()[0]})") from None
    missing = [c for c in ("filter", "importance", "top_class") if c not in table.columns]
    if missing:
        raise KerasMotifsError(f"{path}: not a filter importance table (missing columns {', '.join(missing)})")
    classes = _class_columns(table)
    if not classes or not all(pd.api.types.is_numeric_dtype(table[c]) for c in ["importance", *classes]):
        raise KerasMotifsError(f"{path}: not a filter importance table (importance and one column per class "
                               "must hold numbers)")
    return table


def _class_columns(table: pd.DataFrame) -> list[str]:
    """The per-class loss columns of an importance table."""
    return [c for c in table.columns if c not in ("filter", "layer", "importance", "top_class", "ablation")
            and not c.startswith("auroc_drop:")]


def _read_history(path: Path) -> pd.DataFrame | None:
    """Read ``history.csv`` if present."""
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise KerasMotifsError(f"{path}: cannot read the training history as CSV ({err})") from None


def _read_run(run_dir: Path) -> _Run:
    """Read one trained-run folder, failing on a missing config.json or metrics.json."""
    if not run_dir.is_dir():
        raise KerasMotifsError(f"{run_dir}: run folder not found")
    folder = RunFolder(run_dir)
    config_path, metrics_path = folder.config, folder.metrics
    config = read_json(config_path, what="run config (config.json)")
    metrics = read_json(metrics_path, what="test metrics (metrics.json)")
    arch = _get(config, ["arch"], config_path)
    trial = _get(config, ["trial"], config_path)
    spec = _get(config, ["spec"], config_path)
    pool = _get(config, ["spec", "conv_layers", 0, "pool_size"], config_path)
    if not isinstance(arch, str) or not arch:
        raise KerasMotifsError(f"{config_path}: 'arch' must be a non-empty name, got {arch!r}")
    if isinstance(trial, bool) or not isinstance(trial, int):
        raise KerasMotifsError(f"{config_path}: 'trial' must be an integer, got {trial!r}")
    pool = 1 if pool is None else pool
    if isinstance(pool, bool) or not isinstance(pool, int) or pool < 1:
        raise KerasMotifsError(f"{config_path}: first conv layer 'pool_size' must be >= 1, got {pool!r}")
    return _Run(
        path=run_dir,
        arch=arch,
        trial=trial,
        family=_family(spec),
        first_pool_size=pool,
        mean_auroc=_number(_get(metrics, ["mean_auroc"], metrics_path), "mean_auroc", metrics_path),
        mean_aupr=_number(_get(metrics, ["mean_aupr"], metrics_path), "mean_aupr", metrics_path),
        layers=_read_layers(folder),
        history=_read_history(folder.history),
        config=config,
    )


def training_flags(config: dict) -> list[str]:
    """What a run's ``config.json`` says is wrong with how its training ended.

    A run that used every epoch it was allowed while its validation loss had improved
    within the early-stopping patience did not converge: it stopped at the cap while
    still improving.
    """
    epochs, run, best, patience = (config.get(k) for k in ("epochs", "epochs_run", "best_epoch", "patience"))
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (epochs, run, best, patience)):
        return []
    if run >= epochs and run - 1 - best < max(patience, 1):
        return [f"stopped at the {epochs}-epoch cap while still improving (best epoch {best + 1} of {run})"]
    return []


def _auroc_flags(runs: Sequence[_Run]) -> dict[Path, list[str]]:
    """Runs whose test AUROC is far below the median of the runs reported with them (three or more)."""
    if len(runs) < 3:
        return {}
    median = float(np.median([run.mean_auroc for run in runs]))
    return {run.path: [f"test AUROC {run.mean_auroc:.3f}, {median - run.mean_auroc:.3f} below the median of "
                       f"the runs reported ({median:.3f})"]
            for run in runs if run.mean_auroc < median - AUROC_FLAG_MARGIN}


def protocol_sentence(configs: Sequence[dict]) -> str:
    """How the runs were trained, in one sentence (from their ``config.json``)."""
    keys = ("learning_rate", "batch_size", "epochs", "patience", "monitor", "min_delta", "lr_patience", "lr_factor")
    protocols = {repr([config.get(k) for k in keys]): [config.get(k) for k in keys] for config in configs}
    if len(protocols) != 1:
        return f"The runs were trained with {len(protocols)} different protocols (see each config.json)."
    lr, batch, epochs, patience, monitor, min_delta, lr_patience, lr_factor = protocols.popitem()[1]
    numbers = (lr, batch, epochs, patience, min_delta or 0, lr_patience or 0, lr_factor or 0)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers) or not isinstance(
            monitor, (str, type(None))):
        return ""  # a config.json written by hand or by another tool: no sentence rather than a wrong one
    watched = {None: "a lower validation loss", "val_loss": "a lower validation loss",
               "val_auroc": "a higher validation AUROC", "val_aupr": "a higher validation AUPR"}.get(monitor, monitor)
    if min_delta:
        watched += f" (by more than {min_delta:g})"
    text = (f"Training: Adam at learning rate {lr:g}, batch {batch}, at most {epochs} epochs, stopped after "
            f"{patience} epochs without {watched}, best weights kept")
    if lr_patience and lr_factor:
        text += f"; learning rate \u00d7{lr_factor:g} after {lr_patience} such epochs"
    return text + "."


def _check_run_dirs(run_dirs: Sequence[str | os.PathLike]) -> list[Path]:
    """Validate the list of run folders given to a public function."""
    if isinstance(run_dirs, (str, os.PathLike)):
        raise KerasMotifsError(f"run_dirs: expected a list of run folders, got one path {run_dirs!r}")
    paths = [Path(p) for p in run_dirs]
    if not paths:
        raise KerasMotifsError("run_dirs: no run folders given")
    return paths


def _read_runs(paths: Sequence[Path]) -> list[_Run]:
    """Read each run folder once; refuse two folders that hold the same architecture and trial.

    A folder named twice (the same folder through two globs) is read once. Two different
    folders of one architecture and trial would count that trial twice in every mean, for
    example the runs of an earlier pipeline run passed with ``--runs`` next to the same
    architectures trained again.
    """
    unique: dict[Path, Path] = {}
    for path in paths:
        unique.setdefault(path.resolve(), path)
    runs = [_read_run(path) for path in unique.values()]
    seen: dict[tuple[str, int], Path] = {}
    for run in runs:
        first = seen.setdefault((run.arch, run.trial), run.path)
        if first != run.path:
            raise KerasMotifsError(
                f"{run.arch} trial {run.trial} is given twice, in {first} and in {run.path}: a trial counts once; "
                "pass one of the two folders (runs trained elsewhere next to other architectures or trials only)"
            )
    return runs


def importance_summary(table: pd.DataFrame, score: dict) -> dict[str, float]:
    """Two figures of a layer: do its readable filters do the work, and for their own class?

    Parameters
    ----------
    table : pandas.DataFrame
        The layer's importance table (:func:`keras_motifs.importance.filter_importance`).
    score : dict
        The layer's score (``<layer>.score.json``): per filter its best ground-truth
        TF (``best_gt_tf``, None without a hit); ``match_gt_frac`` None when the data
        has no class motifs.

    Returns
    -------
    dict
        ``gt_importance_share``: of the layer's total importance (filters that hurt
        the loss when ablated, importance > 0), the share carried by filters that
        match a ground-truth motif. ``class_consistency``: of the filters that match a
        ground-truth TF and matter (importance > 0), the fraction whose most affected
        class is that TF. NaN when undefined (no ground truth, no filter that matters).
    """
    if score.get("match_gt_frac") is None:
        return {"gt_importance_share": np.nan, "class_consistency": np.nan}
    hits = {f["filter"]: f.get("best_gt_tf") for f in score.get("filters", [])}
    gt_tf = table["filter"].map(hits)
    matters = table["importance"] > 0
    weight = table["importance"].where(matters, 0.0)
    total = weight.sum()
    share = weight[gt_tf.notna()].sum() / total if total > 0 else np.nan
    readable = gt_tf.notna() & matters
    consistency = (table.loc[readable, "top_class"] == gt_tf[readable]).mean() if readable.any() else np.nan
    return {"gt_importance_share": float(share), "class_consistency": float(consistency)}


def _runs_frame(runs: Sequence[_Run]) -> pd.DataFrame:
    """One row per run and layer with scores (one row with layer "" for a run without any)."""
    rows = []
    auroc_flags = _auroc_flags(runs)
    for run in runs:
        base = {
            "run_dir": str(run.path), "arch": run.arch, "trial": run.trial,
            "first_pool_size": run.first_pool_size, "mean_auroc": run.mean_auroc,
            "mean_aupr": run.mean_aupr, "device": str(run.config.get("device") or ""),
            "flags": "; ".join(training_flags(run.config) + auroc_flags.get(run.path, [])),
        }
        scored = [layer for layer in run.layers if layer.score is not None]
        for layer in scored:
            path = RunFolder(run.path).layer_file(layer.name, "score")
            summary = (importance_summary(layer.importance, layer.score) if layer.importance is not None
                       else {"gt_importance_share": math.nan, "class_consistency": math.nan})
            rows.append({
                **summary,
                **base,
                "layer": layer.name,
                "num_filters": int(layer.score["num_filters"]),
                "match_any_frac": _number(layer.score["match_any_frac"], "match_any_frac", path),
                "match_gt_frac": _number(layer.score["match_gt_frac"], "match_gt_frac", path),
                "evalue_threshold": _number(layer.score.get("evalue_threshold"), "evalue_threshold", path),
            })
        if not scored:
            rows.append({**base, "layer": "", "num_filters": pd.NA, "match_any_frac": math.nan,
                         "match_gt_frac": math.nan, "evalue_threshold": math.nan,
                         "gt_importance_share": math.nan, "class_consistency": math.nan})
    frame = pd.DataFrame(rows, columns=RUN_COLUMNS)
    frame["num_filters"] = frame["num_filters"].astype("Int64")
    return frame


def read_runs(run_dirs: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """Read the test metrics and motif scores of trained-run folders.

    Parameters
    ----------
    run_dirs : list of str or PathLike
        Trained-run folders (``config.json``, ``metrics.json``, optionally ``history.csv``
        and ``motifs/<layer>.score.json``).

    Returns
    -------
    pandas.DataFrame
        One row per run and scored layer, columns :data:`RUN_COLUMNS`. A run without
        score files gives one row with ``layer == ""`` and NaN match fractions.

    Raises
    ------
    KerasMotifsError
        A folder is missing, or its ``config.json`` or ``metrics.json`` is missing or
        lacks a required field, or two folders hold the same architecture and trial.
    """
    return _runs_frame(_read_runs(_check_run_dirs(run_dirs)))


def _arch_order(runs: pd.DataFrame, arch_order: Sequence[str] | None) -> list[str]:
    """Architectures in ``arch_order``, then the rest by first pool size and name."""
    given = [a for a in dict.fromkeys(arch_order or []) if a in set(runs["arch"])]
    pools = runs.groupby("arch")["first_pool_size"].first()
    rest = sorted(set(pools.index) - set(given), key=lambda a: (pools[a], natural_key(a)))
    return given + rest


def _primary_layers(runs: pd.DataFrame) -> dict[str, str]:
    """Each architecture's first scored layer (natural order), "" when none was scored."""
    primary = {}
    for arch, sub in runs.groupby("arch"):
        names = sorted((n for n in set(sub["layer"]) if n), key=natural_key)
        primary[arch] = names[0] if names else ""
    return primary


def _first_layer_rows(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run: its first-layer scores (NaN when that layer was not scored)."""
    primary = _primary_layers(runs)
    is_first = runs.apply(lambda r: r["layer"] == primary[r["arch"]], axis=1)
    first = runs[is_first].drop_duplicates("run_dir")
    missing = runs[~runs["run_dir"].isin(first["run_dir"])].drop_duplicates("run_dir").copy()
    missing[["match_any_frac", "match_gt_frac"]] = math.nan
    return pd.concat([first, missing], ignore_index=True)


def summary_table(runs: pd.DataFrame, arch_order: Sequence[str] | None = None) -> pd.DataFrame:
    """Average runs into the paper's Table 1.

    Parameters
    ----------
    runs : pandas.DataFrame
        The output of :func:`read_runs`.
    arch_order : list of str, optional
        Row order of architectures (e.g. the registry's order); architectures not in it
        follow, by first pool size and then name. Default is None: all by first pool
        size, then name.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TABLE_COLUMNS`. One row per architecture for its first layer
        (``model`` is the architecture name), followed by one row per deeper scored
        layer (``model`` is e.g. ``"cnn-1 (conv2)"``). ``*_mean`` and ``*_std`` are the
        mean and sample standard deviation (ddof 1; NaN for a single trial) over the
        trials that have the value. ``n_trials`` counts the runs in the row. AUROC and
        AUPR are the model's mean over classes, repeated on its deeper-layer rows.
    """
    missing = [c for c in RUN_COLUMNS if c not in runs.columns]
    if missing:
        raise KerasMotifsError(f"runs: not a table from read_runs (missing columns {missing})")
    primary = _primary_layers(runs)
    first = _first_layer_rows(runs)
    rows = []
    for arch in _arch_order(runs, arch_order):
        sub = runs[runs["arch"] == arch]
        deeper = sorted((n for n in set(sub["layer"]) if n and n != primary[arch]), key=natural_key)
        parts = [(arch, primary[arch], first[first["arch"] == arch])]
        parts += [(f"{arch} ({name})", name, sub[sub["layer"] == name]) for name in deeper]
        for model, layer, part in parts:
            row = {"model": model, "arch": arch, "layer": layer,
                   "first_pool_size": int(sub["first_pool_size"].iloc[0]), "n_trials": len(part)}
            for out, col in [("auroc", "mean_auroc"), ("aupr", "mean_aupr"),
                             ("match_any", "match_any_frac"), ("match_gt", "match_gt_frac"),
                             ("gt_importance_share", "gt_importance_share"),
                             ("class_consistency", "class_consistency")]:
                values = part[col].astype(float).dropna()
                row[f"{out}_mean"] = values.mean() if len(values) else math.nan
                row[f"{out}_std"] = values.std(ddof=1) if len(values) > 1 else math.nan
            row["n_flagged"] = int((part["flags"].fillna("") != "").sum())
            rows.append(row)
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def _mean_sd(mean: float, sd: float) -> str:
    """Format "mean ± sd" with three decimals; "–" for a missing value."""
    if pd.isna(mean):
        return "–"
    return f"{mean:.3f}" if pd.isna(sd) else f"{mean:.3f} ± {sd:.3f}"


_DISPLAY = [("auroc", "AUROC"), ("aupr", "AUPR"), ("match_any", "match any JASPAR"),
            ("match_gt", "match ground truth"), ("gt_importance_share", "importance in ground truth"),
            ("class_consistency", "class consistency")]


def _display_table(table: pd.DataFrame) -> pd.DataFrame:
    """Table 1 with "mean ± sd" strings, for Markdown and HTML."""
    shown = pd.DataFrame({
        "model": [f"{m} {FLAG_MARK}" if n else m for m, n in zip(table["model"], table["n_flagged"])],
        "first pool": table["first_pool_size"].astype(str),
        "trials": table["n_trials"].astype(str),
    })
    for key, label in _DISPLAY:
        shown[label] = [_mean_sd(m, s) for m, s in zip(table[f"{key}_mean"], table[f"{key}_std"])]
    return _beside_published(shown, table)


def _beside_published(shown: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Insert the paper's published figure (:mod:`keras_motifs.published`) after each of AUROC and the match fractions.

    A row whose architecture and layer have no published figure for a metric shows "–".
    """
    from keras_motifs.published import published_figures

    figures = [published_figures(arch, layer) for arch, layer in zip(table["arch"], table["layer"])]
    shown = shown.copy()
    for key, label in _DISPLAY:
        if key not in ("auroc", "match_any", "match_gt"):
            continue
        cells = ["–" if row[key] is None else _mean_sd(row[key].mean, math.nan if row[key].sd is None else row[key].sd)
                 for row in figures]
        shown.insert(shown.columns.get_loc(label) + 1, f"paper: {label}", cells)
    return shown


def _table_caption(runs: pd.DataFrame, protocol: str) -> str:
    """Sentences saying what the numbers of Table 1 are and how the models were trained."""
    thresholds = sorted(set(runs["evalue_threshold"].dropna()))
    cutoff = f"Tomtom E < {thresholds[0]:g}" if len(thresholds) == 1 else "a Tomtom hit"
    text = (
        "Mean ± sample standard deviation over trials. AUROC, AUPR: test set, mean over classes. "
        f"Match fractions: filters with {cutoff} against any JASPAR motif / against a "
        "motif of the data's classes (the planted motifs of synthetic data; the relevant TFs' "
        "motifs of in vivo data), divided by the number of filters of the layer. "
        "Rows named \"model (layer)\" score a deeper convolutional layer of the same models. "
        "Importance: each filter ablated in turn (its activations replaced by a constant: their mean over "
        "the test set in keras-motifs run), the rise of the test loss averaged over classes. Importance in ground truth: the share of "
        "the layer's total importance (filters whose ablation raises the loss) carried by filters that "
        "match a ground-truth motif: do the readable filters do the work? Class consistency: of the "
        "filters that match a ground-truth TF and matter, the fraction whose ablation hurts that TF's "
        "class most."
    )
    from keras_motifs.published import ARCHITECTURE_NOTES, SOURCE

    paper = (f"Columns \"paper: ...\" give the published figure of the same architecture and layer ({SOURCE}); "
             "– where the paper states none.")
    paper = " ".join([paper] + [note for arch, note in ARCHITECTURE_NOTES.items() if arch in set(runs["arch"])])
    return f"{text} {paper} {protocol}".rstrip()


def _flag_notes(runs: pd.DataFrame) -> list[str]:
    """One line per flagged run: "† arch trial k: reasons"."""
    flagged = runs[runs["flags"].fillna("") != ""].drop_duplicates("run_dir")
    return [f"{FLAG_MARK} {row.arch} trial {row.trial}: {row.flags}; read its row with care."
            for row in flagged.itertuples(index=False)]


def _missing_run_notes(runs: Sequence[_Run], expected: Sequence[tuple[str, int]]) -> list[str]:
    """One line per expected run (architecture, trial) that no folder holds, e.g. a failed training."""
    present = {(run.arch, run.trial) for run in runs}
    missing = [(arch, trial) for arch, trial in dict.fromkeys(expected) if (arch, trial) not in present]
    return [f"{FLAG_MARK} {arch} trial {trial}: expected, but no run folder holds it (its training or a later "
            f"step failed, or it was not run); the {arch} row is over the trials present."
            for arch, trial in missing]


def _markdown(shown: pd.DataFrame, caption: str, notes: Sequence[str] = ()) -> str:
    """Render a string table as GitHub Markdown with a caption line and notes on flagged runs."""
    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    align = ["---"] + ["---:"] * (shown.shape[1] - 1)
    body = [line(shown.columns), line(align)] + [line(r) for r in shown.itertuples(index=False)]
    return "\n".join(body) + f"\n\n{caption}\n" + "".join(f"\n{note}\n" for note in notes)


# --------------------------------------------------------------------------- figures


def _figure(width: float, height: float):
    """A matplotlib Figure that does not touch pyplot's global state."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=_DPI, layout="constrained")


def _palette(archs: list[str]) -> dict[str, tuple]:
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


def _match_vs_pool(per_run: pd.DataFrame, archs, colours, families, path: Path) -> bool:
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


def _auroc_vs_pool(per_run: pd.DataFrame, archs, colours, families, path: Path) -> None:
    """Draw the test AUROC against first pool size."""
    fig = _figure(6.2, 3.8)
    ax = fig.subplots()
    _plot_vs_pool(ax, per_run, "mean_auroc", archs, colours, families, True)
    ax.set_ylabel("test AUROC (mean over classes)")
    low = per_run["mean_auroc"].min()
    ax.set_ylim(min(0.5, low - 0.02) if pd.notna(low) else 0.5, 1.0)
    _legend_outside(ax, "architecture")
    fig.savefig(path)


def _epoch_frame(runs: Sequence[_Run]) -> pd.DataFrame:
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


def _match_per_epoch(runs: Sequence[_Run], archs, colours, path: Path) -> bool:
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


def _by_importance(layer: _Layer) -> list[motifs.Motif]:
    """A layer's filter motifs, the most important first when importance was measured (else as stored)."""
    if layer.importance is None:
        return list(layer.filters)
    rank = {f: i for i, f in enumerate(layer.importance.sort_values("importance", ascending=False,
                                                                    kind="stable")["filter"])}
    return sorted(layer.filters, key=lambda motif: rank.get(motif.id, len(rank)))


def _importance_heatmaps(runs: Sequence[_Run], primary: dict[str, str], archs: Sequence[str], path: Path) -> bool:
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
        classes = _class_columns(layer.importance)
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


def _logo_grid(run: _Run, layer: _Layer) -> tuple[LogoGrid, dict]:
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


# --------------------------------------------------------------------------- HTML

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.92em; margin: 0.6em 0; }
th, td { padding: 0.3em 0.8em; border-bottom: 1px solid #e3e3e3; text-align: right; white-space: nowrap; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
tr.deeper td:first-child { padding-left: 1.8em; color: #444; }
img { max-width: 100%; height: auto; } .caption, .meta { color: #555; font-size: 0.9em; }
.flag { color: #a50026; font-size: 0.9em; }
details { margin: 0.4em 0 0.8em; } summary { cursor: pointer; font-weight: 600; }
"""


def _html_table(shown: pd.DataFrame, deeper: Sequence[bool] | None = None) -> str:
    """Render a string table as HTML, escaping every cell."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    rows = []
    for i, row in enumerate(shown.itertuples(index=False)):
        cls = ' class="deeper"' if deeper is not None and deeper[i] else ""
        cells = "".join(f"<td>{html.escape(str(c))}</td>" for c in row)
        rows.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _img(src: str, alt: str) -> str:
    """An image tag with a relative link."""
    return f'<img src="{html.escape(src)}" alt="{html.escape(alt)}" loading="lazy">'


def _write_html(path: Path, title: str, table: pd.DataFrame, caption: str, notes: Sequence[str],
                runs_shown: pd.DataFrame, figures: dict[str, str | None], logos: list[dict], n_runs: int) -> None:
    """Assemble report.html from the tables and the figure file names."""
    shown = _display_table(table)
    deeper = list(table["model"] != table["arch"])
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">{n_runs} runs, {table["arch"].nunique()} architectures; '
        f"keras-motifs {html.escape(__version__)}. Koo &amp; Eddy (2019): a large first max-pool "
        "makes first-layer filters learn whole motifs.</p>",
        "<h2>Table 1</h2>",
        _html_table(shown, deeper),
        f'<p class="caption">{html.escape(caption)} Files: <a href="table.tsv">table.tsv</a>, '
        '<a href="table.md">table.md</a>, <a href="runs.tsv">runs.tsv</a>.</p>',
        *(f'<p class="flag">{html.escape(note)}</p>' for note in notes),
        "<h2>Motif matches against first max-pool size</h2>",
    ]
    notes = {
        "match_vs_pool": "No run has motif scores (motifs/&lt;layer&gt;.score.json).",
        "motif_match_per_epoch": "No run's history.csv has motif_match_frac or motif_gt_frac "
                                 "(trained without the motif callback).",
        "importance": "No run has filter importance (motifs/&lt;layer&gt;.importance.tsv).",
    }
    captions = {
        "match_vs_pool": "Large dots: mean ± sd over trials; small dots: trials. Grey lines join "
                         "architectures that differ only in their pool sizes.",
        "auroc_vs_pool": "Test AUROC, mean over classes; mean ± sd over trials.",
        "motif_match_per_epoch": "Fractions of first-layer filters with a Tomtom hit after each "
                                 "epoch (MotifMatchCallback); line: mean over trials, band: sd.",
        "importance": "Per model, its first trial's first scored layer: how much the test loss of each "
                      "class rises when a filter's activations are replaced by a constant (their mean, in "
                      "keras-motifs run). Rows in the order of the logos below, the most important first.",
    }
    for key, heading in [("match_vs_pool", None), ("auroc_vs_pool", "Classification performance"),
                         ("motif_match_per_epoch", "Motif matches during training"),
                         ("importance", "Which filters the models use, and for which class")]:
        if heading:
            parts.append(f"<h2>{heading}</h2>")
        if figures[key]:
            parts.append(_img(figures[key], key.replace("_", " ")))
            parts.append(f'<p class="caption">{html.escape(captions[key])}</p>')
        else:
            parts.append(f'<p class="caption">{notes[key]}</p>')
    parts.append("<h2>Filter logos</h2>")
    if logos:
        parts.append('<p class="caption">Information-content logos of every filter, titled with '
                     "its best JASPAR hit (name, ID, Tomtom E-value). Ground-truth hits: "
                     "\u2605, bold green title, green frame; \u201cGT X\u201d names the "
                     "ground-truth TF when the best hit is another motif. Where filter importance was "
                     "measured, the most important filters come first and \u201cfilterK \u2192 C\u201d "
                     "names the class C whose loss rises most without filter K.</p>")
    else:
        parts.append('<p class="caption">No run has filter motifs (motifs/&lt;layer&gt;.meme).</p>')
    arch = None
    for logo in logos:
        if logo["arch"] != arch:
            arch = logo["arch"]
            parts.append(f"<h3>{html.escape(arch)}</h3>")
        stats = (f"{logo['n_gt']}/{logo['n']} ground truth, {logo['n_any']}/{logo['n']} any JASPAR"
                 if logo["scored"] else f"{logo['n']} filters, not scored")
        summary = html.escape(f"trial {logo['trial']}, layer {logo['layer']}: {stats}")
        parts.append(f"<details{' open' if logo['first'] else ''}><summary>{summary}</summary>"
                     f"{_img(logo['src'], summary)}</details>")
    parts += ["<h2>Runs</h2>", _html_table(runs_shown)]
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")
    with atomic_file(path) as tmp:
        tmp.write_text(page, encoding="utf-8")


def _runs_display(runs: pd.DataFrame, out_dir: Path) -> pd.DataFrame:
    """Per-run table for the HTML page, with run folders relative to the report."""
    def rel(p: str) -> str:
        try:
            return os.path.relpath(p, out_dir)
        except ValueError:
            return p

    def fmt(v: float) -> str:
        return "–" if pd.isna(v) else f"{v:.3f}"

    return pd.DataFrame({
        "run folder": [rel(p) for p in runs["run_dir"]],
        "arch": runs["arch"], "trial": runs["trial"].astype(str),
        "layer": runs["layer"].replace("", "–"),
        "filters": [("–" if pd.isna(v) else str(v)) for v in runs["num_filters"]],
        "AUROC": runs["mean_auroc"].map(fmt), "AUPR": runs["mean_aupr"].map(fmt),
        "match any": runs["match_any_frac"].map(fmt), "match GT": runs["match_gt_frac"].map(fmt),
        "device": runs["device"].fillna("").replace("", "–"),
        "flags": runs["flags"].fillna("").replace("", "–"),
    })


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
    paths = _check_run_dirs(run_dirs)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise KerasMotifsError(f"{out_dir}: report folder is a file, not a folder")
    runs = _read_runs(paths)  # every input read and checked before anything is written
    created = not out_dir.exists()
    try:
        return _write_report_files(runs, out_dir, arch_order, title, expected_runs)
    except BaseException:
        if created:  # a refused report leaves nothing behind
            shutil.rmtree(out_dir, ignore_errors=True)
        raise


def _write_report_files(runs: list[_Run], out_dir: Path, arch_order: Sequence[str] | None, title: str,
                        expected_runs: Sequence[tuple[str, int]] = ()) -> Path:
    """Write the report of runs already read into ``out_dir``; return the path of ``report.html``."""
    frame = _runs_frame(runs)
    table = summary_table(frame, arch_order)
    archs = list(dict.fromkeys(table["arch"]))
    colours = _palette(archs)
    families = {run.arch: run.family for run in runs}
    per_run = _first_layer_rows(frame)
    primary = _primary_layers(frame)
    order = {a: i for i, a in enumerate(archs)}

    figures: dict[str, str | None] = {}
    logos: list[dict] = []
    with atomic_directory(out_dir / "figures", overwrite=True) as tmp:
        figures["match_vs_pool"] = ("figures/match_vs_pool.png" if _match_vs_pool(
            per_run, archs, colours, families, tmp / "match_vs_pool.png") else None)
        _auroc_vs_pool(per_run, archs, colours, families, tmp / "auroc_vs_pool.png")
        figures["auroc_vs_pool"] = "figures/auroc_vs_pool.png"
        figures["motif_match_per_epoch"] = ("figures/motif_match_per_epoch.png" if _match_per_epoch(
            runs, archs, colours, tmp / "motif_match_per_epoch.png") else None)
        figures["importance"] = ("figures/importance.png" if _importance_heatmaps(
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
                grid, stats = _logo_grid(run, layer)
                grids.append((grid, tmp / "logos" / name))
                logos.append({**stats, "arch": run.arch, "trial": run.trial, "layer": layer.name,
                              "first": layer.name == primary[run.arch],
                              "src": f"figures/logos/{name}"})
        # The previous report's figures are still in place: its logos drawn from the same inputs are copied.
        draw_grids(grids, _DPI, previous=out_dir / "figures" / "logos")

    with atomic_file(out_dir / "table.tsv") as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g", na_rep="")
    with atomic_file(out_dir / "runs.tsv") as tmp:
        frame.to_csv(tmp, sep="\t", index=False, float_format="%.6g", na_rep="")
    caption = _table_caption(frame, protocol_sentence([run.config for run in runs]))
    notes = _flag_notes(frame) + _missing_run_notes(runs, expected_runs)
    with atomic_file(out_dir / "table.md") as tmp:
        tmp.write_text(_markdown(_display_table(table), caption, notes), encoding="utf-8")
    report = out_dir / "report.html"
    _write_html(report, title, table, caption, notes, _runs_display(frame, out_dir), figures, logos, len(runs))
    return report
