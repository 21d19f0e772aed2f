"""MotifMatchCallback: watch, epoch by epoch, how many filters have become real motifs."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import keras
import numpy as np

from keras_motifs._renamed import renamed_keywords
from keras_motifs.defaults import ENGINE, EVALUE_THRESHOLD, EXTRACTION_METHODS, JASPAR_RELEASE, one_of
from keras_motifs.errors import KerasMotifsError, check_integer
from keras_motifs.filters import read_filters
from keras_motifs.motifs.jaspar import load_database
from keras_motifs.motifs.meme import write_meme
from keras_motifs.motifs.scoring import score_tomtom
from keras_motifs.motifs.tomtom import find_meme_tomtom, tomtom
from keras_motifs.probe.inputs import SequenceInputs
from keras_motifs.probe.layer import probe_layer

logger = logging.getLogger("keras_motifs")

#: Sequences of the validation split the callback uses by default.
DEFAULT_CALLBACK_SEQUENCES = 1000


class MotifMatchCallback(keras.callbacks.Callback):
    """Score a conv layer's filters against a motif database during training.

    After the first epoch, every ``every`` epochs, and at the end of training, the layer's filters are
    turned into PPMs on ``x`` (:func:`keras_motifs.filters.extract_filters`),
    compared with the database by Tomtom, and scored. The epoch logs receive
    ``motif_match_frac`` (fraction of filters matching any database motif at
    E-value <= ``evalue_threshold``) and, with ``ground_truth``, ``motif_gt_frac``
    (fraction matching one of the given TFs), so the figures reach History,
    CSVLogger and TensorBoard and can drive EarlyStopping. Epochs skipped by
    ``every`` leave the keys out of the logs, as Keras does for epochs that
    ``validation_freq`` skips: EarlyStopping then waits on scored epochs only,
    CSVLogger (which takes its columns from the first epoch, always scored) writes
    NA, and ``epoch_logs`` holds the values by epoch. One instance serves several ``fit``
    calls: its state is reset in ``on_train_begin``.

    The layer is found and its receptive field measured once, in
    ``on_train_begin``, on any model Keras builds: Sequential (with or without
    ``keras.Input``), functional, subclassed, nested; see
    :func:`keras_motifs.filters.extract_filters`.

    Args:
        x: The model's inputs as ``model.fit`` takes them, e.g. 1,000 validation
            sequences: one-hot, shape=(n, length, 4) or, for a channels-first
            model, (n, 4, length); a list or dict of arrays for a model with
            several inputs.
        layer: A layer path (``"stem/conv1"``), a unique layer name, or an index in
            ``model.layers``. Default is None: the first convolution that runs.
        sequence_input: Which input holds the sequences, for a model with several
            (a key of ``x``, an index, or an input name). Default is None.
        database: A JASPAR release name or a MEME file. Default is "JASPAR2016".
        ground_truth: TF name -> JASPAR IDs that count as that TF. Default is None.
        every: Score after the first epoch and then every this many epochs. Default is 1.
        method: Extraction method, "code" or "paper". Default is "code".
        evalue_threshold: E-value threshold of a match. Default is 0.1. Its former
            name ``thresh`` still works, with a ``DeprecationWarning``.
        engine: Tomtom engine, "memelite" or "meme". Default is "memelite".
        save_dir: If given, each scored epoch's motifs are saved there as
            ``epoch001.meme``... Default is None.

    Example:

    ```python
    callback = MotifMatchCallback(x_valid[:1000], layer="conv1d",
                                  ground_truth={"CTCF": ["MA0139"]})
    model.fit(x_train, y_train, epochs=20,
              callbacks=[callback, keras.callbacks.CSVLogger("log.csv")])
    ```
    """

    @renamed_keywords(thresh="evalue_threshold")
    def __init__(
        self,
        x,
        layer: str | int | None = None,
        sequence_input: str | int | None = None,
        database: str | os.PathLike = JASPAR_RELEASE,
        ground_truth: Mapping[str, Sequence[str]] | None = None,
        every: int = 1,
        method: str = "code",
        evalue_threshold: float = EVALUE_THRESHOLD,
        engine: str = ENGINE,
        save_dir: str | os.PathLike | None = None,
    ):
        super().__init__()
        check_integer(every, "MotifMatchCallback: every", error=ValueError)
        if method not in EXTRACTION_METHODS:
            raise ValueError(f"MotifMatchCallback: method must be {one_of(EXTRACTION_METHODS)}, got {method!r}")
        if not isinstance(x, (dict, list, tuple)):
            x = np.asarray(x, dtype=np.float32)
            if x.ndim != 3 or 4 not in x.shape[1:] or len(x) == 0:
                raise ValueError(
                    "MotifMatchCallback: x must be one-hot sequences (n, length, 4) or (n, 4, length), "
                    f"got shape {x.shape}"
                )
        self.x = x
        self.layer = layer
        self.sequence_input = sequence_input
        self.database = database
        self.ground_truth = {tf: list(ids) for tf, ids in ground_truth.items()} if ground_truth else None
        self.every = every
        self.method = method
        self.evalue_threshold = evalue_threshold
        self.engine = engine
        self.save_dir = save_dir
        self._targets = None
        self._inputs: SequenceInputs | None = None
        self._probe = None
        self.scores: list[dict] = []
        self.epoch_logs: dict[int, dict[str, float]] = {}
        self.final_score: dict | None = None

    @classmethod
    def for_dataset(cls, dataset, max_sequences: int = DEFAULT_CALLBACK_SEQUENCES, **kwargs) -> MotifMatchCallback:
        """The callback on a dataset's validation split, with its classes' motifs as ground truth.

        Parameters
        ----------
        dataset : keras_motifs.data.dataset.Dataset
            Uses up to ``max_sequences`` validation sequences and the dataset's
            ``class_motif_ids`` (when it has any) as ground truth.
        max_sequences : int
            Default is 1000.
        **kwargs
            Other arguments of the callback.
        """
        ground_truth = {tf: ids for tf, ids in dataset.class_motif_ids.items() if ids} or None
        return cls(dataset.x["valid"][:max_sequences], ground_truth=ground_truth, **kwargs)

    def get_config(self) -> dict:
        """The callback's settings (not the sequences), JSON-ready, for recording a run."""
        return {
            "num_sequences": len(self._inputs) if self._inputs is not None else _rows(self.x),
            "layer": self.layer,
            "sequence_input": self.sequence_input,
            "database": str(self.database),
            "ground_truth": self.ground_truth,
            "every": self.every,
            "method": self.method,
            "evalue_threshold": self.evalue_threshold,
            "engine": self.engine,
            "save_dir": str(self.save_dir) if self.save_dir is not None else None,
        }

    def on_train_begin(self, logs=None):
        # Once per fit: the model is built by now, whatever its style.
        if self._targets is None:
            self._targets = load_database(self.database)
        try:
            if self.engine == "meme":
                find_meme_tomtom()  # before the first epoch, not after it
            self._inputs = SequenceInputs(self.model, self.x, self.sequence_input)
            self._probe = probe_layer(self.model, self.layer, self._inputs)
        except KerasMotifsError as err:
            raise KerasMotifsError(f"MotifMatchCallback: {err}") from None
        self.scores = []
        self.epoch_logs = {}
        self.final_score = None

    def score(self, epoch: int | None = None) -> dict:
        """Extract, compare and score the layer's filters now; return the score dict."""
        result = read_filters(self._probe, self._inputs, method=self.method)
        motifs = result.motifs()
        if self.save_dir is not None and epoch is not None:
            write_meme(motifs, Path(self.save_dir) / f"epoch{epoch + 1:03d}.meme")
        table = tomtom(motifs, self._targets, engine=self.engine, thresh=self.evalue_threshold)
        score = score_tomtom(table, result.filter_ids, ground_truth=self.ground_truth,
                             target_names=self._targets, evalue_threshold=self.evalue_threshold, layer=result.layer)
        score["epoch"] = epoch
        self.scores.append(score)
        return score

    def on_epoch_end(self, epoch, logs=None):
        if epoch and (epoch + 1) % self.every:
            return
        score = self.score(epoch)
        values = {"motif_match_frac": float(score["match_any_frac"])}
        if self.ground_truth:
            values["motif_gt_frac"] = float(score["match_gt_frac"])
        self.epoch_logs[epoch] = values
        if logs is not None:
            logs.update(values)
        logger.debug("epoch %d: %s", epoch + 1, _describe(score))

    def on_train_end(self, logs=None):
        # Runs after EarlyStopping(restore_best_weights=True) when listed after it,
        # and then scores the weights the model ends with.
        self.final_score = self.score()
        logger.debug("end of training: %s", _describe(self.final_score))


def _describe(score: dict) -> str:
    """One line on a score: match fractions."""
    text = f"{score['match_any_frac']:.2f} of {score['num_filters']} filters match the database"
    if score.get("match_gt_frac") is not None:
        text += f", {score['match_gt_frac']:.2f} a ground-truth motif"
    return text


def _rows(x) -> int:
    """Rows of inputs given as an array, list or dict of arrays."""
    first = next(iter(x.values())) if isinstance(x, dict) else x[0] if isinstance(x, (list, tuple)) else x
    return len(first)
