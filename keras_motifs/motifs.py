"""Motifs as position probability matrices (PPMs).

Convention, everywhere in keras-motifs: a PPM is a float64 array of shape
``(width, 4)``, one row per position, columns in the order A, C, G, T, each row
summing to 1. This is the layout of a channels-last one-hot sequence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from keras_motifs.errors import KerasMotifsError

ALPHABET = "ACGT"
ROW_SUM_TOLERANCE = 1e-3


def as_ppm(matrix, what: str = "PPM") -> np.ndarray:
    """Validate a position probability matrix and return it as float64 ``(width, 4)``.

    Parameters
    ----------
    matrix : array-like, shape=(width, 4)
        Probabilities of A, C, G, T per position.
    what : str
        How to name the matrix in an error message. Default is "PPM".

    Returns
    -------
    numpy.ndarray, shape=(width, 4), dtype float64
    """
    ppm = np.asarray(matrix, dtype=np.float64)
    if ppm.ndim != 2 or ppm.shape[1] != 4 or ppm.shape[0] == 0:
        raise KerasMotifsError(f"{what}: expected shape (width, 4) with columns A,C,G,T, got {ppm.shape}")
    if not np.all(np.isfinite(ppm)) or np.any(ppm < 0):
        raise KerasMotifsError(f"{what}: probabilities must be finite and non-negative")
    sums = ppm.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > ROW_SUM_TOLERANCE)
    if bad.size:
        raise KerasMotifsError(
            f"{what}: row {bad[0] + 1} sums to {sums[bad[0]]:.4f}, not 1 (rows must be probabilities)"
        )
    return ppm / sums[:, None]


@dataclass(frozen=True)
class Motif:
    """A named position probability matrix.

    Parameters
    ----------
    id : str
        Identifier, e.g. a JASPAR matrix ID ``"MA0466.2"`` or ``"filter12"``.
    ppm : array-like, shape=(width, 4)
        Probabilities of A, C, G, T per position; validated and stored as float64.
    name : str
        Free-text name, e.g. the TF name ``"CEBPB"``. Default is "".
    nsites : int
        Number of sites the matrix was built from. Default is 20.
    """

    id: str
    ppm: np.ndarray = field(repr=False)
    name: str = ""
    nsites: int = 20

    def __post_init__(self):
        object.__setattr__(self, "ppm", as_ppm(self.ppm, what=f"motif {self.id}"))

    @property
    def width(self) -> int:
        """Number of positions."""
        return self.ppm.shape[0]

    def __eq__(self, other):
        return (
            isinstance(other, Motif)
            and (self.id, self.name, self.nsites) == (other.id, other.name, other.nsites)
            and np.array_equal(self.ppm, other.ppm)
        )

    __hash__ = None
