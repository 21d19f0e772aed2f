"""Defaults shared by the package, the command line, the sweep profiles and the pipeline.

Each default lives here once; modules, the CLI's options and the ``run`` profiles
take it from here, and ``tests/test_pipeline.py`` checks ``nextflow.config`` and
``nextflow_schema.json`` against it. Light to import: the command line builds its
options from it without loading Keras.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

#: JASPAR release of the database and of the synthetic motifs (the paper's).
JASPAR_RELEASE = "JASPAR2016"
#: Size of the synthetic dataset (the paper's).
NUM_SEQS, LENGTH = 25000, 200
#: Tomtom E-value threshold of a match (the paper's ``-evalue -thresh 0.1``).
EVALUE_THRESHOLD = 0.1
#: Tomtom engine run in-process.
ENGINE = "memelite"


@dataclass(frozen=True)
class Protocol:
    """How a model is trained.

    Attributes
    ----------
    epochs : int
        Most epochs.
    patience : int
        Epochs without improvement of ``monitor`` before training stops (best weights kept).
    lr : float
        Adam's learning rate.
    batch_size : int
    monitor : str
        What early stopping watches: ``"val_loss"``, ``"val_auroc"`` or ``"val_aupr"``.
    min_delta : float
        Smallest change of ``monitor`` that counts as an improvement.
    lr_patience : int
        Epochs without improvement before the learning rate is cut; 0 keeps it constant.
    lr_factor : float
        What the learning rate is multiplied by at each cut.
    """

    epochs: int
    patience: int
    lr: float
    batch_size: int = 100
    monitor: str = "val_loss"
    min_delta: float = 0.0
    lr_patience: int = 0
    lr_factor: float = 0.2

    def as_dict(self) -> dict:
        """The fields by name, as the sweep settings spell them."""
        return asdict(self)


#: The paper's protocol: Adam at 3e-4, batch 100, up to 100 epochs, early stopping on the
#: validation loss with patience 20. The defaults of ``train`` and of the pipeline.
PAPER = Protocol(epochs=100, patience=20, lr=3e-4)

#: The ``quick`` profile's, for a laptop: the released code's learning rate (1e-3) and early
#: stopping on the validation loss with patience 10, at most 60 epochs. Measured over seeds
#: (``benchmarks/paper_effect.py``): small-pool models lose validation loss for up to 6
#: epochs while deeper layers assemble motifs, before falling well below their first
#: minimum; large-pool models (cnn-100) still improve slowly after 35 epochs. Patience 5,
#: on the loss or on the validation AUROC, stopped both kinds half-trained on some seeds.
QUICK = Protocol(epochs=60, patience=10, lr=1e-3, monitor="val_loss", min_delta=0.0005)
