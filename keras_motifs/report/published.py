"""The paper's published figures, once, with their source.

Koo PK, Eddy SR (2019) Representation learning of genomic sequence motifs with
convolutional neural networks. PLoS Comput Biol 15(12): e1007560,
https://doi.org/10.1371/journal.pcbi.1007560. Synthetic dataset, mean ± standard
deviation over 5 trials: the figures of Table 1 that the article's text states for
an architecture (the Results section names each; the paragraph is given with each
figure). Table 1's other cells are not restated in the text and are not held here
(:func:`published_figures` gives None for them): a row of the report without a
published figure shows none rather than one read off a figure or guessed.

Architectures are keras-motifs registry names (:data:`keras_motifs.models.ARCHITECTURES`);
cnn-50-2's figure is of the released network (64 second-layer filters, 96 dense
units), the one the authors trained. Layers are ``conv1``... as in a run folder.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ARCHITECTURE_NOTES", "METRICS", "PUBLISHED", "SOURCE", "Figure", "published_figures"]

#: Where the figures come from.
SOURCE = ("Koo & Eddy (2019), PLoS Comput Biol 15(12): e1007560, Table 1 as stated in the Results text "
          "(synthetic data, mean ± sd over 5 trials)")


@dataclass(frozen=True)
class Figure:
    """One published number.

    Attributes
    ----------
    mean : float
    sd : float or None
        None where the text gives the mean alone (e.g. "93%").
    where : str
        The Results paragraph that states it.
    """

    mean: float
    sd: float | None
    where: str


_POOL = "max-pooling and motif representations"
_FILTERS = "sensitivity to the number of first layer filters"
_SIZE = "sensitivity to filter size"
_ASSEMBLE = "ability to assemble whole motifs in deeper layers"
_DEEPER = "deeper layers (CNN-1, CNN-1-1-100)"

#: (architecture, layer) -> metric (``auroc``, ``match_any``, ``match_gt``) -> published figure.
PUBLISHED: dict[tuple[str, str], dict[str, Figure]] = {
    ("cnn-1", "conv1"): {"match_any": Figure(0.240, 0.083, _DEEPER), "match_gt": Figure(0.007, 0.013, _DEEPER)},
    ("cnn-1", "conv2"): {"match_any": Figure(0.900, 0.024, _DEEPER), "match_gt": Figure(0.847, 0.021, _DEEPER)},
    ("cnn-25", "conv1"): {"match_gt": Figure(0.980, 0.027, _POOL)},
    ("cnn-25-60", "conv1"): {"match_gt": Figure(0.960, 0.023, _FILTERS)},
    ("cnn-25-90", "conv1"): {"match_gt": Figure(0.909, 0.028, _FILTERS)},
    ("cnn-25-120", "conv1"): {"match_gt": Figure(0.887, 0.025, _FILTERS)},
    ("cnn9-4", "conv1"): {"match_gt": Figure(0.0, None, _SIZE)},
    ("cnn9-25", "conv1"): {"match_gt": Figure(0.93, None, _SIZE)},
    ("cnn3-2", "conv1"): {"auroc": Figure(0.968, 0.039, _SIZE)},
    ("cnn3-50", "conv1"): {"auroc": Figure(0.652, 0.060, _SIZE)},
    ("cnn-50-2", "conv1"): {"match_gt": Figure(0.90, None, _ASSEMBLE)},
    ("cnn19-1-2", "conv1"): {"match_gt": Figure(0.87, None, _ASSEMBLE)},
    ("cnn-1-1-100", "conv1"): {"match_any": Figure(0.147, 0.045, _DEEPER), "match_gt": Figure(0.0, 0.0, _DEEPER)},
    ("cnn-1-1-100", "conv2"): {"match_any": Figure(0.192, 0.022, _DEEPER), "match_gt": Figure(0.006, 0.006, _DEEPER)},
    ("cnn-1-1-100", "conv3"): {"match_any": Figure(0.927, 0.020, _DEEPER), "match_gt": Figure(0.89, 0.030, _DEEPER)},
}

METRICS = ("auroc", "match_any", "match_gt")

#: What a reader must know to compare an architecture's row with the paper.
ARCHITECTURE_NOTES: dict[str, str] = {
    "cnn-50-2": "cnn-50-2 is the network the authors released and trained (64 second-layer filters, 96 dense "
                "units, 25,712 parameters); the paper's figure is of it.",
    "cnn-50-2-samesize": "cnn-50-2-samesize is CNN-50-2 as the paper's text describes it (as many parameters as "
                         "CNN-2: 128 filters, 512 units); the authors did not train it, so no figure is published.",
}
_WIDER_FILTERS = ("The released code of cnn-25-60, -90 and -120 has 30 first-layer filters (it never varied them); "
                  "keras-motifs builds the 60, 90 and 120 of the paper's text.")
ARCHITECTURE_NOTES.update(dict.fromkeys(("cnn-25-60", "cnn-25-90", "cnn-25-120"), _WIDER_FILTERS))


def published_figures(arch: str, layer: str) -> dict[str, Figure | None]:
    """The published figures of an architecture's layer, None where none is published.

    Parameters
    ----------
    arch : str
        Registry name, e.g. ``"cnn-25"``.
    layer : str
        ``"conv1"``, ``"conv2"``...

    Returns
    -------
    dict
        ``{"auroc": ..., "match_any": ..., "match_gt": ...}``, each a :class:`Figure` or None.
    """
    row = PUBLISHED.get((arch, layer), {})
    return {metric: row.get(metric) for metric in METRICS}
