"""Filters to motifs: position probability matrices from any Keras model's 1D feature maps.

A filter's motif is read off the sequences that activate it most, aligned on the
positions where it fires (Koo & Eddy 2019). Two variants:

- ``"code"`` (the released code, the default): every position whose activation
  exceeds 0.5 x the filter's maximum over the sequences; the window centred there;
  the activation-weighted average of the windows.
- ``"paper"`` (the paper's text): one window per sequence, at its maximum, for the
  sequences whose maximum reaches 0.7 x the filter's maximum; plain counts.

The window is the layer's receptive field, measured on the model itself
(:mod:`keras_motifs.probe.layer`): the filter width for a first layer, the span of a
dilated filter, the stacked widths of a deeper layer with no pooling before it,
shifted by any cropping or padding on the way. A fixed width may be asked for
instead (``window=19``, as the final released code aligned every layer of every
model, see :func:`fixed_window`). Windows running off the sequence ends are
dropped (the released code zero-padded them). Work streams in batches with two passes (the maxima, then the
windows), so memory stays bounded whatever the number of sequences.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from keras_motifs.defaults import EXTRACTION_METHODS, one_of
from keras_motifs.errors import KerasMotifsError, check_integer
from keras_motifs.io.files import atomic_file
from keras_motifs.io.runfolder import LAYER_SUFFIXES, layer_file
from keras_motifs.motifs.meme import write_meme
from keras_motifs.motifs.ppm import Motif, consensus, trim
from keras_motifs.probe.inputs import SequenceInputs
from keras_motifs.probe.layer import LayerProbe, probe_layer, readable_conv_layers
from keras_motifs.probe.window import Window

#: Activations of the first pass are kept for the second while smaller than this.
ACTIVATION_CACHE_BYTES = 256 * 2**20


@dataclass
class LayerFilters:
    """The filters of one layer as PPMs.

    Attributes
    ----------
    layer : str
        Layer name.
    window : int
        Width of the windows aligned (the layer's receptive field, or the fixed
        width asked for).
    ppms : list of numpy.ndarray or None
        Per filter, shape=(window, 4), A, C, G, T; None for a filter that never
        activated (an explicit empty result).
    num_sites : numpy.ndarray, shape=(filters,)
        Windows aligned per filter.
    max_activation : numpy.ndarray, shape=(filters,)
        Each filter's maximum activation over the sequences.
    method : str
        ``"code"`` or ``"paper"``.
    note : str
        What to know about these motifs (the layer mixes both strands of a shared
        convolution, see :func:`keras_motifs.probe.layer.probe_layer`); empty when nothing.
    """

    layer: str
    window: int
    ppms: list
    num_sites: np.ndarray
    max_activation: np.ndarray
    method: str
    note: str = ""

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
            column is left out (:func:`keras_motifs.motifs.ppm.trim` says how this
            relates to the released code); it stays in :meth:`rows`, so it
            counts in the denominator of the match fractions. Default is 0.5.
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


def extract_filters(
    model: keras.Model,
    x,
    layer: str | int | None = None,
    method: str = "code",
    threshold: float | None = None,
    batch_size: int = 512,
    sequence_input: str | int | None = None,
    window: int | None = None,
) -> LayerFilters:
    """Build one PPM per filter of a layer from the sequences that activate it.

    Parameters
    ----------
    model : keras.Model
        Any Keras model (Sequential, functional or subclassed, nested or not)
        whose ``layer`` outputs a 1D feature map with a fixed input window.
    x : array, list or dict of arrays
        The model's inputs as ``model.fit`` takes them. The sequences are one-hot
        (A, C, G, T), shape=(n, length, 4), or (n, 4, length) for a
        channels-first model; e.g. the test set.
    layer : str or int, optional
        A path (``"stem/conv1"``), a unique layer name, or an index in
        ``model.layers``. A ``ConvBlock`` gives its activation before pooling; a
        convolution followed by batch-norm/activation layers gives their output.
        Default is None: the first convolution that runs.
    method : str
        ``"code"`` (0.5 x max, every position, activation-weighted) or ``"paper"``
        (0.7 x max, one window per sequence). Default is "code".
    threshold : float, optional
        Fraction of each filter's maximum activation to keep. Default is None:
        the method's (0.5 or 0.7).
    batch_size : int
        Sequences per forward pass. Default is 512.
    sequence_input : str or int, optional
        Which input holds the sequences, for a model with several. Default is None.
    window : int, optional
        Align windows of this many input positions, placed as the released code
        placed them (see :func:`fixed_window`). Default is None: the layer's
        measured receptive field.

    Returns
    -------
    LayerFilters
        Windows as wide as the layer's measured receptive field, or ``window``.
    """
    inputs = SequenceInputs(model, x, sequence_input)
    return read_filters(probe_layer(model, layer, inputs), inputs, method, threshold, batch_size, window)


def read_filters(
    probe: LayerProbe,
    inputs: SequenceInputs,
    method: str = "code",
    threshold: float | None = None,
    batch_size: int = 512,
    window: int | None = None,
) -> LayerFilters:
    """Align the windows that activate each filter of a probed layer (see :func:`extract_filters`).

    A caller that extracts repeatedly (the callback) probes the layer once and
    calls this each time.
    """
    if method not in EXTRACTION_METHODS:
        raise KerasMotifsError(f"unknown extraction method {method!r}; choose {one_of(EXTRACTION_METHODS)}")
    threshold = EXTRACTION_METHODS[method] if threshold is None else threshold
    if not 0 < threshold <= 1:
        raise KerasMotifsError(f"threshold must be a fraction in (0, 1], got {threshold}")
    aligned = probe.window if window is None else fixed_window(probe.window, window, inputs.length)
    width = aligned.width
    starts = aligned.starts(probe.positions)
    valid = (starts >= 0) & (starts + width <= inputs.length)
    starts = np.where(valid, starts, 0)

    def batches():
        for start in range(0, len(inputs), batch_size):
            stop = start + batch_size
            yield start, stop, probe.feature_map(inputs.model_inputs(start, stop))

    # First pass: each filter's maximum. The activations are kept for the second pass
    # while they fit in ACTIVATION_CACHE_BYTES, else computed again (bounded memory).
    ops = keras.ops
    peaks, cached, cached_bytes = None, [], 0
    for start, stop, activation in batches():
        batch_peak = ops.convert_to_numpy(ops.max(activation, axis=(0, 1)))
        peaks = batch_peak if peaks is None else np.maximum(peaks, batch_peak)
        cached_bytes += int(np.prod(activation.shape)) * 4
        if cached is not None and cached_bytes <= ACTIVATION_CACHE_BYTES:
            cached.append((start, stop, activation))
        else:
            cached = None
    cutoff = np.where(peaks > 0, threshold * peaks, np.inf).astype(np.float32)

    num_filters = len(peaks)
    counts = np.zeros((num_filters, 4, width), dtype=np.float64)  # (filter, letter, position)
    sites = np.zeros(num_filters, dtype=np.int64)
    for start, stop, activation in cached if cached is not None else batches():
        if method == "code":
            fires = ops.logical_and(ops.greater(activation, cutoff), valid[None, :, None])
            weights = ops.where(fires, activation, 0.0)
            counts += _weighted_window_sums(inputs.sequences(start, stop), weights, aligned)
            sites += ops.convert_to_numpy(ops.sum(ops.cast(fires, "int32"), axis=(0, 1)))
        else:
            activation = ops.convert_to_numpy(activation)
            # view[n, s] is the window, shape=(4, width), that starts at input position s of sequence n.
            view = np.lib.stride_tricks.sliding_window_view(inputs.sequences(start, stop), width, axis=1)
            best = activation.argmax(axis=1)  # (n, filters)
            keep = (activation.max(axis=1) >= cutoff) & valid[best]
            rows, filters = np.nonzero(keep)
            np.add.at(counts, filters, view[rows, starts[best[rows, filters]]])
            sites += keep.sum(axis=0)
    counts = counts.transpose(0, 2, 1)  # (filter, position, letter)
    ppms = [
        counts[f] / counts[f].sum(axis=1, keepdims=True) if sites[f] > 0 else None for f in range(num_filters)
    ]
    return LayerFilters(probe.path, width, ppms, sites, peaks, method, probe.note)


def fixed_window(receptive_field: Window, width: int, length: int | None = None) -> Window:
    """The window of ``width`` input positions that the released code aligned for a feature-map position.

    The released code (``activation_pwm(fmap, X, window=19)`` in deepomics) cut
    ``X[p - width // 2 : p - width // 2 + width]`` around feature-map position ``p``
    of a same-padded, unpooled convolution, whose receptive field is centred on
    ``p``: its first column is ``p - (kernel - 1) // 2``. Here the window is placed
    the same way relative to the measured receptive field: it starts ``width // 2``
    positions before the receptive field's centre column. For a width-19 filter
    and ``width=19`` it is the receptive field itself; for a width-3 filter it adds
    8 columns on each side.

    Parameters
    ----------
    receptive_field : Window
        The layer's measured window (:attr:`keras_motifs.probe.layer.LayerProbe.window`).
    width : int
        Input positions to align.
    length : int, optional
        Sequence length; a window longer than the sequences is refused. Default is None.

    Returns
    -------
    Window
        Same stride as ``receptive_field``, ``width`` wide.
    """
    check_integer(width, "window", types=(int, np.integer))
    if length is not None and width > length:
        raise KerasMotifsError(f"window of {width} positions is longer than the sequences ({length})")
    centre = receptive_field.start + (receptive_field.width - 1) // 2
    return Window(width=int(width), stride=receptive_field.stride, start=centre - int(width) // 2)


def _weighted_window_sums(sequences: np.ndarray, weights: np.ndarray, window: Window) -> np.ndarray:
    """Sum over sequences n and positions p of ``weights[n, p, f]`` times the window of position p.

    Computed as one convolution, the way a backend computes a conv kernel's gradient:
    the sequences (letters as the batch, sequences as channels) convolved with the
    weights as the kernel, dilated by the windows' stride.

    Parameters
    ----------
    sequences : numpy.ndarray, shape=(n, length, 4)
    weights : tensor, shape=(n, positions, filters)
        Zero at positions whose window runs off the sequence.
    window : Window

    Returns
    -------
    numpy.ndarray, shape=(filters, 4, width)
    """
    positions = int(weights.shape[1])
    pad_left = max(0, -window.start)
    first = pad_left + window.start  # where position 0's window starts in the padded sequences
    needed = first + window.width + window.stride * (positions - 1)
    padded = np.pad(sequences, ((0, 0), (pad_left, max(0, needed - pad_left - sequences.shape[1])), (0, 0)))
    sums = keras.ops.conv(padded.transpose(2, 1, 0), keras.ops.transpose(weights, (1, 0, 2)),
                          dilation_rate=window.stride)
    return keras.ops.convert_to_numpy(sums)[:, first : first + window.width].transpose(2, 0, 1)


def write_layer_motifs(
    model_path: str | os.PathLike,
    data_path: str | os.PathLike,
    layers: Sequence[str] | None = None,
    split: str = "test",
    method: str = "code",
    out: str | os.PathLike | None = None,
    out_dir: str | os.PathLike | None = None,
    window: int | None = None,
) -> list[Path]:
    """Extract layers' filters of a saved model on a dataset split; write MEME files and tables.

    Parameters
    ----------
    model_path : str or PathLike
        A saved Keras model (``.keras``).
    data_path : str or PathLike
        A dataset file (see :func:`keras_motifs.data.reader.load_dataset`).
    layers : sequence of str, optional
        Layer paths, names or indices, or ``["all"]`` for every convolution whose
        filters have a fixed window (see
        :func:`keras_motifs.probe.layer.readable_conv_layers`). Default is None: the
        first convolution.
    split : str
        Which sequences drive the filters. Default is "test".
    method : str
        ``"code"`` or ``"paper"``, see :func:`extract_filters`. Default is "code".
    out : str or PathLike, optional
        MEME file for a single layer; its table goes beside it as ``.filters.tsv``.
    out_dir : str or PathLike, optional
        Folder for ``<layer>.meme`` and ``<layer>.filters.tsv`` per layer.
    window : int, optional
        A fixed window for every layer (see :func:`fixed_window`). Default is
        None: each layer's receptive field.

    Returns
    -------
    list of Path
        The MEME files written.
    """
    from keras_motifs.data.reader import load_dataset

    if (out is None) == (out_dir is None):
        raise KerasMotifsError("give exactly one of out (one layer) or out_dir")
    dataset = load_dataset(data_path, splits=(split,))
    model = load_model(model_path)
    try:
        inputs = SequenceInputs(model, dataset.x[split])
    except KerasMotifsError as err:
        raise KerasMotifsError(f"{data_path} does not fit model {model_path}: {err}") from None
    names = readable_conv_layers(model, inputs) if layers and "all" in layers else list(layers or [None])
    if out is not None and len(names) != 1:
        raise KerasMotifsError(f"{out}: one MEME file holds one layer; use out_dir for {len(names)} layers")
    written = []
    for layer in names:
        result = read_filters(probe_layer(model, layer, inputs), inputs, method=method, window=window)
        if out is not None:
            meme, table = Path(out), Path(out).with_suffix(LAYER_SUFFIXES["filters"])
        else:
            meme, table = layer_file(out_dir, result.layer, "meme"), layer_file(out_dir, result.layer, "filters")
        write_meme(result.motifs(), meme)
        write_filter_table(result, table)
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
    """Load a saved Keras model for analysis, with a clear error for a missing or unreadable file.

    The model is loaded uncompiled: reading filters needs no loss, so a model trained
    with a custom loss or metric loads without it. Custom layers and subclassed models
    must be registered with Keras first (:func:`keras_motifs.usercode.import_user_code`,
    the command line's ``--import``); Keras' safe mode stays on.
    """
    path = Path(path)
    if not path.is_file():
        raise KerasMotifsError(f"{path}: model file not found")
    if path.suffix not in (".keras", ".h5"):
        raise KerasMotifsError(f"{path}: expected a saved Keras model (.keras, or legacy .h5)")
    try:
        return keras.models.load_model(path, compile=False)
    except (ValueError, OSError, TypeError, KeyError) as err:
        reason = str(err).split(". ")[0][:200]
        if "Could not locate" in reason:
            reason += "; import the module that registers it first (keras-motifs: --import MODULE_OR_FILE)"
        raise KerasMotifsError(f"{path}: cannot load a Keras model ({reason})") from None
