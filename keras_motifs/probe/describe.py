"""``describe_model``: every layer of any Keras model, with what :func:`~keras_motifs.probe.layer.probe_layer`
measures of it."""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from keras_motifs.errors import KerasMotifsError
from keras_motifs.layers import ConvBlock
from keras_motifs.probe.calls import structural_weights
from keras_motifs.probe.inputs import SequenceInputs, declared_inputs, random_sequences
from keras_motifs.probe.paths import parent_paths
from keras_motifs.probe.trace import CONV_TYPES, bases_reason, has_filters, output_shape
from keras_motifs.probe.window import Probing, Window


@dataclass
class LayerReport:
    """One layer of a model, as :func:`describe_model` measured it.

    Attributes
    ----------
    path : str
        The layer's path.
    kind : str
        Its class name.
    output_shape : tuple
    window : Window or None
        The measured window; None when its outputs have none.
    readable : bool
        Whether its filters can be read as motifs: it has filters of its own (not a
        batch-norm, activation, padding or merging layer), their outputs have a fixed
        window with no pooling before, and they combine the four bases.
    reason : str
        Why not, when not.
    note : str
        What to know when reading it (it mixes both strands of a shared
        convolution); empty when nothing.
    """

    path: str
    kind: str
    output_shape: tuple
    window: Window | None
    readable: bool
    reason: str
    note: str = ""


@dataclass
class ModelReport:
    """Every layer of a model with its measured receptive field and stride, and which can be read as motifs."""

    model: str
    input_length: int
    layers: list[LayerReport]

    def summary(self) -> str:
        """A table of the layers, readable by a biologist."""
        width = max([len(layer.path) for layer in self.layers] + [5]) + 2
        lines = [f"Model {self.model!r} on {self.input_length}-nt sequences; RF = receptive field (nt), "
                 "stride = nt between consecutive positions.",
                 f"{'layer':<{width}}{'type':<22}{'RF':>6}{'stride':>8}  motifs"]
        for layer in self.layers:
            rf, stride = (layer.window.width, layer.window.stride) if layer.window else ("-", "-")
            verdict = "yes" if layer.readable else f"no: {layer.reason}"
            verdict += f"; note: {layer.note}" if layer.note else ""
            lines.append(f"{layer.path:<{width}}{layer.kind:<22}{rf:>6}{stride:>8}  {verdict}")
        return "\n".join(lines)


def describe_model(model: keras.Model, x=None, sequence_input: str | int | None = None,
                   length: int | None = None) -> ModelReport:
    """Measure every layer of a model: receptive field, stride, and whether it can be read as motifs.

    Parameters
    ----------
    model : keras.Model
        Any Keras model (see :func:`probe_layer`).
    x : array, list or dict of arrays, optional
        Inputs as ``model.fit`` takes them; only the first row is used. Default is
        None: random sequences of the length the model declares (other inputs zero).
    sequence_input : str or int, optional
        Which input holds the sequences, for a model with several. Default is None.
    length : int, optional
        Sequence length of the random sequences, for a model whose input length is
        not fixed. Default is None.

    Returns
    -------
    ModelReport
    """
    if x is None:
        x = _placeholder_inputs(model, sequence_input, length)
    probing = Probing(model, SequenceInputs(model, x, sequence_input))
    reads = [probing.index[id(probing.read_call(i).layer)] for i in range(len(probing.calls))]
    read_with = {}  # call index -> the convolution it is read with (a ConvBlock by its own name)
    for i, call in enumerate(probing.calls):
        if isinstance(call.layer, (*CONV_TYPES, ConvBlock)):
            block = next((parent for parent in parent_paths(call.path)
                          if isinstance(probing.paths.get(parent), ConvBlock)), call.path)
            read_with.update({j: block for j in probing.read_chain(i)[1:]})
    with structural_weights(model):
        windows = probing.windows(sorted(set(reads)))
        mixed = probing.mixed_before(sorted(set(reads)))
        fixed = {r: windows[r][1] for r in sorted(set(reads)) if isinstance(windows[r][0], Window) and r not in mixed}
        seen = probing.bases_seen(fixed) if fixed else {}
        notes = probing.shared_notes(list(fixed))
    reports = []
    for i, (call, r) in enumerate(zip(probing.calls, reads)):
        (window, axis), reason = windows[r], mixed.get(r)
        if isinstance(window, str):
            window, reason = None, window if axis == 0 else reason or window
        if reason:
            reason = f"outputs {reason}"
        elif i in read_with:
            reason = f"read as part of {read_with[i]!r} (no filters of its own)"
        elif not has_filters(call.layer):
            reason = "no filters of its own"
        elif seen[r] < 4:
            reason = f"outputs {bases_reason(seen[r])}"
        shape = output_shape(call.output)
        shape = (None, *shape[1:]) if shape is not None else ()
        reports.append(LayerReport(call.path, type(call.layer).__name__, shape, window, not reason, reason or "",
                                   notes.get(r, "") if window is not None else ""))
    return ModelReport(model.name, probing.inputs.length, reports)


def _placeholder_inputs(model: keras.Model, sequence_input: str | int | None, length: int | None):
    """Random sequences for the sequence input and zeros for the others, from the shapes the model declares
    (``length`` where the sequence length is not fixed)."""
    declared = declared_inputs(model)
    if declared is None:
        raise KerasMotifsError(f"model {model.name!r} declares no input shape; give sequences (x=) to describe it")
    names = [name for name, _ in declared]
    if len(declared) > 1 and sequence_input is None:
        raise KerasMotifsError(f"model {model.name!r} has {len(declared)} inputs ({', '.join(map(repr, names))}); "
                               "say which holds the sequences with sequence_input=")
    key = 0 if sequence_input is None else names.index(sequence_input) if sequence_input in names else sequence_input
    if not isinstance(key, int) or not 0 <= key < len(declared):
        raise KerasMotifsError(f"sequence_input {sequence_input!r} is not an input of model {model.name!r}: "
                               f"{', '.join(map(repr, names))}")
    arrays = []
    for k, (name, shape) in enumerate(declared):
        if k == key:
            channels_first = shape[-1] != 4
            fixed = shape[2] if channels_first else shape[1]
            if fixed is None and length is None:
                raise KerasMotifsError(f"input {name!r} of model {model.name!r} takes sequences of any length; "
                                       "say which length to describe it at (--length, or length=)")
            sequences = random_sequences(1, fixed or length)
            arrays.append(sequences.transpose(0, 2, 1) if channels_first else sequences)
        elif any(d is None for d in shape[1:]):
            raise KerasMotifsError(f"input {name!r} of model {model.name!r} has no fixed shape {shape}; "
                                   "give x= to describe it")
        else:
            arrays.append(np.zeros((1, *shape[1:]), dtype=np.float32))
    return arrays[0] if len(arrays) == 1 else arrays
