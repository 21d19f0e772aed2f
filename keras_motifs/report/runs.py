"""Trained-run folders read for the report: every file checked, the flags a run earns.

One row per run and layer (``runs.tsv``, :func:`read_runs`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from keras_motifs.defaults import Protocol
from keras_motifs.errors import KerasMotifsError, check_integer
from keras_motifs.io.files import read_json
from keras_motifs.io.runfolder import RunFolder
from keras_motifs.motifs.meme import read_meme
from keras_motifs.motifs.ppm import Motif

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


@dataclass(frozen=True)
class LayerResult:
    """One layer's motif files in a run folder."""

    name: str
    filters: list[Motif] | None
    score: dict | None
    importance: pd.DataFrame | None = None


@dataclass(frozen=True)
class RunResult:
    """What the report needs from one trained-run folder."""

    path: Path
    arch: str
    trial: int
    family: str
    first_pool_size: int
    mean_auroc: float
    mean_aupr: float
    layers: tuple[LayerResult, ...]
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


def _read_layers(run: RunFolder) -> tuple[LayerResult, ...]:
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
        filters = read_meme(meme, allow_empty=True) if meme.is_file() else None
        importance_path = run.layer_file(name, "importance")
        importance = _read_importance(importance_path) if importance_path.is_file() else None
        layers.append(LayerResult(name=name, filters=filters, score=score, importance=importance))
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
    classes = class_columns(table)
    if not classes or not all(pd.api.types.is_numeric_dtype(table[c]) for c in ["importance", *classes]):
        raise KerasMotifsError(f"{path}: not a filter importance table (importance and one column per class "
                               "must hold numbers)")
    return table


def class_columns(table: pd.DataFrame) -> list[str]:
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


def _read_run(run_dir: Path) -> RunResult:
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
    check_integer(trial, f"{config_path}: 'trial'", minimum=None)
    pool = 1 if pool is None else pool
    check_integer(pool, f"{config_path}: first conv layer 'pool_size'", requirement=">= 1")
    return RunResult(
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


def _auroc_flags(runs: Sequence[RunResult]) -> dict[Path, list[str]]:
    """Runs whose test AUROC is far below the median of the runs reported with them (three or more)."""
    if len(runs) < 3:
        return {}
    median = float(np.median([run.mean_auroc for run in runs]))
    return {run.path: [f"test AUROC {run.mean_auroc:.3f}, {median - run.mean_auroc:.3f} below the median of "
                       f"the runs reported ({median:.3f})"]
            for run in runs if run.mean_auroc < median - AUROC_FLAG_MARGIN}


def _missing_step_flags(runs: Sequence[RunResult]) -> dict[Path, list[str]]:
    """Runs missing a layer's score or importance that another run of their architecture has, or whose
    layer has filters but no score: a step after training failed (a pipeline ignores it and goes on)."""
    scored, weighed = {}, {}
    for run in runs:
        scored.setdefault(run.arch, set()).update(layer.name for layer in run.layers if layer.score is not None)
        weighed.setdefault(run.arch, set()).update(layer.name for layer in run.layers if layer.importance is not None)
    flags = {}
    for run in runs:
        layers = {layer.name: layer for layer in run.layers}
        unscored = {name for name in scored[run.arch] if layers.get(name) is None or layers[name].score is None}
        unscored = sorted(unscored | {name for name, layer in layers.items()
                                      if layer.filters is not None and layer.score is None})
        unweighed = sorted(name for name in weighed[run.arch] - set(unscored)
                           if layers.get(name) is None or layers[name].importance is None)
        found = ([f"no score for {', '.join(unscored)}"] if unscored else []) + (
            [f"no importance for {', '.join(unweighed)}"] if unweighed else [])
        if found:
            flags[run.path] = [f"{'; '.join(found)} (a step after training failed, or was not run)"]
    return flags


def protocol_sentence(configs: Sequence[dict]) -> str:
    """How the runs were trained, in one sentence (from their ``config.json``, :meth:`Protocol.from_config`)."""
    protocols = set()
    for config in configs:
        try:
            protocols.add(Protocol.from_config(config))
        except KerasMotifsError:
            protocols.add(None)  # a config.json written by hand or by another tool
    if len(protocols) != 1:
        return f"The runs were trained with {len(protocols)} different protocols (see each config.json)."
    protocol = protocols.pop()
    if protocol is None:
        return ""  # no sentence rather than a wrong one
    watched = {"val_loss": "a lower validation loss", "val_auroc": "a higher validation AUROC",
               "val_aupr": "a higher validation AUPR"}.get(protocol.monitor, protocol.monitor)
    if protocol.min_delta:
        watched += f" (by more than {protocol.min_delta:g})"
    text = (f"Training: Adam at learning rate {protocol.lr:g}, batch {protocol.batch_size}, at most "
            f"{protocol.epochs} epochs, stopped after {protocol.patience} epochs without {watched}, best weights kept")
    if protocol.lr_patience:
        text += f"; learning rate \u00d7{protocol.lr_factor:g} after {protocol.lr_patience} such epochs"
    return text + "."


def check_run_dirs(run_dirs: Sequence[str | os.PathLike]) -> list[Path]:
    """Validate the list of run folders given to a public function."""
    if isinstance(run_dirs, (str, os.PathLike)):
        raise KerasMotifsError(f"run_dirs: expected a list of run folders, got one path {run_dirs!r}")
    paths = [Path(p) for p in run_dirs]
    if not paths:
        raise KerasMotifsError("run_dirs: no run folders given")
    return paths


def read_run_folders(paths: Sequence[Path]) -> list[RunResult]:
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


def runs_frame(runs: Sequence[RunResult]) -> pd.DataFrame:
    """One row per run and layer with scores (one row with layer "" for a run without any)."""
    rows = []
    auroc_flags, step_flags = _auroc_flags(runs), _missing_step_flags(runs)
    for run in runs:
        base = {
            "run_dir": str(run.path), "arch": run.arch, "trial": run.trial,
            "first_pool_size": run.first_pool_size, "mean_auroc": run.mean_auroc,
            "mean_aupr": run.mean_aupr, "device": str(run.config.get("device") or ""),
            "flags": "; ".join(training_flags(run.config) + auroc_flags.get(run.path, [])
                               + step_flags.get(run.path, [])),
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
    return runs_frame(read_run_folders(check_run_dirs(run_dirs)))
