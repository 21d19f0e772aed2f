"""Filters to motifs: position probability matrices from any Keras model's 1D feature maps.

A filter's motif is read off the sequences that activate it most, aligned on the
positions where it fires (Koo & Eddy 2019). Two variants:

- ``"code"`` (the released code, the default): every position whose activation
  exceeds 0.5 x the filter's maximum over the sequences; the window centred there;
  the activation-weighted average of the windows.
- ``"paper"`` (the paper's text): one window per sequence, at its maximum, for the
  sequences whose maximum reaches 0.7 x the filter's maximum; plain counts.

The window is the layer's receptive field: the filter width for a first layer, the
stacked widths for a deeper layer with no pooling before it. Windows running off the
sequence ends are dropped. Work streams in batches with two passes (the maxima, then
the windows), so memory stays bounded whatever the number of sequences.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import keras
import numpy as np

from keras_motifs.errors import KerasMotifsError
from keras_motifs.fileio import atomic_file
from keras_motifs.layers import ConvBlock
from keras_motifs.motifs import Motif, consensus, trim, write_meme

METHODS = {"code": 0.5, "paper": 0.7}
#: Activations of the first pass are kept for the second while smaller than this.
ACTIVATION_CACHE_BYTES = 256 * 2**20
#: Layers that only rescale or activate a conv's output, position by position.
_ELEMENTWISE = (keras.layers.BatchNormalization, keras.layers.Activation, keras.layers.ReLU,
                keras.layers.LeakyReLU, keras.layers.ELU, keras.layers.PReLU)


@dataclass
class LayerFilters:
    """The filters of one layer as PPMs.

    Attributes
    ----------
    layer : str
        Layer name.
    window : int
        Width of the windows aligned (the layer's receptive field).
    ppms : list of numpy.ndarray or None
        Per filter, shape=(window, 4), A, C, G, T; None for a filter that never
        activated (an explicit empty result).
    num_sites : numpy.ndarray, shape=(filters,)
        Windows aligned per filter.
    max_activation : numpy.ndarray, shape=(filters,)
        Each filter's maximum activation over the sequences.
    method : str
        ``"code"`` or ``"paper"``.
    """

    layer: str
    window: int
    ppms: list
    num_sites: np.ndarray
    max_activation: np.ndarray
    method: str

    @property
    def filter_ids(self) -> list[str]:
        """``filter0``, ``filter1``... one per filter, empty ones included."""
        return [f"filter{i}" for i in range(len(self.ppms))]

    def motifs(self, min_ic: float | None = 0.5, pad: int = 3) -> list[Motif]:
        """Return the non-empty filters as Motifs, trimmed as the released code did before Tomtom.

        Parameters
        ----------
        min_ic : float or None
            Trim flanks with information below this (bits), keeping ``pad``
            columns; None keeps the whole window. A filter with no informative
            column is left out. Default is 0.5.
        pad : int
            Columns kept beyond the informative span. Default is 3.
        """
        motifs = []
        for filter_id, ppm, sites in zip(self.filter_ids, self.ppms, self.num_sites):
            if ppm is None:
                continue
            motif = Motif(id=filter_id, ppm=ppm, name=self.layer, nsites=max(int(sites), 1))
            motif = trim(motif, min_ic=min_ic, pad=pad) if min_ic is not None else motif
            if motif is not None:
                motifs.append(motif)
        return motifs

    def rows(self) -> list[dict]:
        """One dict per filter: filter, layer, width, num_sites, max_activation, consensus."""
        return [
            {
                "filter": filter_id,
                "layer": self.layer,
                "width": self.window,
                "num_sites": int(sites),
                "max_activation": float(peak),
                "consensus": consensus(ppm) if ppm is not None else "",
            }
            for filter_id, ppm, sites, peak in zip(self.filter_ids, self.ppms, self.num_sites, self.max_activation)
        ]


def _layer_by_name_or_index(model: keras.Model, layer: str | int | None) -> keras.layers.Layer:
    """Resolve a layer argument; default: the first conv layer."""
    if layer is None:
        for candidate in model.layers:
            if isinstance(candidate, (ConvBlock, keras.layers.Conv1D)):
                return candidate
        raise KerasMotifsError(f"model {model.name!r} has no Conv1D layer; name the layer to read")
    if isinstance(layer, int) or (isinstance(layer, str) and layer.lstrip("-").isdigit()):
        index = int(layer)
        if not -len(model.layers) <= index < len(model.layers):
            raise KerasMotifsError(f"layer index {index} is out of range: model {model.name!r} has {len(model.layers)} layers")
        return model.layers[index]
    names = [candidate.name for candidate in model.layers]
    if layer not in names:
        raise KerasMotifsError(f"model {model.name!r} has no layer {layer!r}; layers: {', '.join(names)}")
    return model.get_layer(layer)


def _activation_output(model: keras.Model, conv: keras.layers.Layer):
    """The symbolic output of ``conv`` followed by the element-wise layers that consume it."""
    tensor = conv.output
    layers = model.layers
    for candidate in layers[layers.index(conv) + 1 :]:
        if isinstance(candidate, _ELEMENTWISE) and candidate.input is tensor:
            tensor = candidate.output
        elif candidate.input is tensor:
            break
    return tensor


def _window(model: keras.Model, chosen: keras.layers.Layer) -> tuple[int, int]:
    """Receptive field and left offset (input start = position - offset) of a layer's positions."""
    field, offset = 1, 0
    for layer in model.layers:
        if isinstance(layer, ConvBlock):
            convs = [(layer.kernel_size, "same", 1)]
            pooled = layer.pool is not None and layer is not chosen
        elif isinstance(layer, keras.layers.Conv1D):
            convs = [(layer.kernel_size[0], layer.padding, layer.strides[0] * layer.dilation_rate[0])]
            pooled = False
        elif isinstance(layer, (keras.layers.MaxPooling1D, keras.layers.AveragePooling1D)):
            convs, pooled = [], layer.pool_size[0] > 1 or layer.strides[0] > 1
        else:
            convs, pooled = [], False
        for width, padding, step in convs:
            if step != 1:
                raise KerasMotifsError(f"layer {layer.name!r} is strided or dilated; filters after it have no fixed window")
            field += width - 1
            offset += {"same": (width - 1) // 2, "causal": width - 1}.get(padding, 0)
        if layer is chosen:
            return field, offset
        if pooled:
            raise KerasMotifsError(
                f"layer {chosen.name!r} comes after pooling in {layer.name!r}: its positions are uncertain by the "
                "pool size, so its filters have no fixed window; read layers before the first pool"
            )
    return field, offset


def readable_conv_layers(model: keras.Model) -> list[str]:
    """Names of the conv layers whose filters have a fixed window: those before any pooling.

    For cnn-25 that is ``conv1``; for cnn-1 (no pool after the first layer)
    ``conv1`` and ``conv2``; for cnn-1-1-100 all three.
    """
    from keras_motifs.models import conv_layer_names

    readable = []
    for name in conv_layer_names(model):
        try:
            _window(model, model.get_layer(name))
        except KerasMotifsError:
            break
        readable.append(name)
    return readable


def feature_map_model(model: keras.Model, layer: str | int | None = None) -> tuple[keras.Model, str, int, int]:
    """A model from the sequence input to a layer's activation feature map.

    Parameters
    ----------
    model : keras.Model
        Any built Keras model with one sequence input (Sequential or functional).
    layer : str or int, optional
        Layer name or index. A ``ConvBlock`` gives its activation before pooling; a
        ``Conv1D`` followed by BatchNorm/activation layers gives their output; any
        other layer must output a 1D feature map. Default is None: the first
        conv layer.

    Returns
    -------
    tuple of (keras.Model, str, int, int)
        The feature model (outputs ``(batch, positions, filters)``), the layer
        name, its receptive field and the offset of a window's start before a
        position.
    """
    chosen = _layer_by_name_or_index(model, layer)
    if isinstance(chosen, ConvBlock):
        output = chosen.feature_map(chosen.input)
    elif isinstance(chosen, keras.layers.Conv1D):
        output = _activation_output(model, chosen)
    else:
        output = chosen.output
    if len(output.shape) != 3:
        raise KerasMotifsError(
            f"layer {chosen.name!r} outputs shape {tuple(output.shape)}, not a 1D feature map (batch, positions, filters)"
        )
    if len(model.inputs) != 1:
        raise KerasMotifsError(f"model {model.name!r} has {len(model.inputs)} inputs; filters are read from one sequence input")
    field, offset = _window(model, chosen)
    return keras.Model(model.inputs[0], output, name=f"{chosen.name}_features"), chosen.name, field, offset


def _check_sequences(model: keras.Model, x) -> np.ndarray:
    """Validate sequences against the model input."""
    x = np.asarray(x)
    expected = tuple(model.input_shape[1:])
    if x.ndim != 3 or x.shape[2] != 4:
        raise KerasMotifsError(f"sequences must be one-hot (N, length, 4), got shape {x.shape}")
    if expected[-1] != 4 or (expected[0] is not None and expected[0] != x.shape[1]):
        raise KerasMotifsError(f"sequences are {x.shape[1]} x {x.shape[2]} but model {model.name!r} expects {expected}")
    if len(x) == 0:
        raise KerasMotifsError("no sequences given")
    return x


def _window_view(x: np.ndarray, field: int, offset: int, positions: int) -> tuple[np.ndarray, np.ndarray, int]:
    """A no-copy view of every ``field``-long window of ``x``, which positions have a whole window, and the shift.

    ``view[n, p + shift]`` is the window, shape=(4, field), of feature-map position
    ``p`` of sequence ``n`` (it starts ``offset`` positions before ``p``).
    """
    length = x.shape[1]
    starts = np.arange(positions) - offset
    valid = (starts >= 0) & (starts + field <= length)
    shift = max(offset, 0)
    padded = np.pad(x, ((0, 0), (shift, field), (0, 0)))
    view = np.lib.stride_tricks.sliding_window_view(padded, field, axis=1)  # (n, L', 4, field)
    return view, valid, shift - offset


def extract_filters(
    model: keras.Model,
    x,
    layer: str | int | None = None,
    method: str = "code",
    threshold: float | None = None,
    batch_size: int = 512,
) -> LayerFilters:
    """Build one PPM per filter of a layer from the sequences that activate it.

    Parameters
    ----------
    model : keras.Model
        Any Keras model whose ``layer`` outputs a 1D feature map.
    x : array-like, shape=(n, length, 4)
        One-hot sequences (A, C, G, T), e.g. the test set.
    layer : str or int, optional
        Layer name or index. Default is None: the first conv layer.
    method : str
        ``"code"`` (0.5 x max, every position, activation-weighted) or ``"paper"``
        (0.7 x max, one window per sequence). Default is "code".
    threshold : float, optional
        Fraction of each filter's maximum activation to keep. Default is None:
        the method's (0.5 or 0.7).
    batch_size : int
        Sequences per forward pass. Default is 512.

    Returns
    -------
    LayerFilters
    """
    x = _check_sequences(model, x)
    features, name, field, offset = feature_map_model(model, layer)
    return filters_from_features(features, name, field, offset, x, method, threshold, batch_size)


def filters_from_features(
    features: keras.Model,
    name: str,
    field: int,
    offset: int,
    x: np.ndarray,
    method: str = "code",
    threshold: float | None = None,
    batch_size: int = 512,
) -> LayerFilters:
    """Align the windows that activate each filter of a feature model (see :func:`extract_filters`).

    The feature model, window and offset come from :func:`feature_map_model`; a
    caller that extracts repeatedly (the callback) builds them once.
    """
    if method not in METHODS:
        raise KerasMotifsError(f"unknown extraction method {method!r}; choose 'code' or 'paper'")
    threshold = METHODS[method] if threshold is None else threshold
    if not 0 < threshold <= 1:
        raise KerasMotifsError(f"threshold must be a fraction in (0, 1], got {threshold}")

    def batches():
        for start in range(0, len(x), batch_size):
            chunk = x[start : start + batch_size].astype(np.float32, copy=False)
            yield chunk, keras.ops.convert_to_numpy(features(chunk, training=False))

    # First pass: each filter's maximum. The activations are kept for the second pass
    # while they fit in ACTIVATION_CACHE_BYTES, else computed again (bounded memory).
    peaks, cached, cached_bytes = None, [], 0
    for chunk, activation in batches():
        batch_peak = activation.max(axis=(0, 1))
        peaks = batch_peak if peaks is None else np.maximum(peaks, batch_peak)
        cached_bytes += activation.nbytes
        if cached is not None and cached_bytes <= ACTIVATION_CACHE_BYTES:
            cached.append((chunk, activation))
        else:
            cached = None
    cutoff = np.where(peaks > 0, threshold * peaks, np.inf)

    num_filters = len(peaks)
    counts = np.zeros((num_filters, 4, field), dtype=np.float64)  # (filter, letter, position)
    sites = np.zeros(num_filters, dtype=np.int64)
    for chunk, activation in cached if cached is not None else batches():
        view, valid, shift = _window_view(chunk, field, offset, activation.shape[1])
        if method == "code":
            weights = np.where((activation > cutoff) & valid[None, :, None], activation, 0.0)
            rows, positions = np.nonzero(weights.any(axis=2))  # only positions where some filter fires
            windows = view[rows, positions + shift].reshape(len(rows), 4 * field)
            counts += (weights[rows, positions].T @ windows).reshape(num_filters, 4, field)
            sites += (weights > 0).sum(axis=(0, 1))
        else:
            best = activation.argmax(axis=1)  # (n, filters)
            keep = (activation.max(axis=1) >= cutoff) & valid[best]
            rows, filters = np.nonzero(keep)
            np.add.at(counts, filters, view[rows, best[rows, filters] + shift])
            sites += keep.sum(axis=0)
    counts = counts.transpose(0, 2, 1)  # (filter, position, letter)
    ppms = [
        counts[f] / counts[f].sum(axis=1, keepdims=True) if sites[f] > 0 else None for f in range(num_filters)
    ]
    return LayerFilters(name, field, ppms, sites, peaks, method)


def write_layer_motifs(
    model_path: str | os.PathLike,
    data_path: str | os.PathLike,
    layers: Sequence[str] | None = None,
    split: str = "test",
    method: str = "code",
    out: str | os.PathLike | None = None,
    out_dir: str | os.PathLike | None = None,
) -> list[Path]:
    """Extract layers' filters of a saved model on a dataset split; write MEME files and tables.

    Parameters
    ----------
    model_path : str or PathLike
        A saved Keras model (``.keras``).
    data_path : str or PathLike
        A dataset file (see :func:`keras_motifs.data.load_dataset`).
    layers : sequence of str, optional
        Layer names or indices, or ``["all"]`` for every conv layer with no
        pooling before it (see :func:`readable_conv_layers`). Default is None: the
        first conv layer.
    split : str
        Which sequences drive the filters. Default is "test".
    method : str
        ``"code"`` or ``"paper"``, see :func:`extract_filters`. Default is "code".
    out : str or PathLike, optional
        MEME file for a single layer; its table goes beside it as ``.filters.tsv``.
    out_dir : str or PathLike, optional
        Folder for ``<layer>.meme`` and ``<layer>.filters.tsv`` per layer.

    Returns
    -------
    list of Path
        The MEME files written.
    """
    from keras_motifs.data import load_dataset

    if (out is None) == (out_dir is None):
        raise KerasMotifsError("give exactly one of out (one layer) or out_dir")
    model = load_model(model_path)
    names = readable_conv_layers(model) if layers and "all" in layers else list(layers or [None])
    if out is not None and len(names) != 1:
        raise KerasMotifsError(f"{out}: one MEME file holds one layer; use out_dir for {len(names)} layers")
    dataset = load_dataset(data_path, splits=(split,))
    expected = model.input_shape[1]
    if expected is not None and expected != dataset.input_length:
        raise KerasMotifsError(
            f"{data_path}: sequences are {dataset.input_length} nt but model {model_path} expects {expected} nt"
        )
    written = []
    for layer in names:
        result = extract_filters(model, dataset.x[split], layer=layer, method=method)
        meme = Path(out) if out is not None else Path(out_dir) / f"{result.layer}.meme"
        write_meme(result.motifs(), meme)
        write_filter_table(result, meme.with_suffix(".filters.tsv"))
        written.append(meme)
    return written


def write_filter_table(result: LayerFilters, path: str | os.PathLike) -> None:
    """Write the per-filter table (tab-separated, one row per filter), atomically."""
    rows = result.rows()
    with atomic_file(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)


def load_model(path: str | os.PathLike) -> keras.Model:
    """Load a saved Keras model, with a clear error for a missing or unreadable file."""
    path = Path(path)
    if not path.is_file():
        raise KerasMotifsError(f"{path}: model file not found")
    if path.suffix not in (".keras", ".h5"):
        raise KerasMotifsError(f"{path}: expected a saved Keras model (.keras, or legacy .h5)")
    try:
        return keras.models.load_model(path)
    except (ValueError, OSError, TypeError, KeyError) as err:
        reason = str(err).split(". ")[0][:200]
        raise KerasMotifsError(f"{path}: cannot load a Keras model ({reason})") from None
