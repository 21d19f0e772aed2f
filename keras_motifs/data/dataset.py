"""The dataset in memory (:class:`Dataset`), its splits and the train/valid/test fractions.

The HDF5 layout (keys, shapes, attributes) is described in ``docs/design.md`` and owned by
this subpackage: every data source writes it with :class:`keras_motifs.data.writer.DatasetWriter`
(the synthetic generator and FASTA encoding through :func:`~keras_motifs.data.writer.write_dataset`,
the DeepSEA conversion slice by slice); every consumer reads it with
:func:`~keras_motifs.data.reader.load_dataset`, or :func:`~keras_motifs.data.reader.read_class_motif_ids`
for the class motifs alone; both first call :func:`~keras_motifs.data.reader.check_dataset`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from keras_motifs.defaults import JASPAR_RELEASE
from keras_motifs.defaults import SPLITS as SPLITS  # a dataset's splits, named where the command line can read them
from keras_motifs.errors import KerasMotifsError

GROUND_TRUTH_FIELDS = ("sequence", "matrix", "strand", "start", "class_index")


DEFAULT_SPLIT = (0.7, 0.1, 0.2)


@dataclass
class Dataset:
    """One-hot sequences, multi-hot labels and metadata of a train/valid/test split.

    Parameters
    ----------
    x : dict of str to numpy.ndarray
        Per split, one-hot sequences, shape=(n, length, 4), columns A, C, G, T.
    y : dict of str to numpy.ndarray
        Per split, multi-hot labels, shape=(n, num_classes), uint8.
    class_names : list of str
        Label names in column order.
    class_motif_ids : dict of str to list of str
        Per class, the JASPAR base IDs that count as its motif when scoring filters.
    source : str
        ``"synthetic"``, ``"deepsea"`` or ``"fasta"``.
    parameters : dict
        How the data was made (generator or conversion options).
    ground_truth : dict of str to dict, optional
        Per split, the planted motifs: arrays ``sequence``, ``matrix``, ``strand``,
        ``start``, ``class_index``, one entry per planted motif. Synthetic data only.
    jaspar_release : str
        JASPAR release the class motifs refer to. Default is "JASPAR2016".
    """

    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    class_names: list[str]
    class_motif_ids: dict[str, list[str]]
    source: str
    parameters: dict
    ground_truth: dict[str, dict[str, np.ndarray]] | None = None
    jaspar_release: str = JASPAR_RELEASE
    path: Path | None = field(default=None, compare=False)

    @property
    def input_length(self) -> int:
        """Sequence length L."""
        return self.x["train"].shape[1]

    @property
    def num_classes(self) -> int:
        """Number of label columns K."""
        return len(self.class_names)


def check_split(split: Sequence[float]) -> None:
    """Refuse train/valid/test fractions that are not three positive numbers summing to 1.

    Parameters
    ----------
    split : sequence of float
        Fractions of train, valid and test.
    """
    if len(split) != 3 or any(f <= 0 for f in split) or abs(sum(split) - 1) > 1e-6:
        raise KerasMotifsError(f"split must be three positive fractions summing to 1, got {list(split)}")


def split_bounds(n: int, split: Sequence[float]) -> list[tuple[int, int]]:
    """Return the row ranges ``(lo, hi)`` of train, valid and test for ``n`` rows.

    Parameters
    ----------
    n : int
        Number of rows.
    split : sequence of float
        Fractions of train, valid and test (see :func:`check_split`); train and valid
        get the rounded shares, test the rest.

    Returns
    -------
    list of tuple of int
    """
    n_train = int(round(split[0] * n))
    n_valid = int(round(split[1] * n))
    return [(0, n_train), (n_train, n_train + n_valid), (n_train + n_valid, n)]


def split_rows(n: int, split: Sequence[float], rng: np.random.Generator) -> list[np.ndarray]:
    """Return the rows of train, valid and test: a random permutation of ``n`` rows cut by :func:`split_bounds`.

    The one split of a single pool of sequences: the synthetic generator and FASTA
    encoding both call it, so that the same generator state gives the same splits.

    Parameters
    ----------
    n : int
        Number of rows.
    split : sequence of float
        Fractions of train, valid and test (see :func:`check_split`).
    rng : numpy.random.Generator
        Draws the permutation (one call of ``rng.permutation(n)``).

    Returns
    -------
    list of numpy.ndarray
        Row indices of train, valid and test, in their order in each split.
    """
    permutation = rng.permutation(n)
    return [permutation[lo:hi] for lo, hi in split_bounds(n, split)]
