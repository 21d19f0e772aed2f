"""Information-content logos of a layer's filters: one grid image per run and layer.

The report (:mod:`keras_motifs.report.write`) describes each grid as a :class:`LogoGrid`
and has :func:`draw_grids` write them. The images are those logomaker drew for the
report before: each letter is logomaker's glyph (the bold sans letter stretched to
its height in bits, the "classic" colours, the tallest letter on top), but the
letters of a filter are drawn as one collection instead of one artist each, which
took a quarter of a second per filter. A figure is built once for grids of the same
shape and filled again for each; grids are drawn in several processes when there
are enough of them (those draw with Matplotlib's settings as its configuration
files give them, not with changes the caller made at run time).

Every image carries, in its PNG metadata, a digest of what it was drawn from (the
grid, the resolution, this module's source and Matplotlib's version). An image of an
earlier report with the same name and digest is copied instead of drawn again.
Matplotlib is used through ``matplotlib.figure.Figure`` only (no pyplot, no backend
switch): images are rendered by Agg.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import math
import pickle
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from keras_motifs._runtime import start_fresh_python, usable_cpus
from keras_motifs.motifs.ppm import information_content

if TYPE_CHECKING:
    from matplotlib.collections import PathCollection

#: Title colour and frame of a filter that matches a ground-truth motif.
GROUND_TRUTH_COLOUR = "#1b7837"
#: Title colour of a filter without any JASPAR match.
NO_HIT_COLOUR = "#9a9a9a"
#: logomaker's "classic" colours, letters in PPM column order.
_LETTER_COLOURS = {"A": (0.0, 0.5, 0.0), "C": (0.0, 0.0, 1.0), "G": (1.0, 0.65, 0.0), "T": (1.0, 0.0, 0.0)}
_GLYPH_WIDTH = 0.95  # logomaker's: the width of a letter, in positions
_INVISIBLE_BITS = 0.005  # a position whose tallest letter is lower than this is drawn empty
_DIGEST_FIELD = "keras-motifs logo grid"  # PNG text field holding the digest of what an image shows
_GRIDS_PER_PROCESS = 4  # starting a process costs about as much as drawing a few grids
_MAX_PROCESSES = 8  # each holds Matplotlib and a figure in memory


@dataclass(frozen=True, eq=False)
class FilterLogo:
    """One filter's panel in a grid.

    Attributes
    ----------
    filter_id : str
        The filter, e.g. ``filter3`` (the left title).
    ppm : numpy.ndarray, shape=(width, 4)
        Probabilities of A, C, G, T per position.
    hit : str
        Right title: the best JASPAR hit, or "no match".
    matched : bool
        The filter matches a JASPAR motif (black title; grey otherwise).
    ground_truth : bool
        It matches a ground-truth motif (bold green title, green frame).
    top_class : str, optional
        The class whose loss rises most when the filter is ablated, shown after the
        filter's name (``filter3 → CEBPB``). Default is None: not measured.
    """

    filter_id: str
    ppm: np.ndarray
    hit: str
    matched: bool
    ground_truth: bool
    top_class: str | None = None

    @property
    def name(self) -> str:
        """The left title: the filter, and the class it matters most for when known."""
        return self.filter_id if self.top_class is None else f"{self.filter_id} → {self.top_class}"


@dataclass(frozen=True, eq=False)
class LogoGrid:
    """What one grid image shows: a title over the filters' logos, five or eight per row.

    Attributes
    ----------
    title : str
        The figure's title.
    logos : tuple of FilterLogo
        The panels, row by row.
    """

    title: str
    logos: tuple[FilterLogo, ...]


def _grid_shape(n: int) -> tuple[int, int]:
    """Rows and columns of a grid of ``n`` logos: five per row, eight above 40 logos."""
    columns = min(max(n, 1), 5 if n <= 40 else 8)
    return max(1, math.ceil(n / columns)), columns


def _information_heights(ppm: np.ndarray) -> np.ndarray:
    """Letter heights of an information-content logo: each probability times its column's information."""
    return ppm * information_content(ppm)[:, None]


@functools.cache
def _renderer() -> str:
    """What else an image depends on: Matplotlib's version and this module's source."""
    import matplotlib

    return f"{matplotlib.__version__} {hashlib.sha256(Path(__file__).read_bytes()).hexdigest()}"


def grid_digest(grid: LogoGrid, dpi: float) -> str:
    """A digest of everything a grid image is drawn from, at resolution ``dpi``."""
    digest = hashlib.sha256(_renderer().encode())
    panels = [[logo.name, logo.hit, logo.matched, logo.ground_truth, list(logo.ppm.shape)] for logo in grid.logos]
    digest.update(json.dumps([dpi, grid.title, panels]).encode())
    for logo in grid.logos:
        digest.update(np.ascontiguousarray(logo.ppm, dtype="<f8").tobytes())
    return digest.hexdigest()


def _drawn_from(path: Path) -> str | None:
    """The digest an image was drawn from; None for a missing file or one without it."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.info.get(_DIGEST_FIELD)
    except OSError:  # missing, or not an image
        return None


@functools.cache
def _glyphs() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each letter's outline as logomaker shapes it: one position wide, from height 0 to 1, centred on 0.

    logomaker stretches the letter to the glyph's box, horizontally no more than
    it would stretch an "E", and centres it.
    """
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    font = FontProperties(family="sans", weight="bold")
    widest = TextPath((0, 0), "E", size=1, prop=font).get_extents().width
    glyphs = {}
    for letter in _LETTER_COLOURS:
        path = TextPath((0, 0), letter, size=1, prop=font)
        box = path.get_extents()
        stretch = min(_GLYPH_WIDTH / box.width, _GLYPH_WIDTH / widest)
        vertices = (path.vertices - (box.xmin, box.ymin)) * (stretch, 1.0 / box.height)
        vertices[:, 0] += (_GLYPH_WIDTH - stretch * box.width) / 2.0 - _GLYPH_WIDTH / 2.0
        glyphs[letter] = vertices, path.codes
    return glyphs


def _letters(ppm: np.ndarray) -> PathCollection:
    """A filter's letters as one collection, in logomaker's order: by position, the smallest at the bottom.

    Ties are stacked in A, C, G, T order (a stable sort), so that the image does not
    depend on the machine's sorting code.
    """
    from matplotlib.collections import PathCollection
    from matplotlib.path import Path as Outline

    heights = _information_heights(ppm)
    glyphs = _glyphs()
    outlines, colours = [], []
    for position in np.flatnonzero(heights.max(axis=1) > _INVISIBLE_BITS):
        floor = 0.0
        for column in np.argsort(heights[position], kind="stable"):
            ceiling = floor + heights[position, column]
            if ceiling > floor:
                letter = "ACGT"[column]
                vertices, codes = glyphs[letter]
                outlines.append(Outline(vertices * (1.0, ceiling - floor) + (position, floor), codes))
                colours.append(_LETTER_COLOURS[letter])
            floor = ceiling
    return PathCollection(outlines, facecolors=colours, linewidths=0, zorder=0)


class _GridFigure:
    """A figure of ``rows`` x ``columns`` logos: axes, ticks and frames built once; letters and titles per grid."""

    def __init__(self, rows: int, columns: int, dpi: float):
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(2.7 * columns, 1.15 * rows + 0.6), dpi=dpi, layout="constrained")
        self.figure.get_layout_engine().set(h_pad=0.06)
        self.axes = self.figure.subplots(rows, columns, squeeze=False).ravel()
        for i, ax in enumerate(self.axes):
            ax.set_ylim(0, 2)
            ax.set_xticks([])
            ax.set_yticks([0, 1, 2] if i % columns == 0 else [])
            ax.tick_params(labelsize=7, length=2)
            for spine in ax.spines.values():
                spine.set_color(GROUND_TRUTH_COLOUR)
                spine.set_linewidth(1.6)
        self.figure.supylabel("bits", fontsize=8)

    def draw(self, grid: LogoGrid, path: Path, digest: str) -> None:
        """Draw ``grid`` (of this figure's shape) into the PNG file ``path``, ``digest`` in its metadata."""
        width = max((logo.ppm.shape[0] for logo in grid.logos), default=1)
        for ax, logo in itertools.zip_longest(self.axes, grid.logos):
            for collection in list(ax.collections):  # the previous grid's letters
                collection.remove()
            if logo is None:  # an empty cell after the last logo
                ax.set_axis_off()
                ax.set_title("", loc="left")
                ax.set_title("", loc="right")
                continue
            ax.set_axis_on()
            ax.add_collection(_letters(logo.ppm), autolim=False)
            ax.set_xlim(-0.5, width - 0.5)
            colour = GROUND_TRUTH_COLOUR if logo.ground_truth else ("black" if logo.matched else NO_HIT_COLOUR)
            # At y=1, where Matplotlib's automatic placement puts them on these axes (no ticks on top),
            # which it then need not compute.
            ax.set_title(logo.name, loc="left", fontsize=7, color="#555555", y=1.0)
            ax.set_title(logo.hit, loc="right", fontsize=7, color=colour, y=1.0,
                         fontweight="bold" if logo.ground_truth else "normal")
            for spine in ax.spines.values():
                spine.set_visible(logo.ground_truth)
        self.figure.suptitle(grid.title, fontsize=10)
        self.figure.savefig(path, metadata={_DIGEST_FIELD: digest})


class _Painter:
    """Draws grids, keeping the last figure for the next grid of the same shape."""

    def __init__(self, dpi: float):
        self.dpi = dpi
        self.figure: _GridFigure | None = None
        self.shape: tuple[int, int] | None = None

    def draw(self, grid: LogoGrid, path: Path, digest: str) -> None:
        """Draw ``grid`` into ``path``."""
        shape = _grid_shape(len(grid.logos))
        if shape != self.shape:
            self.figure, self.shape = _GridFigure(*shape, self.dpi), shape
        self.figure.draw(grid, path, digest)


def serve_drawing_jobs(argv: list[str]) -> None:
    """Be a drawing process: draw the jobs read from standard input; an error goes to standard output, pickled."""
    dpi, jobs = pickle.load(sys.stdin.buffer)
    painter = _Painter(dpi)
    try:
        for job in jobs:
            painter.draw(*job)
    except Exception as err:
        pickle.dump(err, sys.stdout.buffer)


def _draw_in_processes(jobs: list[tuple[LogoGrid, Path, str]], dpi: float, processes: int) -> None:
    """Draw ``jobs`` in fresh Python processes, dealt in turn, so that each gets as many large grids.

    Fresh interpreters (:func:`keras_motifs._runtime.start_fresh_python`), not
    :mod:`multiprocessing`. A process whose caller has ended stops at its next image,
    its folder being gone.
    """
    children = [start_fresh_python("keras_motifs.report.logos", "serve_drawing_jobs", stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE) for _ in range(processes)]
    try:
        for i, child in enumerate(children):
            with contextlib.suppress(BrokenPipeError):  # a process that could not start says why below
                pickle.dump((dpi, jobs[i::processes]), child.stdin)
                child.stdin.flush()
        for child in children:
            error, log = child.communicate()
            if error:
                raise pickle.loads(error)
            if child.returncode != 0:
                raise RuntimeError(f"a process drawing logos failed (exit status {child.returncode}): "
                                   f"{log.decode(errors='replace')[-2000:]}")
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def draw_grids(
    grids: Sequence[tuple[LogoGrid, Path]],
    dpi: float,
    previous: Path | None = None,
    processes: int | None = None,
) -> int:
    """Write each grid as a PNG image, reusing the images of an earlier report drawn from the same inputs.

    Parameters
    ----------
    grids : sequence of (LogoGrid, Path)
        Each grid and the file to write it to (its folder exists).
    dpi : float
        Resolution.
    previous : Path, optional
        A folder of earlier images: one with the file's name that was drawn from the
        same grid (by the digest in its metadata) is copied. Default is None: draw all.
    processes : int, optional
        Processes to draw in; 1 draws in this one. Default is None: one per usable
        CPU (at most 8), if each has at least four grids to draw.

    Returns
    -------
    int
        The number of grids drawn; the others were copied.
    """
    jobs = []
    for grid, path in grids:
        digest = grid_digest(grid, dpi)
        if previous is not None and _drawn_from(previous / path.name) == digest:
            shutil.copyfile(previous / path.name, path)
        else:
            jobs.append((grid, path, digest))
    # The largest first (the processes finish together), grids of one size one after another (one figure each).
    jobs.sort(key=lambda job: len(job[0].logos), reverse=True)
    if processes is None:
        processes = min(usable_cpus(), _MAX_PROCESSES, len(jobs) // _GRIDS_PER_PROCESS)
    if processes <= 1:
        painter = _Painter(dpi)
        for job in jobs:
            painter.draw(*job)
    else:
        _draw_in_processes(jobs, dpi, processes)
    return len(jobs)
