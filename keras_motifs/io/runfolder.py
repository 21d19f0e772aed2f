"""The trained-run folder: where each file of a run lives.

Training, filter extraction, Tomtom, scoring, the experiment, the report and the
pipeline's modules all find a run's files here, so that renaming one is a change
in one place (``tests/test_pipeline.py`` checks the Nextflow modules against it)::

    RUN/model.keras                 the trained model
    RUN/config.json                 everything resolved: architecture, protocol, data, versions
    RUN/metrics.json                test AUROC and AUPR per class, and their means
    RUN/history.csv                 per-epoch logs, motif-match fractions included
    RUN/motifs/<layer>.meme         the layer's filters as motifs (MEME format)
    RUN/motifs/<layer>.filters.tsv  one row per filter, also those that never fired
    RUN/motifs/<layer>.tomtom.tsv   Tomtom of the filters against JASPAR
    RUN/motifs/<layer>.score.json   match fractions

A nested layer's path (``stem/conv1``) is written ``stem.conv1`` in file names.

An experiment folder (``keras-motifs run``, and the pipeline's ``--outdir``) keeps each
run at ``runs/<arch>/trial<k>/`` (:func:`run_path`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

MODEL, CONFIG, METRICS, HISTORY = "model.keras", "config.json", "metrics.json", "history.csv"
MOTIFS = "motifs"
RUNS = "runs"
#: What each kind of per-layer file ends with.
LAYER_SUFFIXES = {"meme": ".meme", "filters": ".filters.tsv", "tomtom": ".tomtom.tsv", "score": ".score.json",
                  "importance": ".importance.tsv"}


def run_path(root: str | os.PathLike, arch: str, trial: int | str) -> Path:
    """Where an experiment folder ``root`` keeps the run of ``arch``, trial ``trial``."""
    return Path(root) / RUNS / arch / f"trial{trial}"


def layer_file(folder: str | os.PathLike, layer: str, kind: str) -> Path:
    """The file of ``kind`` (a key of :data:`LAYER_SUFFIXES`) for ``layer`` in a motifs folder."""
    return Path(folder) / f"{layer.replace('/', '.')}{LAYER_SUFFIXES[kind]}"


def layer_of(path: str | os.PathLike) -> str:
    """The layer a per-layer file belongs to, from its name (``stem.conv1.meme`` -> ``stem/conv1``)."""
    name = Path(path).name
    for suffix in sorted(LAYER_SUFFIXES.values(), key=len, reverse=True):
        if name.endswith(suffix):
            return name[: -len(suffix)].replace(".", "/")
    return Path(path).stem


def natural_key(text: str) -> tuple:
    """Sort key that puts conv2 before conv10."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


@dataclass(frozen=True)
class RunFolder:
    """The files of one trained run.

    Parameters
    ----------
    path : Path
        The run folder.
    """

    path: Path

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))

    @property
    def model(self) -> Path:
        return self.path / MODEL

    @property
    def config(self) -> Path:
        return self.path / CONFIG

    @property
    def metrics(self) -> Path:
        return self.path / METRICS

    @property
    def history(self) -> Path:
        return self.path / HISTORY

    @property
    def motifs(self) -> Path:
        """The folder of the per-layer files."""
        return self.path / MOTIFS

    def layer_file(self, layer: str, kind: str) -> Path:
        """``motifs/<layer><suffix>`` for ``kind`` in :data:`LAYER_SUFFIXES`."""
        return layer_file(self.motifs, layer, kind)

    def layers(self, *kinds: str) -> list[str]:
        """Layers that have a file of any of ``kinds`` (default: any kind), in natural order."""
        if not self.motifs.is_dir():
            return []
        suffixes = [LAYER_SUFFIXES[k] for k in (kinds or LAYER_SUFFIXES)]
        found = {layer_of(p) for p in self.motifs.iterdir() if any(p.name.endswith(s) for s in suffixes)}
        return sorted(found, key=natural_key)
