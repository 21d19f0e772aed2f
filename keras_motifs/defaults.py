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

#: The ``quick`` profile's, for a laptop: the released code's learning rate (1e-3), which
#: converges in 20-30 epochs, and early stopping on the validation AUROC, which keeps rising
#: through the early epochs in which the validation loss wanders while filters still turn
#: into motifs (stopping on the loss there kept half-trained models on some seeds).
QUICK = Protocol(epochs=35, patience=5, lr=1e-3, monitor="val_auroc", min_delta=0.002)
