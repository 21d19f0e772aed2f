"""Training with a protocol (:class:`keras_motifs.defaults.Protocol`) and test-set evaluation.

Binary cross-entropy, Adam at the protocol's learning rate (the paper states 3e-4;
its released code effectively ran 1e-3), early stopping on what the protocol monitors
with the best weights kept, and optionally the learning rate cut when that value
stalls (:func:`protocol_callbacks`). Test metrics are AUROC (by ranks, :func:`auroc`, which
filter importance uses too) and AUPR (scikit-learn's) per class.
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Mapping, Sequence

import keras
import numpy as np

from keras_motifs import __version__
from keras_motifs._renamed import renamed_keywords
from keras_motifs.callbacks import MotifMatchCallback
from keras_motifs.data.dataset import Dataset
from keras_motifs.defaults import ENGINE, JASPAR_RELEASE, MONITORS, PAPER, Protocol
from keras_motifs.errors import KerasMotifsError
from keras_motifs.io.files import atomic_directory, atomic_file, scratch_directory, temporaries_in, write_json
from keras_motifs.io.runfolder import RunFolder
from keras_motifs.models import ArchitectureSpec, build_model, get_spec


def check_compatible(model: keras.Model, dataset: Dataset) -> None:
    """Fail clearly unless the model's input and output fit the dataset."""
    where = dataset.path or "dataset"
    input_shape = tuple(model.input_shape[1:])
    if input_shape[-1] != 4 or (input_shape[0] is not None and input_shape[0] != dataset.input_length):
        raise KerasMotifsError(
            f"{where}: sequences are {dataset.input_length} x 4 but model {model.name!r} expects inputs {input_shape}"
        )
    outputs = model.output_shape[-1]
    if outputs != dataset.num_classes:
        raise KerasMotifsError(
            f"{where}: labels have {dataset.num_classes} classes but model {model.name!r} has {outputs} outputs"
        )


#: Training-time metrics by name: what ``compile_model`` can add and what ``val_<name>`` monitors read.
TRAINING_METRICS = {"auroc": lambda: keras.metrics.AUC(name="auroc"),
                    "aupr": lambda: keras.metrics.AUC(curve="PR", name="aupr")}
#: Sequences one compiled execution trains on, when the backend runs several steps per call.
SEQUENCES_PER_EXECUTION = 2500


@renamed_keywords(learning_rate="lr")
def compile_model(model: keras.Model, lr: float = PAPER.lr, metrics: Sequence[str] = ("auroc", "aupr"),
                  steps_per_execution: int = 1) -> keras.Model:
    """Compile with Adam and binary cross-entropy (in place; returns the model).

    Parameters
    ----------
    model : keras.Model
    lr : float
        Adam's learning rate (``learning_rate`` before: still taken, with a warning). Default is 3e-4.
    metrics : sequence of str
        Training-time metrics, names of :data:`TRAINING_METRICS`. Each costs time at
        every step. Default is ("auroc", "aupr").
    steps_per_execution : int
        Training steps per compiled call (:func:`choose_steps_per_execution`). Default is 1.
    """
    unknown = [name for name in metrics if name not in TRAINING_METRICS]
    if unknown:
        raise KerasMotifsError(f"unknown training metric {unknown[0]!r}; choose from {', '.join(TRAINING_METRICS)}")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=lr),
        loss="binary_crossentropy",
        metrics=[TRAINING_METRICS[name]() for name in metrics],
        steps_per_execution=steps_per_execution,
    )
    return model


def monitored_metrics(monitor: str) -> tuple[str, ...]:
    """The training-time metrics a monitor reads: none for the loss, else its one metric."""
    name = monitor.removeprefix("val_")
    return (name,) if name in TRAINING_METRICS else ()


def choose_steps_per_execution(batch_size: int, steps_per_epoch: int, backend: str | None = None) -> int:
    """Training steps per compiled call: enough for :data:`SEQUENCES_PER_EXECUTION` sequences.

    Several steps per call take Python's per-step overhead away (0.67-0.8 of the epoch
    time of cnn-25 and cnn-1 on 2 CPU cores, ``benchmarks/train_speed.py``) without
    changing what is computed: the same batches in the same order. PyTorch's backend
    runs one step per call.

    Parameters
    ----------
    batch_size, steps_per_epoch : int
    backend : str, optional
        Keras backend. Default is None: the one running.
    """
    if (backend or keras.backend.backend()) == "torch":
        return 1
    return max(1, min(steps_per_epoch, -(-SEQUENCES_PER_EXECUTION // batch_size)))


def auroc(y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """AUROC per class, by ranks: equal to scikit-learn's ``roc_auc_score`` column by column, ties included.

    Mann-Whitney's form (the mean rank of the positives, ties given their average
    rank), computed for every column at once: :func:`evaluate` scores the test set
    with it, and :mod:`keras_motifs.importance` the model with each filter ablated.

    Parameters
    ----------
    y : numpy.ndarray, shape=(n, num_classes)
        Labels, 0 or 1.
    scores : numpy.ndarray, shape=(n, num_classes)
        Predictions, higher for the positive class.

    Returns
    -------
    numpy.ndarray, shape=(num_classes,)
        NaN for a class whose labels are all 0 or all 1.
    """
    from scipy.stats import rankdata

    positives = y.sum(axis=0)
    negatives = len(y) - positives
    ranks = rankdata(scores, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        areas = ((ranks * y).sum(axis=0) - positives * (positives + 1) / 2) / (positives * negatives)
    return np.where((positives > 0) & (negatives > 0), areas, np.nan)


def evaluate(model: keras.Model, x: np.ndarray, y: np.ndarray, class_names: Sequence[str],
             batch_size: int = PAPER.batch_size) -> dict:
    """Return AUROC (:func:`auroc`) and AUPR (scikit-learn's) per class and their means.

    Parameters
    ----------
    model : keras.Model
        A trained model with sigmoid outputs.
    x : numpy.ndarray, shape=(n, length, 4)
        One-hot sequences.
    y : numpy.ndarray, shape=(n, num_classes)
        Multi-hot labels.
    class_names : sequence of str
        Names of the label columns.
    batch_size : int
        Prediction batch size. Default is 100.

    Returns
    -------
    dict
        ``{"auroc": {class: v}, "aupr": {class: v}, "mean_auroc": v, "mean_aupr": v}``.
        A class with only one label value in ``y`` gets ``None`` and is left out of
        the means.

    Raises
    ------
    ValueError
        When the predictions hold NaN or infinity (as scikit-learn refused them).
    """
    from sklearn.metrics import average_precision_score

    predictions = model.predict(x, batch_size=batch_size, verbose=0)
    if not np.isfinite(predictions).all():
        raise ValueError(f"the predictions of model {model.name!r} contain NaN or infinity")
    areas = auroc(y, predictions)
    by_class, aupr = {}, {}
    for column, name in enumerate(class_names):
        truth = y[:, column]
        if truth.min() == truth.max():
            by_class[name] = aupr[name] = None
            continue
        by_class[name] = float(areas[column])
        aupr[name] = float(average_precision_score(truth, predictions[:, column]))

    def mean(values):
        present = [v for v in values.values() if v is not None]
        return float(np.mean(present)) if present else None

    return {"auroc": by_class, "aupr": aupr, "mean_auroc": mean(by_class), "mean_aupr": mean(aupr)}


def protocol_callbacks(protocol: Protocol = PAPER) -> list[keras.callbacks.Callback]:
    """The Keras callbacks of a training protocol.

    Parameters
    ----------
    protocol : Protocol
        Its ``patience`` (epochs without improvement of ``monitor`` before training
        stops; the best epoch's weights are restored), ``monitor`` (``"val_loss"``,
        lower is better, ``"val_auroc"`` or ``"val_aupr"``, higher is better),
        ``min_delta`` (the smallest change that counts as an improvement),
        ``lr_patience`` (epochs without improvement before the learning rate is
        multiplied by ``lr_factor``, ``ReduceLROnPlateau``; 0 keeps it constant).
        Default is the paper's (:data:`keras_motifs.defaults.PAPER`).

    Returns
    -------
    list of keras.callbacks.Callback
        ``EarlyStopping``, then ``ReduceLROnPlateau`` when ``lr_patience`` > 0.
    """
    protocol.check()
    patience, monitor, min_delta = protocol.patience, protocol.monitor, protocol.min_delta
    lr_patience, lr_factor = protocol.lr_patience, protocol.lr_factor
    mode = MONITORS[monitor]
    callbacks = [keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, min_delta=min_delta, patience=patience,
                                               restore_best_weights=True)]
    if lr_patience:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode=mode, min_delta=min_delta,
                                                           factor=lr_factor, patience=lr_patience, min_lr=1e-6))
    return callbacks


def fit(
    model: keras.Model,
    dataset: Dataset,
    protocol: Protocol = PAPER,
    seed: int = 0,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int | str = "auto",
) -> keras.callbacks.History:
    """Compile and train a model with a protocol's early stopping, best weights kept.

    Training computes the loss and only the metric early stopping watches (AUROC for
    ``val_auroc``, AUPR for ``val_aupr``), several steps per compiled call
    (:func:`choose_steps_per_execution`); test metrics come from :func:`evaluate`.

    Parameters
    ----------
    model : keras.Model
        Model to train, e.g. from :func:`keras_motifs.models.build_model`.
    dataset : Dataset
        Data with train and valid splits.
    protocol : Protocol
        Most epochs, Adam's learning rate, batch size, and what early stopping and the
        learning-rate schedule watch (:func:`protocol_callbacks`). Default is the
        paper's (:data:`keras_motifs.defaults.PAPER`: up to 100 epochs at 3e-4, batch
        100, patience 20 on the validation loss, a constant rate).
    seed : int
        Seeds Keras (weights, dropout, shuffling). Default is 0.
    callbacks : sequence of keras.callbacks.Callback
        More callbacks, e.g. :class:`keras_motifs.callbacks.MotifMatchCallback`.
    verbose : int or str
        Keras verbosity. Default is "auto".

    Returns
    -------
    keras.callbacks.History
        With ``best_epoch``: the epoch whose weights early stopping kept (0-based), as
        ``keras.callbacks.EarlyStopping`` counted it, and ``steps_per_execution``: the
        steps per call it trained with. The model is left compiled with one step per
        call (Adam's state kept), so that it predicts, and is saved, as before.
    """
    protocol.check()
    check_compatible(model, dataset)
    if len(dataset.x["valid"]) == 0:
        raise KerasMotifsError(f"{dataset.path or 'dataset'}: the validation split is empty")
    watching = protocol_callbacks(protocol)
    keras.utils.set_random_seed(seed)
    steps = -(-len(dataset.x["train"]) // protocol.batch_size)
    metrics = monitored_metrics(protocol.monitor)
    steps_per_execution = choose_steps_per_execution(protocol.batch_size, steps)
    compile_model(model, protocol.lr, metrics=metrics, steps_per_execution=steps_per_execution)
    history = model.fit(
        dataset.x["train"],
        dataset.y["train"],
        validation_data=(dataset.x["valid"], dataset.y["valid"]),
        epochs=protocol.epochs,
        batch_size=protocol.batch_size,
        callbacks=[*watching, *callbacks],
        verbose=verbose,
    )
    # The trained model predicts (test metrics, saved model) one step per call, as before: several
    # steps per call round some predictions differently in the last float32 bit. Adam keeps its state.
    model.compile(optimizer=model.optimizer, loss=model.loss, metrics=[TRAINING_METRICS[name]() for name in metrics])
    early_stopping = watching[0]
    history.best_epoch = early_stopping.best_epoch  # the model's weights are this epoch's
    history.steps_per_execution = steps_per_execution
    return history


def write_history(history: keras.callbacks.History, path: str | os.PathLike,
                  epoch_logs: Mapping[int, Mapping[str, float]] | None = None) -> None:
    """Write a History's per-epoch logs as CSV (``epoch`` first), atomically.

    Values that a callback logged on some epochs only (``MotifMatchCallback`` with
    ``every`` > 1) come from ``epoch_logs`` (epoch -> values) and are left empty on
    the other epochs.
    """
    epochs = list(history.epoch)
    epoch_logs = epoch_logs or {}
    extra = list(dict.fromkeys(key for values in epoch_logs.values() for key in values))
    keys = [k for k, values in history.history.items() if len(values) == len(epochs) and k not in extra] + extra
    with atomic_file(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", *keys])
        for row, epoch in enumerate(epochs):
            cells = [float(history.history[k][row]) if k not in extra else epoch_logs.get(epoch, {}).get(k, "")
                     for k in keys]
            writer.writerow([epoch, *cells])


def training_device(require_gpu: bool = False) -> str:
    """The device Keras trains on: the first GPU its backend sees, else the first CPU.

    Parameters
    ----------
    require_gpu : bool
        Refuse a machine where the backend sees no GPU: a GPU image whose CUDA
        libraries do not match its backend trains on the CPU without a word.
        Default is False.

    Returns
    -------
    str
        The device as Keras names it, e.g. ``"gpu:0"`` or ``"cpu:0"``.
    """
    devices = keras.distribution.list_devices()
    gpus = [device for device in devices if device.split(":")[0].lower() in ("gpu", "cuda")]
    if require_gpu and not gpus:
        raise KerasMotifsError(
            f"no GPU visible to the {keras.backend.backend()} backend (devices: {', '.join(devices)}); check the "
            "GPU driver and CUDA libraries and the container's GPU flag (docker --gpus all, apptainer --nv), "
            "or train without --require-gpu"
        )
    return gpus[0] if gpus else devices[0]


@renamed_keywords(motif_every="callback_every")
def train_run(
    dataset: Dataset,
    arch: str | ArchitectureSpec,
    out_dir: str | os.PathLike,
    protocol: Protocol = PAPER,
    seed: int = 0,
    trial: int = 0,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    overwrite: bool = False,
    verbose: int | str = "auto",
    callback_every: int = 0,
    jaspar_release: str = JASPAR_RELEASE,
    engine: str = ENGINE,
    require_gpu: bool = False,
) -> dict:
    """Build, train and evaluate one architecture; write a trained-run folder.

    The folder (``model.keras``, ``history.csv``, ``metrics.json``,
    ``config.json``; see ``docs/design.md``) appears whole or not at all.

    Parameters
    ----------
    dataset : Dataset
        Data, e.g. from :func:`keras_motifs.data.reader.load_dataset`.
    arch : str or ArchitectureSpec
        Registry name or spec.
    out_dir : str or PathLike
        The run folder to create.
    protocol, seed
        See :func:`fit`; ``config.json`` records every field of the protocol under its name
        (:meth:`keras_motifs.defaults.Protocol.from_config` reads it back).
    trial : int
        Trial number, recorded in the config. Default is 0.
    callbacks : sequence of keras.callbacks.Callback
        More callbacks for :func:`fit`.
    callback_every : int
        Score the first layer's filters with a
        :class:`~keras_motifs.callbacks.MotifMatchCallback` on the validation split
        after the first epoch and every this many epochs (0: no callback). Default is 0.
        Its former name ``motif_every`` still works, with a ``DeprecationWarning``.
    jaspar_release, engine : str
        The callback's database and Tomtom engine. Default is "JASPAR2016", "memelite".
    overwrite : bool
        Replace an existing folder. Default is False.
    verbose : int or str
        Keras verbosity. Default is "auto".
    require_gpu : bool
        Refuse at once, before any work, when the backend sees no GPU (see
        :func:`training_device`). Default is False. Either way ``config.json``
        records the device trained on.

    Returns
    -------
    dict
        The test metrics written to ``metrics.json``.
    """
    device = training_device(require_gpu)
    spec = get_spec(arch)
    if callback_every:
        callbacks = [*callbacks, MotifMatchCallback.for_dataset(dataset, every=callback_every,
                                                                database=jaspar_release, engine=engine)]
    keras.utils.set_random_seed(seed)
    model = build_model(spec, input_length=dataset.input_length, num_classes=dataset.num_classes)
    with atomic_directory(out_dir, overwrite=overwrite) as tmp:
        start = time.monotonic()
        history = fit(model, dataset, protocol, seed=seed, callbacks=callbacks, verbose=verbose)
        fit_seconds = time.monotonic() - start
        metrics = evaluate(model, dataset.x["test"], dataset.y["test"], dataset.class_names, protocol.batch_size)
        folder = RunFolder(tmp)
        with scratch_directory(folder.model) as scratch, temporaries_in(scratch):  # Keras' assets folder
            model.save(folder.model)
        epoch_logs: dict[int, dict[str, float]] = {}
        for callback in callbacks:  # values logged on some epochs only (MotifMatchCallback every > 1)
            for epoch, values in getattr(callback, "epoch_logs", {}).items():
                epoch_logs.setdefault(epoch, {}).update(values)
        write_history(history, folder.history, epoch_logs)
        write_json(folder.metrics, metrics)
        watched = history.history[protocol.monitor]
        write_json(
            folder.config,
            {
                "arch": spec.name,
                "spec": spec.to_dict(),
                "trial": trial,
                "seed": seed,
                **protocol.as_dict(),  # under the protocol's names: earlier versions wrote lr as learning_rate
                "epochs_run": len(watched),
                "best_epoch": history.best_epoch,
                "steps_per_execution": history.steps_per_execution,
                # as given: a resolved link would record another pipeline task's work folder
                "data": str(dataset.path) if dataset.path else None,
                "data_source": dataset.source,
                "input_length": dataset.input_length,
                "class_names": dataset.class_names,
                "callbacks": {type(c).__name__: c.get_config() if hasattr(c, "get_config") else {} for c in callbacks},
                "keras_motifs_version": __version__,
                "keras_version": keras.__version__,
                "backend": keras.backend.backend(),
                "device": device,
                # wall time of training (callbacks included; the motif callback's Tomtom runs on the CPU)
                "fit_seconds": round(fit_seconds, 3),
                "seconds_per_epoch": round(fit_seconds / max(1, len(watched)), 3),
            },
        )
    return metrics
