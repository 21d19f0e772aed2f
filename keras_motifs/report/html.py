"""``report.html``: the tables, figures and logos of a report on one page, images linked relatively."""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from keras_motifs import __version__
from keras_motifs.io.experiment import RUNS_TABLE, TABLE, TABLE_MARKDOWN
from keras_motifs.io.files import atomic_file
from keras_motifs.report.tables import display_table

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


#: What stands in place of a figure that no run has the data for.
_MISSING_FIGURE_NOTES = {
    "match_vs_pool": "No run has motif scores (motifs/&lt;layer&gt;.score.json).",
    "motif_match_per_epoch": "No run's history.csv has motif_match_frac or motif_gt_frac "
                             "(trained without the motif callback).",
    "importance": "No run has filter importance (motifs/&lt;layer&gt;.importance.tsv).",
}
#: Each figure's caption.
_FIGURE_CAPTIONS = {
    "match_vs_pool": "Large dots: mean ± sd over trials; small dots: trials. Grey lines join "
                     "architectures that differ only in their pool sizes.",
    "auroc_vs_pool": "Test AUROC, mean over classes; mean ± sd over trials.",
    "motif_match_per_epoch": "Fractions of first-layer filters with a Tomtom hit after each "
                             "epoch (MotifMatchCallback); line: mean over trials, band: sd.",
    "importance": "Per model, its first trial's first scored layer: how much the test loss of each "
                  "class rises when a filter's activations are replaced by a constant (their mean, in "
                  "keras-motifs run). Rows in the order of the logos below, the most important first.",
}
#: The figures in page order, each with the heading that opens its section (None: the section before's).
_FIGURE_SECTIONS = [("match_vs_pool", None), ("auroc_vs_pool", "Classification performance"),
                    ("motif_match_per_epoch", "Motif matches during training"),
                    ("importance", "Which filters the models use, and for which class")]
_LOGO_CAPTION = ('<p class="caption">Information-content logos of every filter, titled with '
                 "its best JASPAR hit (name, ID, Tomtom E-value). Ground-truth hits: "
                 "\u2605, bold green title, green frame; \u201cGT X\u201d names the "
                 "ground-truth TF when the best hit is another motif. Where filter importance was "
                 "measured, the most important filters come first and \u201cfilterK \u2192 C\u201d "
                 "names the class C whose loss rises most without filter K.</p>")


def _figure_parts(figures: dict[str, str | None]) -> list[str]:
    """The figures' sections: heading, image and caption, or a note where a figure has no data."""
    parts = []
    for key, heading in _FIGURE_SECTIONS:
        if heading:
            parts.append(f"<h2>{heading}</h2>")
        if figures[key]:
            parts.append(_img(figures[key], key.replace("_", " ")))
            parts.append(f'<p class="caption">{html.escape(_FIGURE_CAPTIONS[key])}</p>')
        else:
            parts.append(f'<p class="caption">{_MISSING_FIGURE_NOTES[key]}</p>')
    return parts


def _logo_parts(logos: list[dict]) -> list[str]:
    """The logo grids' section: one folded grid per run and layer, under its architecture."""
    parts = ["<h2>Filter logos</h2>"]
    if logos:
        parts.append(_LOGO_CAPTION)
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
    return parts


def write_html(path: Path, title: str, table: pd.DataFrame, caption: str, notes: Sequence[str],
               runs_shown: pd.DataFrame, figures: dict[str, str | None], logos: list[dict], n_runs: int) -> None:
    """Assemble report.html from the tables and the figure file names."""
    shown = display_table(table)
    deeper = list(table["model"] != table["arch"])
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">{n_runs} runs, {table["arch"].nunique()} architectures; '
        f"keras-motifs {html.escape(__version__)}. Koo &amp; Eddy (2019): a large first max-pool "
        "makes first-layer filters learn whole motifs.</p>",
        "<h2>Table 1</h2>",
        _html_table(shown, deeper),
        f'<p class="caption">{html.escape(caption)} Files: <a href="{TABLE}">{TABLE}</a>, '
        f'<a href="{TABLE_MARKDOWN}">{TABLE_MARKDOWN}</a>, <a href="{RUNS_TABLE}">{RUNS_TABLE}</a>.</p>',
        *(f'<p class="flag">{html.escape(note)}</p>' for note in notes),
        "<h2>Motif matches against first max-pool size</h2>",
        *_figure_parts(figures),
        *_logo_parts(logos),
        "<h2>Runs</h2>",
        _html_table(runs_shown),
    ]
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")
    with atomic_file(path) as tmp:
        tmp.write_text(page, encoding="utf-8")


def runs_display(runs: pd.DataFrame, out_dir: Path) -> pd.DataFrame:
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
