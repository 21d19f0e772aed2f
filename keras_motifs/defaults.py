"""Defaults shared by the package, the command line, the sweep profiles and the pipeline.

Each default lives here once; modules, the CLI's options and the ``run`` profiles
take it from here, and ``tests/test_pipeline.py`` checks ``nextflow.config`` and
``nextflow_schema.json`` against it. Light to import: the command line builds its
options from it without loading Keras.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

from keras_motifs._renamed import renamed_keys
from keras_motifs.errors import KerasMotifsError, check_integer

#: JASPAR release of the database and of the synthetic motifs (the paper's).
JASPAR_RELEASE = "JASPAR2016"
#: A dataset's splits, in their order.
SPLITS = ("train", "valid", "test")
#: Size of the synthetic dataset (the paper's).
NUM_SEQS, LENGTH = 25000, 200
#: Tomtom E-value threshold of a match (the paper's ``-evalue -thresh 0.1``).
EVALUE_THRESHOLD = 0.1
#: Tomtom engines: memelite in-process, the MEME suite's ``tomtom`` binary.
ENGINES = ("memelite", "meme")
#: Tomtom engine run in-process.
ENGINE = "memelite"
#: Filter-to-motif extraction methods and the fraction of a filter's largest activation a window
#: must reach: the released code's (0.5, windows weighted by activation) and the paper text's (0.7).
EXTRACTION_METHODS = {"code": 0.5, "paper": 0.7}
#: Values early stopping can watch, and whether higher is better.
MONITORS = {"val_loss": "min", "val_auroc": "max", "val_aupr": "max"}
#: Input positions aligned per filter by the final released code (``activation_pwm(...,
#: window=19)`` in ``1_train_synthetic.py``), for every layer of every model whatever its
#: filter width; the ``paper`` profile uses it. Elsewhere the window is the receptive field.
RELEASED_WINDOW = 19


#: A protocol field's annotation -> the values it takes from a JSON file, and how to say so.
_FIELD_TYPES = {"int": (int, "an integer"), "float": ((int, float), "a number"), "str": (str, "a name")}


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

    def check(self, where: str = "") -> Protocol:
        """Refuse a protocol that training would fail on or misread; return it.

        The one check of a protocol: :func:`keras_motifs.training.fit` and
        :func:`~keras_motifs.training.protocol_callbacks` run it, and so does a sweep's
        settings check (with ``where``, the sweep file, before its messages).
        """
        prefix = f"{where}: " if where else ""
        for name, minimum in (("epochs", 1), ("batch_size", 1), ("patience", 0), ("lr_patience", 0)):
            check_integer(getattr(self, name), f"{prefix}{name}", minimum=minimum)
        if not _is_number(self.lr) or not 0 < self.lr < math.inf:
            raise KerasMotifsError(f"{prefix}lr must be a positive number, got {self.lr!r}")
        if self.monitor not in MONITORS:
            raise KerasMotifsError(f"{prefix}monitor must be one of {', '.join(MONITORS)}, got {self.monitor!r}")
        if not _is_number(self.min_delta) or not 0 <= self.min_delta < math.inf:
            raise KerasMotifsError(f"{prefix}min_delta must be a number >= 0, got {self.min_delta!r}")
        if not _is_number(self.lr_factor) or not 0 < self.lr_factor < 1:
            raise KerasMotifsError(f"{prefix}lr_factor must be between 0 and 1, got {self.lr_factor!r}")
        return self

    def as_dict(self) -> dict:
        """The fields by name, as the sweep settings and ``config.json`` spell them."""
        return asdict(self)

    @classmethod
    def from_config(cls, config: Mapping) -> Protocol:
        """The protocol a run was trained with, read from its ``config.json``.

        Parameters
        ----------
        config : mapping
            A run's ``config.json``. One written before a field was recorded gets the value
            runs were trained with then (:data:`PROTOCOL_BEFORE_RECORDED`); a field under its
            former name (:data:`PROTOCOL_FORMER_NAMES`) is read under its name.

        Returns
        -------
        Protocol

        Raises
        ------
        KerasMotifsError
            A field without a former value is missing, or a field is not of its type (a
            ``config.json`` written by hand or by another tool).
        """
        values = {**PROTOCOL_BEFORE_RECORDED, **renamed_keys(config, PROTOCOL_FORMER_NAMES, "config.json")}
        protocol = {}
        for field in fields(cls):
            value = values.get(field.name)
            kind, what = _FIELD_TYPES[field.type]
            if isinstance(value, bool) or not isinstance(value, kind):
                raise KerasMotifsError(f"config.json: {field.name} must be {what}, got {value!r}")
            protocol[field.name] = value
        return cls(**protocol)


def one_of(choices) -> str:
    """The choices as an error message lists them: ``'code' or 'paper'``."""
    return " or ".join(repr(choice) for choice in choices)


def _is_number(value) -> bool:
    """A real number, not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


#: What runs were trained with before their ``config.json`` (or a sweep's ``sweep.json``) recorded
#: these fields of the protocol.
PROTOCOL_BEFORE_RECORDED = {"monitor": "val_loss", "min_delta": 0.0, "lr_patience": 0, "lr_factor": 0.2}
#: Former names of protocol fields: ``config.json`` recorded ``lr`` as ``learning_rate`` before.
PROTOCOL_FORMER_NAMES = {"learning_rate": "lr"}

#: The paper's protocol: Adam at 3e-4, batch 100, up to 100 epochs, early stopping on the
#: validation loss with patience 20. The defaults of ``train`` and of the pipeline.
PAPER = Protocol(epochs=100, patience=20, lr=3e-4)

#: The ``quick`` profile's: the paper's learning rate (3e-4) and patience (20, on the validation
#: loss) with batch 50 instead of 100, at most 200 epochs. Measured over seeds 1-5
#: (``benchmarks/paper_effect.py``, README): the rate decides how small-pool models learn
#: (at 1e-3 too many of cnn-4's filters matched a whole motif on 2 of 5 seeds, at 3e-4 on none);
#: the batch decides how many of a large-pool model's 30 filters learn a motif at all (at
#: batch 100, 5 and 7 of cnn-100's 30 filters matched no ground-truth motif on 2 of 5
#: seeds; batch 25 pushed cnn-4 back towards whole motifs). Best epochs were
#: 38-97 at this rate, so the cap of 200 is room, not a limit. A shorter patience was
#: measured on the same seeds (``benchmarks/stopping_rules.py``) and not taken: 15 trains
#: 6.5% fewer epochs but keeps seed 1's cnn-100 at epoch 81 instead of 97, with one filter
#: fewer matching any JASPAR motif; 10 and 5 lose more.
QUICK = Protocol(epochs=200, patience=20, lr=3e-4, batch_size=50)
