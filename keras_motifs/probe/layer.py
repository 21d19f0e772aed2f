"""Probe any Keras model: find a layer, read its feature map, measure the input window of its positions.

Users' models come in every style: Sequential with or without ``keras.Input``,
functional, subclassed, nested sub-models, several inputs, channels-first. This
module treats them alike by running the model instead of reading its layer list:

- A layer is named by a path through nested models and blocks (``"stem/conv1"``),
  by a plain name that is unique in the model, or by its index in
  ``model.layers``.
- One forward pass, with every layer's ``call`` wrapped, records the order in
  which layers run: ``layer=None`` is the first convolution to run, and a
  convolution is read after the batch-norm and activation layers that consume it.
- A feature map is read by running the model until the layer returns, then
  stopping.
- A layer's window is measured, not derived: each input position is changed in
  turn, on random sequences, and the feature-map positions that move are
  recorded. Meanwhile every trainable weight is replaced by a random non-zero
  value (restored exactly afterwards), so that the window is the graph's: no
  weight that is zero or near it (a residual branch whose last batch-norm starts
  at gamma 0, a kernel left at zero) hides a position the architecture sees,
  untrained or trained. The layer is readable when every position depends on a fixed window
  (dilation gaps included) that moves by a fixed stride; that window is then the
  receptive field exactly, whatever layers lie before it. A pooling layer is
  found upstream by perturbing its output and watching the layer move.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import keras

from keras_motifs.errors import KerasMotifsError, KerasMotifsWarning
from keras_motifs.probe.calls import forward, structural_weights
from keras_motifs.probe.inputs import SequenceInputs
from keras_motifs.probe.paths import find_layer
from keras_motifs.probe.trace import bases_reason
from keras_motifs.probe.window import Probing, Window


@dataclass
class LayerProbe:
    """A layer of a model whose feature map can be read as motifs.

    Attributes
    ----------
    model : keras.Model
    path : str
        The layer as the user named it (its path in the model).
    read_path : str
        The layer whose output is read: the layer itself, a ``ConvBlock``'s
        activation, or the last batch-norm/activation layer after a convolution.
    window : Window
        The measured input window of each position.
    positions : int
        Positions of the feature map.
    note : str
        What to know when reading it, e.g. that it mixes both strands of a shared
        convolution; empty when nothing.
    """

    model: keras.Model
    path: str
    read_path: str
    window: Window
    positions: int
    read_layer: keras.layers.Layer
    position_axis: int
    note: str = ""

    def feature_map(self, inputs):
        """The feature map of a batch of model inputs, a backend tensor, shape=(batch, positions, filters)."""
        output = forward(self.model, inputs, [self.read_layer], to_numpy=False)[0]
        return output if self.position_axis == 1 else keras.ops.transpose(output, (0, 2, 1))


def probe_layer(model: keras.Model, layer: str | int | None, inputs: SequenceInputs) -> LayerProbe:
    """Resolve a layer, check that its outputs have a fixed input window, and measure that window.

    Parameters
    ----------
    model : keras.Model
        Any Keras model: Sequential, functional or subclassed, nested or not.
    layer : str, int or None
        A path (``"stem/conv1"``), a unique plain name, an index in
        ``model.layers``, or None for the first convolution that runs whose
        filters combine the four bases (a depthwise convolution of the sequence
        is passed over).
    inputs : SequenceInputs
        The data the layer will be read on (its first row completes the other
        inputs of a model with several).

    Returns
    -------
    LayerProbe

    Raises
    ------
    KerasMotifsError
        When the layer does not exist or does not run, or its outputs do not
        depend on a fixed window of the sequence (pooling before it, recurrent or
        attention layers, upsampling, no positions), or its filters do not combine
        the four bases (a depthwise convolution of the sequence); the message
        names what can be read instead.

    Warns
    -----
    KerasMotifsWarning
        When the layer combines the calls of a layer run several times per pass
        (one convolution on both strands): its motifs may mix a motif with its
        reverse complement (``LayerProbe.note``).
    """
    probing = Probing(model, inputs)
    with structural_weights(model):
        if layer is None:
            first = probing.first_motif_convolution()
            if first is None:
                raise KerasMotifsError(f"model {model.name!r} has no convolution whose filters combine the four "
                                       "bases; name the layer to read")
            path, chosen = probing.calls[first].path, probing.calls[first].layer
        else:
            path, chosen = find_layer(model, layer)
        if id(chosen) not in probing.index:
            raise KerasMotifsError(f"layer {path!r} does not run in a forward pass of model {model.name!r}")
        read = probing.read_call(probing.index[id(chosen)])
        index = probing.index[id(read.layer)]
        window, axis = probing.readable(index)
        instead, note = "", ""
        if isinstance(window, str):
            instead = probing.instead(index)
        elif axis and (seen := probing.bases_seen({index: axis})[index]) < 4:
            window, instead = bases_reason(seen), probing.combining_after(index)
        else:
            note = probing.shared_notes([index]).get(index, "")
    if isinstance(window, str):
        raise KerasMotifsError(f"outputs of {path!r} {window}, so its filters cannot be read as motifs{instead}")
    if note:
        warnings.warn(f"{path!r} {note}", KerasMotifsWarning, stacklevel=2)
    positions = keras.ops.shape(read.output)[axis]
    return LayerProbe(model, path, read.path, window, positions, read.layer, axis, note)


def readable_conv_layers(model: keras.Model, inputs: SequenceInputs) -> list[str]:
    """Paths of the convolutions, in the order they run, whose filters have a fixed window and combine the
    four bases.

    For cnn-25 that is ``conv1``; for cnn-1 (no pool after the first layer)
    ``conv1`` and ``conv2``; for cnn-1-1-100 all three.
    """
    probing = Probing(model, inputs)
    convs = probing.convolutions()
    reads = [probing.index[id(probing.read_call(i).layer)] for i in convs]
    with structural_weights(model):
        windows = probing.windows(reads)
        mixed = probing.mixed_before(reads)
        fixed = {r: windows[r][1] for r in reads if isinstance(windows[r][0], Window) and r not in mixed}
        seen = probing.bases_seen(fixed) if fixed else {}
    return [probing.calls[i].path for i, r in zip(convs, reads) if seen.get(r) == 4]




# ---------------------------------------------------------------- describing a model
