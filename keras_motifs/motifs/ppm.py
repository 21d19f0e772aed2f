"""Motifs as position probability matrices (PPMs).

Convention, everywhere in keras-motifs: a PPM is a float64 array of shape
``(width, 4)``, one row per position, columns in the order A, C, G, T, each row
summing to 1. This is the layout of a channels-last one-hot sequence."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from keras_motifs.errors import KerasMotifsError, check_integer

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
    # Rows already summing to 1 up to rounding are kept as they are, so that
    # as_ppm(as_ppm(x)) == as_ppm(x) bit for bit (the MEME round trip relies on it).
    exact = np.abs(sums - 1.0) <= 4 * np.finfo(np.float64).eps
    return np.where(exact[:, None], ppm, ppm / sums[:, None])


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


def _ppm_of(motif_or_ppm, what: str) -> np.ndarray:
    """Return the validated PPM of a Motif or of an array-like."""
    if isinstance(motif_or_ppm, Motif):
        return motif_or_ppm.ppm
    return as_ppm(motif_or_ppm, what=what)


def information_content(ppm) -> np.ndarray:
    """Information content of each column of a PPM, in bits.

    ``I = 2 + sum_n p(n) log2 p(n)``, with ``0 log 0 = 0``: 2 bits for a column
    certain of one letter, 0 for a uniform column.

    Parameters
    ----------
    ppm : Motif or array-like, shape=(width, 4)
        Probabilities of A, C, G, T per position.

    Returns
    -------
    numpy.ndarray, shape=(width,), dtype float64
    """
    p = _ppm_of(ppm, "information_content: ppm")
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    return 2.0 + plogp.sum(axis=1)


def trim(motif: Motif, min_ic: float = 0.5, pad: int = 0) -> Motif | None:
    """Cut the low-information flanks of a motif.

    Keeps the columns from the first to the last column whose information content
    is at least ``min_ic`` (low columns inside that span stay), widened by ``pad``
    columns on each side where the motif has them.

    With ``min_ic=0.5, pad=3`` this is ``clip_filters`` of the final released code
    (``code/helper.py``, the code of the paper's five-trial Table 1), except:

    - a motif with no column reaching ``min_ic`` gives None (its filter is left out
      of Tomtom's query), where the released code keeps it whole; so does the
      released code, through a quirk of ``index.any()``, for a motif whose only
      informative column is the first, which ``trim`` trims. Left out of the query,
      such a filter still counts in the denominator of the match fractions
      (``score`` divides by every filter of the layer's table, as the released
      scoring divided by 30), so it counts as the released scoring counted it, as a
      filter without a match, unless its whole window happened to match;
    - the released code computes information with ``log2(p + 1e-7)`` and keeps
      columns strictly above the threshold; here ``0 log 0 = 0`` and columns at the
      threshold are kept (a difference below 1e-6 bits).

    The files released with the code at commit 30b2384
    (``results/synthetic/conv_filters/*_clip.meme``) were clipped by an earlier
    rule (information of each column re-weighted as ``exp(3 p / max|p|)`` and
    renormalised); ``benchmarks/released_fidelity.py`` applies that rule only where
    it compares widths with those files.

    Parameters
    ----------
    motif : Motif
        The motif to trim.
    min_ic : float
        Information threshold in bits, between 0 and 2. Default is 0.5.
    pad : int
        Columns kept beyond the informative span on each side. Default is 0.

    Returns
    -------
    Motif or None
        The trimmed motif (same id, name and nsites), or None when no column
        reaches ``min_ic``: an uninformative filter is an outcome, not an error.
    """
    if not isinstance(motif, Motif):
        raise KerasMotifsError(f"trim: motif must be a Motif, got {type(motif).__name__}")
    if not 0.0 <= min_ic <= 2.0:
        raise KerasMotifsError(f"trim: min_ic must be between 0 and 2 bits, got {min_ic}")
    check_integer(pad, "trim: pad", minimum=0, types=(int, np.integer), requirement="a non-negative integer")
    informative = np.flatnonzero(information_content(motif.ppm) >= min_ic)
    if informative.size == 0:
        return None
    start = max(int(informative[0]) - pad, 0)
    stop = min(int(informative[-1]) + 1 + pad, motif.width)
    return Motif(id=motif.id, ppm=motif.ppm[start:stop], name=motif.name, nsites=motif.nsites)


def reverse_complement(motif: Motif) -> Motif:
    """Return the motif of the opposite strand: positions reversed, A<->T and C<->G.

    Parameters
    ----------
    motif : Motif
        A motif with columns A, C, G, T.

    Returns
    -------
    Motif
        Same id, name and nsites; ``ppm[::-1, ::-1]``.
    """
    if not isinstance(motif, Motif):
        raise KerasMotifsError(f"reverse_complement: motif must be a Motif, got {type(motif).__name__}")
    return Motif(id=motif.id, ppm=motif.ppm[::-1, ::-1], name=motif.name, nsites=motif.nsites)


def consensus(ppm) -> str:
    """The most probable letter of each column (no IUPAC codes).

    Ties go to the first letter in the order A, C, G, T, so a uniform column reads
    ``A``. This is how MEME's Tomtom writes its Query_consensus and
    Target_consensus columns.

    Parameters
    ----------
    ppm : Motif or array-like, shape=(width, 4)
        Probabilities of A, C, G, T per position.

    Returns
    -------
    str
        ``width`` letters from ``ACGT``.
    """
    p = _ppm_of(ppm, "consensus: ppm")
    return "".join(ALPHABET[i] for i in np.argmax(p, axis=1))
