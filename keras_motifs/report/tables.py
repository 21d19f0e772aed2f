"""Table 1 from the runs: the summary over trials, its display beside the paper's figures.

Also its caption, its notes and its Markdown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from keras_motifs.errors import KerasMotifsError
from keras_motifs.io.runfolder import natural_key
from keras_motifs.report.runs import FLAG_MARK, RUN_COLUMNS, RunResult

#: Columns of ``table.tsv`` (and of :func:`summary_table`), in order.
TABLE_COLUMNS = [
    "model", "arch", "layer", "first_pool_size", "n_trials",
    "auroc_mean", "auroc_std", "aupr_mean", "aupr_std",
    "match_any_mean", "match_any_std", "match_gt_mean", "match_gt_std",
    "gt_importance_share_mean", "gt_importance_share_std", "class_consistency_mean", "class_consistency_std",
    "n_flagged",
]


def _arch_order(runs: pd.DataFrame, arch_order: Sequence[str] | None) -> list[str]:
    """Architectures in ``arch_order``, then the rest by first pool size and name."""
    given = [a for a in dict.fromkeys(arch_order or []) if a in set(runs["arch"])]
    pools = runs.groupby("arch")["first_pool_size"].first()
    rest = sorted(set(pools.index) - set(given), key=lambda a: (pools[a], natural_key(a)))
    return given + rest


def primary_layers(runs: pd.DataFrame) -> dict[str, str]:
    """Each architecture's first scored layer (natural order), "" when none was scored."""
    primary = {}
    for arch, sub in runs.groupby("arch"):
        names = sorted((n for n in set(sub["layer"]) if n), key=natural_key)
        primary[arch] = names[0] if names else ""
    return primary


def first_layer_rows(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run: its first-layer scores (NaN when that layer was not scored)."""
    primary = primary_layers(runs)
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
    primary = primary_layers(runs)
    first = first_layer_rows(runs)
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


def display_table(table: pd.DataFrame) -> pd.DataFrame:
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
    """Insert the paper's published figure (:mod:`keras_motifs.report.published`) after AUROC and the match fractions.

    A row whose architecture and layer have no published figure for a metric shows "–".
    """
    from keras_motifs.report.published import published_figures

    figures = [published_figures(arch, layer) for arch, layer in zip(table["arch"], table["layer"])]
    shown = shown.copy()
    for key, label in _DISPLAY:
        if key not in ("auroc", "match_any", "match_gt"):
            continue
        cells = ["–" if row[key] is None else _mean_sd(row[key].mean, math.nan if row[key].sd is None else row[key].sd)
                 for row in figures]
        shown.insert(shown.columns.get_loc(label) + 1, f"paper: {label}", cells)
    return shown


def table_caption(runs: pd.DataFrame, protocol: str) -> str:
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
        "the test set in keras-motifs run), the rise of the test loss averaged over classes. "
        "Importance in ground truth: the share of "
        "the layer's total importance (filters whose ablation raises the loss) carried by filters that "
        "match a ground-truth motif: do the readable filters do the work? Class consistency: of the "
        "filters that match a ground-truth TF and matter, the fraction whose ablation hurts that TF's "
        "class most."
    )
    from keras_motifs.report.published import ARCHITECTURE_NOTES, SOURCE

    paper = (f"Columns \"paper: ...\" give the published figure of the same architecture and layer ({SOURCE}); "
             "– where the paper states none.")
    notes = dict.fromkeys(note for arch, note in ARCHITECTURE_NOTES.items() if arch in set(runs["arch"]))
    paper = " ".join([paper, *notes])
    return f"{text} {paper} {protocol}".rstrip()


def flag_notes(runs: pd.DataFrame) -> list[str]:
    """One line per flagged run: "† arch trial k: reasons"."""
    flagged = runs[runs["flags"].fillna("") != ""].drop_duplicates("run_dir")
    return [f"{FLAG_MARK} {row.arch} trial {row.trial}: {row.flags}; read its row with care."
            for row in flagged.itertuples(index=False)]


def missing_run_notes(runs: Sequence[RunResult], expected: Sequence[tuple[str, int]]) -> list[str]:
    """One line per expected run (architecture, trial) that no folder holds, e.g. a failed training."""
    present = {(run.arch, run.trial) for run in runs}
    archs = {run.arch for run in runs}
    missing = [(arch, trial) for arch, trial in dict.fromkeys(expected) if (arch, trial) not in present]
    return [f"{FLAG_MARK} {arch} trial {trial}: expected, but no run folder holds it (its training failed, or it "
            "was not run); " + (f"the {arch} row is over the trials present." if arch in archs
                                else f"{arch} has no row.")
            for arch, trial in missing]


def markdown(shown: pd.DataFrame, caption: str, notes: Sequence[str] = ()) -> str:
    """Render a string table as GitHub Markdown with a caption line and notes on flagged runs."""
    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    align = ["---"] + ["---:"] * (shown.shape[1] - 1)
    body = [line(shown.columns), line(align)] + [line(r) for r in shown.itertuples(index=False)]
    return "\n".join(body) + f"\n\n{caption}\n" + "".join(f"\n{note}\n" for note in notes)
