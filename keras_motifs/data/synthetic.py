"""The paper's synthetic dataset: JASPAR motifs planted in random sequences, labelled by the motifs' classes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from keras_motifs.data.dataset import (
    DEFAULT_SPLIT,
    GROUND_TRUTH_FIELDS,
    SPLITS,
    Dataset,
    check_split,
    split_bounds,
    split_rows,
)
from keras_motifs.defaults import JASPAR_RELEASE
from keras_motifs.errors import KerasMotifsError
from keras_motifs.motifs.jaspar import PAPER_TFS, get_motif, ground_truth_ids

#: Probabilities of planting 1, 2, 3, 4 or 5 motifs in a sequence (the paper's).
MOTIF_COUNT_PROBABILITIES = (0.50, 0.25, 0.17, 0.05, 0.03)
#: Minimum number of background positions between motifs and at the sequence ends.
MOTIF_BUFFER = 1


def _place_motifs(widths: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """Draw start positions for motifs of ``widths`` with buffers between them and the ends.

    The free positions left after the motifs and the mandatory buffers are shared
    among the n + 1 gaps uniformly at random (stars and bars), and the motifs are
    laid out in a random order.
    """
    order = rng.permutation(len(widths))
    free = length - widths.sum() - MOTIF_BUFFER * (len(widths) + 1)
    cuts = np.sort(rng.choice(free + len(widths), size=len(widths), replace=False))
    gaps = np.diff(np.concatenate([[-1], cuts])) - 1 + MOTIF_BUFFER
    starts = np.empty(len(widths), dtype=np.int64)
    position = 0
    for gap, index in zip(gaps, order):
        position += gap
        starts[index] = position
        position += widths[index]
    return starts


def _sample_one_hot(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sample each position independently from its column's distribution, as one-hot."""
    cumulative = np.cumsum(probabilities, axis=-1)
    draws = rng.random(probabilities.shape[:-1] + (1,))
    letters = np.minimum((draws > cumulative).sum(axis=-1), 3)
    return np.eye(4, dtype=np.float32)[letters]


def _plant_motifs(
    motifs: list, num_seqs: int, length: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Draw each sequence's motifs and their places; return the column distributions, labels and planted motifs.

    Returns
    -------
    probabilities : numpy.ndarray
        shape=(num_seqs, length, 4): uniform background, a motif's PPM where it is planted.
    labels : numpy.ndarray
        shape=(num_seqs, len(motifs)), uint8: which classes each sequence holds.
    planted : dict of str to numpy.ndarray
        The ground-truth fields (:data:`GROUND_TRUTH_FIELDS`), one entry per planted motif, rows of ``probabilities``.
    """
    # 2 * K matrices: each TF forward, then reverse complement; matrix i has class i % K.
    matrices = [m.ppm for m in motifs] + [m.ppm[::-1, ::-1] for m in motifs]
    num_classes = len(motifs)

    counts = rng.choice(np.arange(1, len(MOTIF_COUNT_PROBABILITIES) + 1), size=num_seqs, p=MOTIF_COUNT_PROBABILITIES)
    probabilities = np.full((num_seqs, length, 4), 0.25, dtype=np.float64)
    labels = np.zeros((num_seqs, num_classes), dtype=np.uint8)
    planted = {name: [] for name in GROUND_TRUTH_FIELDS}
    for row, count in enumerate(counts):
        chosen = rng.integers(0, len(matrices), size=count)
        widths = np.array([matrices[i].shape[0] for i in chosen])
        starts = _place_motifs(widths, length, rng)
        for matrix_index, start, width in zip(chosen, starts, widths):
            class_index = matrix_index % num_classes
            probabilities[row, start : start + width] = matrices[matrix_index]
            labels[row, class_index] = 1
            planted["sequence"].append(row)
            planted["matrix"].append(motifs[class_index].id)
            planted["strand"].append(1 if matrix_index < num_classes else -1)
            planted["start"].append(start)
            planted["class_index"].append(class_index)
    planted_arrays = {
        "sequence": np.array(planted["sequence"], dtype=np.int64),
        "matrix": np.array(planted["matrix"], dtype=object),
        "strand": np.array(planted["strand"], dtype=np.int8),
        "start": np.array(planted["start"], dtype=np.int64),
        "class_index": np.array(planted["class_index"], dtype=np.int64),
    }
    return probabilities, labels, planted_arrays


def _split_ground_truth(planted: dict[str, np.ndarray], rows: np.ndarray, num_seqs: int) -> dict[str, np.ndarray]:
    """The planted motifs of a split's ``rows``, renumbered to their rows in the split, sorted by row then start."""
    # Map original rows to their position in this split, keeping split order.
    new_position = np.full(num_seqs, -1, dtype=np.int64)
    new_position[rows] = np.arange(len(rows))
    keep = new_position[planted["sequence"]] >= 0
    entries = {key: value[keep] for key, value in planted.items()}
    entries["sequence"] = new_position[entries["sequence"]]
    order = np.lexsort((entries["start"], entries["sequence"]))
    return {key: value[order] for key, value in entries.items()}


def simulation_motifs(
    num_seqs: int,
    length: int,
    tfs: list[str] | None = None,
    jaspar_release: str = JASPAR_RELEASE,
    split: Sequence[float] = DEFAULT_SPLIT,
) -> list:
    """Check that :func:`simulate` can make a dataset of these settings; return its matrices.

    Callers that write anything before simulating (``keras-motifs run``) call this first.

    Parameters
    ----------
    num_seqs, length, tfs, jaspar_release, split
        As for :func:`simulate`.

    Returns
    -------
    list of Motif
        One JASPAR matrix per class.
    """
    tfs = list(PAPER_TFS.values()) if tfs is None else list(tfs)
    if not tfs:
        raise KerasMotifsError("tfs: give at least one JASPAR matrix ID or TF name")
    motifs = [get_motif(key, jaspar_release) for key in tfs]
    if len({m.id for m in motifs}) != len(motifs):
        raise KerasMotifsError(f"tfs: the same matrix is listed twice in {tfs}")
    check_split(split)
    max_count = len(MOTIF_COUNT_PROBABILITIES)
    longest = max(m.width for m in motifs)
    if length < max_count * longest + MOTIF_BUFFER * (max_count + 1):
        raise KerasMotifsError(
            f"length {length} cannot hold {max_count} motifs of width {longest} with buffers; "
            f"use at least {max_count * longest + MOTIF_BUFFER * (max_count + 1)}"
        )
    sizes = [hi - lo for lo, hi in split_bounds(num_seqs, split)]
    if min(sizes) < 1:
        raise KerasMotifsError(
            f"num_seqs {num_seqs} leaves a split empty (train, valid, test: {', '.join(map(str, sizes))}); "
            "use more sequences"
        )
    return motifs


def simulate(
    num_seqs: int = 25000,
    length: int = 200,
    tfs: list[str] | None = None,
    seed: int = 0,
    jaspar_release: str = JASPAR_RELEASE,
    split: tuple[float, float, float] = DEFAULT_SPLIT,
) -> Dataset:
    """Generate the paper's synthetic dataset.

    Each sequence receives 1 to 5 motifs (probabilities 0.50, 0.25, 0.17, 0.05,
    0.03), drawn uniformly with replacement from the TFs' matrices and their
    reverse complements, placed at least one position apart and away from the ends,
    in a uniform background; every position is sampled independently from its
    column's distribution. Labels mark which TFs a sequence holds.

    Parameters
    ----------
    num_seqs : int
        Number of sequences. Default is 25000.
    length : int
        Sequence length. Default is 200.
    tfs : list of str, optional
        JASPAR matrix IDs or TF names, one per class. Default is the paper's 12
        (:data:`keras_motifs.motifs.jaspar.PAPER_TFS`).
    seed : int
        Seed of the random generator: the same seed gives identical arrays.
        Default is 0.
    jaspar_release : str
        JASPAR release the matrices come from. Default is "JASPAR2016".
    split : tuple of float
        Fractions of train, valid and test after a random permutation.
        Default is (0.7, 0.1, 0.2).

    Returns
    -------
    Dataset
    """
    motifs = simulation_motifs(num_seqs, length, tfs, jaspar_release, split)
    rng = np.random.default_rng(seed)
    # The generator's draws, in this order: motifs per sequence and their places, letters, split permutation.
    probabilities, labels, planted = _plant_motifs(motifs, num_seqs, length, rng)
    x_all = _sample_one_hot(probabilities, rng)
    x, y, ground_truth = {}, {}, {}
    for name, rows in zip(SPLITS, split_rows(num_seqs, split, rng)):
        x[name] = x_all[rows]
        y[name] = labels[rows]
        ground_truth[name] = _split_ground_truth(planted, rows, num_seqs)

    class_names = [m.name for m in motifs]
    return Dataset(
        x=x,
        y=y,
        class_names=class_names,
        class_motif_ids={m.name: ground_truth_ids(m) for m in motifs},
        source="synthetic",
        parameters={
            "num_seqs": num_seqs,
            "length": length,
            "tfs": [m.id for m in motifs],
            "seed": seed,
            "split": list(split),
            "motif_count_probabilities": list(MOTIF_COUNT_PROBABILITIES),
            "motif_buffer": MOTIF_BUFFER,
            "background": [0.25, 0.25, 0.25, 0.25],
        },
        ground_truth=ground_truth,
        jaspar_release=jaspar_release,
    )
