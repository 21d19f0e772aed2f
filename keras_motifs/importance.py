"""Which filters matter, and for which class: filter importance by ablation.

Matching a filter to JASPAR says what it looks like, not whether the network uses
it. Here each filter of a layer is ablated in turn (its activations replaced by a
constant: their mean over the data, or zero) and the model's loss and AUROC are
measured per class, on labelled data.

Any layer that :mod:`keras_motifs.probe.layer` can read, of any model it can read, is
ablated the same way: one forward pass per batch records the output of every layer
call that completes before the layer's feature map; then, per group of filters, the
model runs again with those calls replaced by their recorded outputs (so the work
before the layer is done once per batch, whatever the number of filters) and the
feature map replaced by its ablated copies, one per filter, stacked along the batch.
That second pass is a Keras model of its own whose inputs are the recorded outputs,
so Keras compiles it as it compiles ``predict``; the copies are made inside it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
import pandas as pd

from keras_motifs.errors import KerasMotifsError, KerasMotifsWarning
from keras_motifs.io.files import atomic_file
from keras_motifs.probe.calls import wrapped_calls
from keras_motifs.probe.inputs import SequenceInputs
from keras_motifs.probe.layer import LayerProbe, probe_layer
from keras_motifs.probe.paths import find_layer, layer_paths
from keras_motifs.probe.trace import ELEMENTWISE_TYPES
from keras_motifs.training import auroc

__all__ = ["ABLATIONS", "filter_importance", "write_importance"]

#: How a filter's activations are replaced: by their mean over the data, or by zero.
ABLATIONS = ("mean", "zero")
#: Probabilities are clipped to [EPSILON, 1 - EPSILON] in the cross-entropy, as Keras does.
EPSILON = 1e-7
#: Memory for one group of ablated feature maps (filters x batch x positions x filters).
GROUP_BYTES = 256 * 2**20


@dataclass
class _Replay:
    """Wrapped layer calls that record a forward pass up to a feature map, then replay it ablated."""

    model: keras.Model
    probe: LayerProbe
    num_filters: int = 0
    cache: dict = field(default_factory=dict)
    replaying: bool = False
    ablated: object = None
    ablate: Callable | None = None  # ablates a later call's output of the read layer the same way

    def __post_init__(self):
        path = find_layer(self.model, self.probe.path)[0]
        self._own = {id(layer) for name, layer in layer_paths(self.model).items()  # the layer and its sublayers
                     if name == path or name.startswith(path + "/")}
        self._ablated_calls: set[int] = set()
        self._counts: dict[int, int] = {}
        self._done = False
        self._needed: set = set()  # recorded outputs that layers after the feature map consume
        self._outside: set = set()  # tensors the recorded calls take that no recorded call made: the inputs
        self._inputs_needed = False  # whether a layer after the feature map takes them too

    def wrap(self, layer):
        """The wrapper of one layer's ``call``."""
        read = layer is self.probe.read_layer

        def wrap_call(call):
            def wrapped(*args, **kwargs):
                key = (id(layer), self._counts.get(id(layer), 0))
                self._counts[id(layer)] = key[1] + 1
                if self.replaying:
                    if read and key[1] == 0:
                        return self.ablated
                    if read and key[1] in self._ablated_calls:  # the layer's call on the other strand
                        return self.ablate(call(*args, **kwargs))
                    if key in self.cache:
                        return self.cache[key]
                    return call(*args, **kwargs)
                consumed = {id(t) for t in keras.tree.flatten((args, kwargs))}
                carries = self._carries_feature_map(layer, key, consumed, read)
                if self._done:
                    self._needed |= {self._keys[i] for i in consumed if i in self._keys}
                    self._inputs_needed |= bool(consumed & self._outside)
                else:
                    self._outside |= consumed - set(self._keys)
                output = call(*args, **kwargs)
                if carries:
                    tensors = keras.tree.flatten(output)
                    self._kept.extend(tensors)  # so that no id is reused while the pass runs
                    self._from_layer |= {id(t) for t in tensors}
                if not self._done:
                    self.cache[key] = output
                    self._keys[id(output)] = key
                    self._done = read
                return output

            return wrapped

        return wrap_call

    def _carries_feature_map(self, layer, key: tuple[int, int], consumed: set, read: bool) -> bool:
        """Whether a call's output carries the probed layer's feature map; note the read layer's later calls that do.

        A convolution shared across strands runs once per strand, and each of its calls is
        read through the same layers: those later calls are ablated too. A read layer that
        is only shared with other layers (one ReLU after every convolution of a subclassed
        model) keeps its other calls as they are.
        """
        own = id(layer) in self._own
        if read and key[1] > 0 and (own or consumed & self._from_layer):
            self._ablated_calls.add(key[1])
        return own or (isinstance(layer, ELEMENTWISE_TYPES) and bool(consumed & self._from_layer))

    def record(self, inputs) -> np.ndarray:
        """Run the model on a batch, recording every call up to the feature map; return the predictions."""
        self._ablated_calls, self._from_layer, self._kept = set(), set(), []
        self.cache, self._counts, self._done, self.replaying = {}, {}, False, False
        self._keys, self._needed, self._outside, self._inputs_needed = {}, set(), set(), False
        return _predictions(self.model(inputs, training=False))

    def feature_map(self) -> np.ndarray:
        """The recorded feature map, as stored by the layer (position axis as probed)."""
        return keras.ops.convert_to_numpy(self.cache[(id(self.probe.read_layer), 0)])

    def replay(self, inputs, filters: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Predictions with each of ``filters`` in turn set to its value of ``values``, one batch copy each."""
        copies = len(filters)
        keys = list(self.cache)
        # Outputs that only replayed layers consume stay as they are: nothing computes with them.
        data = {"cached": [_tiled(self.cache[key], copies) if key in self._needed else self.cache[key] for key in keys],
                "feature_map": self.cache[(id(self.probe.read_layer), 0)],
                "ablate": np.eye(self.num_filters, dtype=np.float32)[filters],
                "values": np.asarray(values, dtype=np.float32),
                "inputs": keras.tree.map_structure(lambda t: _tiled(t, copies), inputs) if self._inputs_needed
                else inputs}
        recorded, self._replay_keys = self.cache, keys
        try:
            predictions = _predictions(self._compiled.predict_on_batch(data))
        finally:
            self.cache, self.replaying, self.ablated, self.ablate = recorded, False, None, None
        return predictions.reshape(copies, -1, predictions.shape[-1])

    @property
    def _compiled(self) -> keras.Model:
        """The replayed forward pass as a model of its own, so that Keras compiles it like ``predict``."""
        if getattr(self, "_replay_model", None) is None:
            self._replay_model = _ReplayModel(self)
            self._replay_model.jit_compile = False
        return self._replay_model


class _ReplayModel(keras.Model):
    """Runs the user's model with recorded outputs (arguments, so a traced graph takes new ones) replayed."""

    def __init__(self, replay: _Replay):
        super().__init__(name="replay")
        self._replay = replay

    def _ablated(self, output, data):
        """Copies of an output of the read layer along the batch, copy i with filter ``ablate[i]`` set to
        ``values[i]``; an output computed from inputs that already hold the copies is ablated copy by copy."""
        ablate, values = data["ablate"], data["values"]
        copies = keras.ops.shape(ablate)[0]
        shape = [copies, 1, 1, 1]
        shape[4 - self._replay.probe.position_axis] = -1  # the filter axis of each copy
        mask = keras.ops.reshape(ablate, shape)
        rows = keras.ops.shape(data["feature_map"])[0]
        stacked = keras.ops.reshape(output, (-1, rows, *keras.ops.shape(output)[1:]))  # (1 or copies, rows, ...)
        tiled = stacked * (1 - mask) + mask * keras.ops.reshape(values, (-1, 1, 1, 1))
        return keras.ops.reshape(tiled, (-1, *keras.ops.shape(output)[1:]))

    def call(self, data):
        replay = self._replay
        replay.cache = dict(zip(replay._replay_keys, data["cached"]))
        replay.ablate = lambda output: self._ablated(output, data)
        replay.ablated, replay._counts, replay.replaying = replay.ablate(data["feature_map"]), {}, True
        try:
            return replay.model(data["inputs"], training=False)
        finally:
            replay.replaying = False


def _tiled(value, copies: int):
    """A tensor (or structure of tensors) repeated ``copies`` times along the batch axis."""
    if copies == 1:
        return value
    return keras.tree.map_structure(
        lambda t: keras.ops.tile(t, [copies] + [1] * (len(keras.ops.shape(t)) - 1)) if keras.ops.is_tensor(t)
        or isinstance(t, np.ndarray) else t, value)


def _predictions(output) -> np.ndarray:
    """A model's output as a (batch, outputs) array; several outputs are refused."""
    if isinstance(output, (list, tuple, dict)):
        raise KerasMotifsError(f"the model returns {len(output)} outputs; filter importance needs a model with one")
    predictions = keras.ops.convert_to_numpy(output)
    return predictions.reshape(len(predictions), -1)


def _cross_entropy(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Binary cross-entropy per class (last axis), averaged over sequences (second-last axis)."""
    p = np.clip(p, EPSILON, 1 - EPSILON)
    return -(y * np.log(p) + (1 - y) * np.log1p(-p)).mean(axis=-2)


def _check_labels(y, model: keras.Model, outputs: int, n: int) -> np.ndarray:
    """Labels as a float (n, outputs) array of 0 and 1."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or len(y) != n:
        raise KerasMotifsError(f"y has shape {y.shape}, expected ({n}, {outputs}): one row per sequence")
    if y.shape[1] != outputs:
        raise KerasMotifsError(
            f"y has {y.shape[1]} columns but model {model.name!r} has {outputs} outputs; "
            "give one label column per output"
        )
    if not np.isin(y, (0, 1)).all():
        raise KerasMotifsError("y holds values other than 0 and 1; filter importance needs binary labels")
    return y


def filter_importance(
    model: keras.Model,
    x,
    y,
    layer: str | int | None = None,
    class_names: list[str] | None = None,
    ablation: str = "mean",
    batch_size: int = 256,
    sequence_input: str | int | None = None,
) -> pd.DataFrame:
    """How much the model gets worse, per class, when each filter of a layer is ablated.

    Parameters
    ----------
    model : keras.Model
        Any Keras model that :func:`keras_motifs.filters.extract_filters` reads (Sequential,
        functional, subclassed, nested; several inputs), with one output of
        probabilities (sigmoid or softmax).
    x : array, list or dict of arrays
        The model's inputs as ``model.fit`` takes them, e.g. the test set.
    y : array
        Binary labels, shape=(n, outputs).
    layer : str or int, optional
        The layer whose filters are ablated, named as for ``extract_filters``.
        Default is None: the first convolution that runs.
    class_names : list of str, optional
        One name per output. Default is None: ``class0``, ``class1``...
    ablation : str
        What replaces a filter's activations: ``"mean"`` (their mean over ``x``, all
        positions) or ``"zero"``. Default is "mean".
    batch_size : int
        Sequences per forward pass. Default is 256.
    sequence_input : str or int, optional
        Which input holds the sequences, for a model with several. Default is None.

    Returns
    -------
    pandas.DataFrame
        One row per filter: ``filter`` (``filter0``... as in the MEME files),
        ``layer``, ``importance`` (the increase of the binary cross-entropy averaged
        over classes), ``top_class`` (the class whose loss increases most; empty when
        ablating the filter raises no class's loss), then per
        class its loss increase (a column named after the class), then per class
        ``auroc_drop:<class>`` (baseline AUROC minus ablated AUROC; NaN when the
        data holds one label value only for that class). ``attrs["baseline"]`` holds
        the unablated loss and AUROC per class.

    Raises
    ------
    KerasMotifsError
        The layer cannot be read (the extraction's message), ``y`` does not have
        one binary column per output, or the outputs are not probabilities.
    """
    if ablation not in ABLATIONS:
        raise KerasMotifsError(f"ablation must be one of {', '.join(ABLATIONS)}, got {ablation!r}")
    inputs = SequenceInputs(model, x, sequence_input)
    probe = probe_layer(model, layer, inputs)
    n = len(inputs)
    replay = _Replay(model, probe)
    wrappers = {id(lay): (lay, replay.wrap(lay)) for lay in layer_paths(model).values()}
    with wrapped_calls(wrappers):
        baseline, sums = [], 0.0
        for start in range(0, n, batch_size):
            baseline.append(replay.record(inputs.model_inputs(start, start + batch_size)))
            sums = sums + replay.feature_map().sum(axis=(0, probe.position_axis), dtype=np.float64)
        baseline = np.concatenate(baseline)
        y = _check_labels(y, model, baseline.shape[1], n)
        if not np.isfinite(baseline).all() or baseline.min() < 0 or baseline.max() > 1:
            raise KerasMotifsError(
                f"model {model.name!r} outputs NaN or values outside [0, 1]; the loss figures assume probabilities "
                "(a sigmoid or softmax output)"
            )
        num_filters = len(sums)
        constants = sums / (n * probe.positions) if ablation == "mean" else np.zeros(num_filters)
        ablated = np.empty((num_filters, n, baseline.shape[1]), dtype=np.float32)
        replay.num_filters = num_filters  # known once the first pass has seen the feature map
        map_bytes = 4 * probe.positions * num_filters  # one sequence's feature map
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            batch = inputs.model_inputs(start, stop)
            replay.record(batch)
            group = max(1, min(num_filters, GROUP_BYTES // (map_bytes * (stop - start))))
            for first in range(0, num_filters, group):
                filters = np.arange(first, min(first + group, num_filters))
                ablated[filters, start:stop] = replay.replay(batch, filters, constants[filters])
    return _table(y, baseline, ablated, probe.path, class_names)


def _table(y: np.ndarray, baseline: np.ndarray, ablated: np.ndarray, layer: str,
           class_names: list[str] | None) -> pd.DataFrame:
    """The importance table of predictions with and without each filter."""
    names = list(class_names) if class_names is not None else [f"class{k}" for k in range(y.shape[1])]
    if len(names) != y.shape[1]:
        raise KerasMotifsError(f"{len(names)} class names given for {y.shape[1]} outputs")
    loss = _cross_entropy(y, baseline)
    area = auroc(y, baseline)
    if np.isnan(area).any():
        missing = [name for name, value in zip(names, area) if np.isnan(value)]
        warnings.warn(f"AUROC drops are NaN for {', '.join(missing)}: the data holds one label value only for "
                      "these classes (too few sequences?)", KerasMotifsWarning, stacklevel=3)
    increase = _cross_entropy(y[None], ablated) - loss
    drop = np.stack([area - auroc(y, p) for p in ablated])
    table = pd.DataFrame({"filter": [f"filter{k}" for k in range(len(ablated))], "layer": layer,
                          "importance": increase.mean(axis=1),
                          "top_class": [names[k] if row[k] > 0 else "" for k, row in zip(increase.argmax(axis=1),
                                                                                         increase)]})
    table = pd.concat([table, pd.DataFrame(increase, columns=names),
                       pd.DataFrame(drop, columns=[f"auroc_drop:{name}" for name in names])], axis=1)
    table.attrs["baseline"] = {"loss": dict(zip(names, loss.tolist())), "auroc": dict(zip(names, area.tolist()))}
    return table


def write_importance(
    model_path: str | os.PathLike,
    data_path: str | os.PathLike,
    out: str | os.PathLike,
    layer: str | None = None,
    split: str = "test",
    ablation: str = "mean",
) -> pd.DataFrame:
    """Filter importance of a saved model's layer on a dataset split, written as a TSV file.

    Parameters
    ----------
    model_path : str or PathLike
        A saved Keras model (``.keras``), e.g. a run folder's ``model.keras``.
    data_path : str or PathLike
        A dataset file (see :func:`keras_motifs.data.reader.load_dataset`); its class names
        name the columns.
    out : str or PathLike
        The TSV file, written atomically: the columns of :func:`filter_importance`.
    layer : str, optional
        The layer, named as for :func:`filter_importance`. Default is None: the first
        convolution.
    split : str
        Which sequences: "train", "valid" or "test". Default is "test".
    ablation : str
        "mean" or "zero". Default is "mean".

    Returns
    -------
    pandas.DataFrame
        The table written.
    """
    from keras_motifs.data.reader import load_dataset
    from keras_motifs.filters import load_model

    dataset = load_dataset(data_path, splits=(split,))
    model = load_model(model_path)
    try:
        table = filter_importance(model, dataset.x[split], dataset.y[split], layer=layer,
                                  class_names=dataset.class_names, ablation=ablation)
    except KerasMotifsError as err:
        raise KerasMotifsError(f"{model_path} on {data_path}: {err}") from None
    with atomic_file(out) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g", na_rep="NaN")
    return table
