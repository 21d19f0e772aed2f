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

import contextlib
import warnings
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping, Sequence

import keras
import numpy as np

from keras_motifs.errors import KerasMotifsError, KerasMotifsWarning
from keras_motifs.layers import ConvBlock

__all__ = ["LayerProbe", "LayerReport", "ModelReport", "SequenceInputs", "Window", "describe_model", "find_layer",
           "layer_paths", "probe_layer", "readable_conv_layers", "wrapped_calls"]

#: Layer types read as "a convolution" (``layer=None`` takes the first that runs).
CONV_TYPES = (ConvBlock, keras.layers.Conv1D, keras.layers.SeparableConv1D, keras.layers.DepthwiseConv1D)
#: Layers that rescale or activate a convolution's output position by position.
ELEMENTWISE_TYPES = (keras.layers.BatchNormalization, keras.layers.Activation, keras.layers.ReLU,
                     keras.layers.LeakyReLU, keras.layers.ELU, keras.layers.PReLU)
#: Layers whose every output can depend on the whole sequence (recurrent layers are told by ``return_sequences``).
ATTENTION_TYPES = (keras.layers.MultiHeadAttention, keras.layers.Attention, keras.layers.AdditiveAttention)
#: Random sequences whose every position is changed in turn to measure windows.
PROBE_SEQUENCES = 2
#: Size of the changes made to the other probe sequences' positions.
PROBE_AMPLITUDE = 1e6
#: An output moves when it changes by more than this fraction of the layer's largest output.
RELATIVE_TOLERANCE = 1e-6
#: Memory for one chunk of probe outputs.
PROBE_CHUNK_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Window:
    """The input window of every position of a feature map.

    Attributes
    ----------
    width : int
        Input positions from the first to the last that move the output (a dilated
        filter's span, gaps included): the receptive field.
    stride : int
        Input positions between the windows of consecutive feature-map positions.
    start : int
        Where the window of feature-map position 0 starts in the input; negative
        when it runs off the left end (padding).
    """

    width: int
    stride: int
    start: int

    def starts(self, positions: int) -> np.ndarray:
        """Input start of the window of each of ``positions`` feature-map positions."""
        return self.start + self.stride * np.arange(positions)


# ---------------------------------------------------------------- inputs


class SequenceInputs:
    """What a model is run on, with the input that holds the sequences singled out.

    Parameters
    ----------
    model : keras.Model
        The model the inputs are for.
    x : array, list of arrays or dict of arrays
        As ``model.fit`` takes them. The sequence input is one-hot, shape
        ``(n, length, 4)`` or, for a channels-first model, ``(n, 4, length)``;
        sequences in the other layout than the model declares are transposed to
        fit it (a dataset's ``(n, length, 4)`` for a channels-first model).
    sequence_input : str or int, optional
        Which input holds the sequences: a key of ``x`` (dict), an index (list),
        or an input name of the model. Default is None: the only input.
    """

    def __init__(self, model: keras.Model, x, sequence_input: str | int | None = None):
        self.model_name = model.name
        declared = _declared_inputs(model)
        if isinstance(x, Mapping):
            self.entries = {key: np.asarray(value) for key, value in x.items()}
        elif isinstance(x, (list, tuple)):
            self.entries = {index: np.asarray(value) for index, value in enumerate(x)}
        else:
            self.entries = {None: np.asarray(x)}
        self.kind = type(x) if isinstance(x, (Mapping, list, tuple)) else None
        names = [name for name, _ in declared] if declared else [str(k) for k in self.entries]
        given = list(self.entries) if isinstance(x, Mapping) else names
        if self.kind is None:
            if declared and len(declared) > 1:
                raise KerasMotifsError(
                    f"model {model.name!r} has {len(declared)} inputs ({', '.join(map(repr, names))}); give x as a "
                    "dict or list of arrays and say which holds the sequences with sequence_input="
                )
            self.key = None
        else:
            self.key = self._sequence_key(sequence_input, names, given)
        lengths = {len(value) for value in self.entries.values()}
        if len(lengths) != 1:
            raise KerasMotifsError(f"the inputs of model {model.name!r} hold different numbers of rows: {sorted(lengths)}")
        shape = _declared_shape(declared, self.key, names) if declared else None
        self.name = names[self.key] if isinstance(self.key, int) and self.key < len(names) else (self.key or names[0])
        self.channels_first = self._layout(self.entries[self.key].shape, shape)
        if len(self.entries[self.key]) == 0:
            raise KerasMotifsError(f"no sequences given for input {self.name!r} of model {model.name!r}")

    def _sequence_key(self, sequence_input, names: list[str], given: list):
        """The key of ``entries`` that holds the sequences; ``given`` names the inputs for messages."""
        if sequence_input is None:
            if len(self.entries) == 1:
                return next(iter(self.entries))
            raise KerasMotifsError(
                f"model {self.model_name!r} is given {len(given)} inputs ({', '.join(map(repr, given))}); say which "
                "holds the sequences with sequence_input="
            )
        if sequence_input in self.entries:
            return sequence_input
        if isinstance(sequence_input, str) and not issubclass(self.kind, Mapping) and sequence_input in names:
            return names.index(sequence_input)
        raise KerasMotifsError(
            f"sequence_input {sequence_input!r} is not among the inputs given to model {self.model_name!r}: "
            f"{', '.join(map(repr, given))}"
        )

    def _layout(self, shape: tuple, declared_shape: tuple | None) -> bool:
        """True when sequences are channels-first; checks the shape against the model's, and transposes
        sequences given in the other layout."""
        where = f"sequence input {self.name!r} of model {self.model_name!r}"
        if len(shape) != 3 or 4 not in shape[1:]:
            raise KerasMotifsError(f"{where} must be one-hot, shape (n, length, 4) or (n, 4, length), got {shape}")
        if declared_shape is not None:
            if len(declared_shape) != 3 or 4 not in declared_shape[1:]:
                raise KerasMotifsError(f"{where} is declared {declared_shape}, not (None, length, 4) or (None, 4, length)")
            channels_first = declared_shape[-1] != 4

            def fits(dims):
                return all(d is None or d == s for d, s in zip(declared_shape[1:], dims))

            if not fits(shape[1:]):
                if not fits(shape[:0:-1]):
                    raise KerasMotifsError(f"{where} expects {declared_shape}, got sequences of shape {shape}")
                # The other layout (a dataset is (n, length, 4); the model is channels-first): transposed to fit.
                self.entries[self.key] = np.swapaxes(self.entries[self.key], 1, 2)
            return channels_first
        return shape[-1] != 4

    def __len__(self) -> int:
        return len(self.entries[self.key])

    @property
    def length(self) -> int:
        """Sequence length."""
        shape = self.entries[self.key].shape
        return shape[2] if self.channels_first else shape[1]

    def sequences(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Sequences ``start:stop``, channels-last (n, length, 4), float32."""
        chunk = self.entries[self.key][start:stop].astype(np.float32, copy=False)
        return chunk.transpose(0, 2, 1) if self.channels_first else chunk

    def model_inputs(self, start: int = 0, stop: int | None = None, sequences: np.ndarray | None = None):
        """The model's inputs for rows ``start:stop``; ``sequences`` (channels-last) replace the sequence input,
        with the other inputs of row ``start`` repeated beside them."""
        if sequences is None:
            rows = {key: value[start:stop] for key, value in self.entries.items()}
            rows[self.key] = rows[self.key].astype(np.float32, copy=False)
        else:
            rows = {key: np.repeat(value[start : start + 1], len(sequences), axis=0) for key, value in self.entries.items()}
            rows[self.key] = sequences.transpose(0, 2, 1) if self.channels_first else sequences
        if self.kind is None:
            return rows[None]
        if issubclass(self.kind, Mapping):
            return rows
        return [rows[index] for index in range(len(rows))]


def _declared_inputs(model: keras.Model) -> list[tuple[str, tuple]] | None:
    """(name, shape) of each input the model declares; None for an unbuilt model.

    A subclassed model has no input tensors; once built (or loaded from a file) it
    records the shape it was built for, which declares its single input.
    """
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if inputs:
        return [(tensor.name, tuple(tensor.shape)) for tensor in inputs]
    shape = (model.get_build_config() or {}).get("input_shape") if model.built else None
    if isinstance(shape, (list, tuple)) and len(shape) == 3 and all(d is None or isinstance(d, int) for d in shape):
        return [(model.name, (None, *shape[1:]))]
    return None


def _declared_shape(declared, key, names) -> tuple | None:
    """The declared shape of the sequence input, when it can be told which one it is."""
    if key is None:
        return declared[0][1] if len(declared) == 1 else None
    if isinstance(key, int):
        return declared[key][1] if key < len(declared) else None
    return declared[names.index(key)][1] if key in names else None


def random_sequences(count: int, length: int, seed: int = 0) -> np.ndarray:
    """Random one-hot sequences, shape=(count, length, 4), float32."""
    letters = np.random.default_rng(seed).integers(0, 4, size=(count, length))
    return np.eye(4, dtype=np.float32)[letters]


# ---------------------------------------------------------------- the layer tree


def layer_paths(model: keras.Model) -> dict[str, keras.layers.Layer]:
    """Every layer of a model by path, nested models and blocks included, InputLayers left out.

    A path joins names with ``/``: ``"stem/conv1"`` is layer ``conv1`` of the
    nested model ``stem``; ``"conv1/conv1_conv"`` is the Conv1D inside the
    ``ConvBlock`` ``conv1``. A layer shared by several parents is listed once.
    """
    paths: dict[str, keras.layers.Layer] = {}
    seen: set[int] = set()

    def visit(layer, prefix):
        for child in _children(layer):
            if id(child) in seen:
                continue
            seen.add(id(child))
            path = f"{prefix}{child.name}"
            paths[path] = child
            visit(child, f"{path}/")

    visit(model, "")
    return paths


def _children(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    """The layers directly inside ``layer``: a model's ``layers``, or a layer's sublayer attributes."""
    if isinstance(layer, keras.Model):
        found = list(layer.layers)
    else:
        found = []
        for value in vars(layer).values():
            values = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else [value]
            found.extend(v for v in values if isinstance(v, keras.layers.Layer) and v is not layer)
    unique = {id(child): child for child in found if not isinstance(child, keras.layers.InputLayer)}
    return list(unique.values())


def find_layer(model: keras.Model, layer: str | int) -> tuple[str, keras.layers.Layer]:
    """Resolve a layer by path, unique plain name, or index in ``model.layers``; return (path, layer)."""
    paths = layer_paths(model)
    if isinstance(layer, int) or (isinstance(layer, str) and layer.lstrip("-").isdigit()):
        index, top = int(layer), model.layers
        if not -len(top) <= index < len(top):
            raise KerasMotifsError(f"layer index {index} is out of range: model {model.name!r} has {len(top)} layers")
        chosen = top[index]
        if isinstance(chosen, keras.layers.InputLayer):
            raise KerasMotifsError(
                f"layer {index} of model {model.name!r} is its input {chosen.name!r}, which has no filters; "
                "name a layer, or leave layer unset for the first convolution"
            )
        return next(path for path, candidate in paths.items() if candidate is chosen), chosen
    if layer in paths:
        return layer, paths[layer]
    matches = [path for path in paths if path.rsplit("/", 1)[-1] == layer]
    if len(matches) == 1:
        return matches[0], paths[matches[0]]
    if matches:
        raise KerasMotifsError(f"model {model.name!r} has several layers named {layer!r}: {', '.join(matches)}; give the path")
    raise KerasMotifsError(f"model {model.name!r} has no layer {layer!r}; layers: {', '.join(paths)}")


# ---------------------------------------------------------------- running the model


class _Stop(BaseException):
    """Ends a forward pass once the wanted outputs are in hand.

    A BaseException, so that no ``except Exception`` in Keras or a backend wraps or
    swallows it on its way out.
    """


@contextlib.contextmanager
def wrapped_calls(wrappers: Mapping[int, tuple[keras.layers.Layer, Callable]]) -> Iterator[None]:
    """Replace the ``call`` of layers by ``wrap(original_call)`` while inside the block.

    Parameters
    ----------
    wrappers : mapping of int to (layer, wrap)
        By ``id(layer)``: the layer and a function of its original ``call`` that
        returns the call to use instead. The originals return when the block ends.
    """
    replaced = []
    try:
        for layer, wrap in wrappers.values():
            own = vars(layer).get("call")
            object.__setattr__(layer, "call", wrap(layer.call))
            replaced.append((layer, own))
        yield
    finally:
        for layer, own in reversed(replaced):
            if own is None:
                object.__delattr__(layer, "call")
            else:
                object.__setattr__(layer, "call", own)


@contextlib.contextmanager
def _structural_weights(model: keras.Model) -> Iterator[None]:
    """Inside the block, every trainable float weight is replaced by a random non-zero value; restored after.

    A receptive field is a property of the graph, not of the weights: a kernel or a
    batch-norm gamma that is zero (a residual branch initialised to start as the
    identity, a pass-through left at zero) would hide every path through it from a
    measurement made on the model's own weights. Trainable weights of rank 2 or more
    (kernels) get magnitudes of 0.5-1.5 / sqrt(fan-in), so that signals keep their
    size from layer to layer, the others (biases, gammas, betas) 0.5-1.5, all with
    random signs; non-trainable ones (batch-norm statistics) keep their values.
    """
    variables = [v for v in model.trainable_variables if "float" in str(v.dtype)]
    saved = [keras.ops.convert_to_numpy(v) for v in variables]
    rng = np.random.default_rng(4)
    try:
        for variable, value in zip(variables, saved):
            scale = 1 / np.sqrt(np.prod(value.shape[:-1])) if value.ndim >= 2 else 1.0
            magnitude = scale * rng.uniform(0.5, 1.5, size=value.shape)
            variable.assign((magnitude * rng.choice([-1.0, 1.0], size=value.shape)).astype(value.dtype))
        yield
    finally:
        for variable, value in zip(variables, saved):
            variable.assign(value)


def _forward(model: keras.Model, inputs, capture: Sequence[keras.layers.Layer],
             perturb: tuple[keras.layers.Layer, np.ndarray] | None = None, to_numpy: bool = True) -> list:
    """Run ``model`` on ``inputs`` until each layer of ``capture`` has returned; their first outputs.

    ``perturb`` = (layer, noise) adds ``noise`` to that layer's output on the way. The
    outputs are numpy arrays, or backend tensors when not ``to_numpy``.
    """
    outputs: dict[int, object] = {}

    def capturing(layer):
        def wrap(call):
            def wrapped(*args, **kwargs):
                result = call(*args, **kwargs)
                if perturb is not None and layer is perturb[0]:
                    result = result + keras.ops.cast(perturb[1], result.dtype)
                if any(layer is c for c in capture) and id(layer) not in outputs:
                    outputs[id(layer)] = result
                    if len(outputs) == len({id(c) for c in capture}):
                        raise _Stop
                return result
            return wrapped
        return wrap

    targets = list(capture) + ([perturb[0]] if perturb is not None else [])
    with wrapped_calls({id(layer): (layer, capturing(layer)) for layer in targets}):
        try:
            model(inputs, training=False)
        except _Stop:
            pass
    missing = [layer.name for layer in capture if id(layer) not in outputs]
    if missing:
        raise KerasMotifsError(f"layer {missing[0]!r} did not run in a forward pass of model {model.name!r}")
    return [_checked(outputs[id(layer)], layer, to_numpy) for layer in capture]


def _checked(output, layer, to_numpy: bool):
    """A captured output, as an array if ``to_numpy``; a layer with several outputs is refused."""
    if isinstance(output, (list, tuple, dict)):
        raise KerasMotifsError(f"layer {layer.name!r} returns {len(output)} tensors; read a layer with one output")
    try:
        return keras.ops.convert_to_numpy(output) if to_numpy else keras.ops.convert_to_tensor(output)
    except (ValueError, TypeError, AttributeError, NotImplementedError):
        raise KerasMotifsError(
            f"the output of layer {layer.name!r} could not be read eagerly (is the model's call compiled?)"
        ) from None


def _mixing(call: "_Call") -> str | None:
    """Why the outputs of a call have no fixed window of the input, by the kind of layer; None if no reason."""
    layer = call.layer
    if isinstance(layer, ATTENTION_TYPES):
        return f"depend on the whole sequence through {call.path!r}, an attention layer"
    if hasattr(layer, "return_sequences"):
        return f"depend on the whole sequence through {call.path!r}, a recurrent layer"
    size = getattr(layer, "pool_size", None)
    if call.leaf and size is not None and max(np.atleast_1d(size)) > 1:
        return f"come after pooling in {call.path!r} (their positions are uncertain by the pool size)"
    return None


def _bases_reason(seen: int) -> str:
    """Why filters that depend on ``seen`` of the four bases are no motifs."""
    return (f"each depend on {'at most ' if seen > 1 else ''}{seen} of the four bases (a depthwise convolution of "
            "the sequence?), not on a combination of them as a motif does")


def _has_filters(layer: keras.layers.Layer) -> bool:
    """Whether a layer has filters of its own: a kernel (a weight of rank 2 or more), not a per-position rescaling."""
    if isinstance(layer, ELEMENTWISE_TYPES):
        return False
    return isinstance(layer, CONV_TYPES) or any(len(weight.shape) >= 2 for weight in layer.weights)


def _shape(output) -> tuple | None:
    """The shape of a layer's output; None when it is not one tensor."""
    return tuple(keras.ops.shape(output)) if keras.ops.is_tensor(output) else None


@dataclass
class _Call:
    """One layer call seen in a traced forward pass."""

    path: str
    layer: keras.layers.Layer
    inputs: list = field(default_factory=list)
    output: object = None
    leaf: bool = True
    runs: int = 1  # calls per forward pass: more than one for a layer shared across strands


def _trace(model: keras.Model, paths: Mapping[str, keras.layers.Layer], inputs) -> list[_Call]:
    """The first call of each layer, in the order the layers start running (outputs kept alive), with the
    number of times each runs per pass."""
    calls: list[_Call] = []
    seen: dict[int, _Call] = {}
    parents = {id(paths[path.rsplit("/", 1)[0]]) for path in paths if "/" in path}

    def tracing(path, layer):
        def wrap(call):
            def wrapped(*args, **kwargs):
                if id(layer) in seen:
                    seen[id(layer)].runs += 1
                    return call(*args, **kwargs)
                record = _Call(path, layer, [t for t in keras.tree.flatten((args, kwargs)) if keras.ops.is_tensor(t)],
                               leaf=id(layer) not in parents)
                seen[id(layer)] = record
                calls.append(record)
                record.output = call(*args, **kwargs)
                return record.output
            return wrapped
        return wrap

    try:  # builds what is unbuilt first: building may run layers on symbolic tensors
        model(inputs, training=False)
    except (ValueError, TypeError, KeyError) as err:
        reason = str(err).strip().splitlines()[0][:300]
        raise KerasMotifsError(f"model {model.name!r} does not run on the inputs given ({reason})") from None
    with wrapped_calls({id(layer): (layer, tracing(path, layer)) for path, layer in paths.items()}):
        model(inputs, training=False)
    return calls


# ---------------------------------------------------------------- windows


def _fit_window(depends: np.ndarray) -> Window | str:
    """The window that explains a dependence matrix, or why there is none.

    ``depends[i, p]`` is True when changing input position ``i`` moved output position
    ``p``. Every position that moved must lie inside ``start + stride * p`` ...
    ``+ width``; positions whose window is cut short (ends of the input, units that
    were inactive on the probes) only need to fall inside it.
    """
    length, positions = depends.shape
    moved = depends.any(axis=0)
    if not moved.any():
        return "do not change with the sequence"
    first = np.argmax(depends, axis=0)
    last = length - 1 - np.argmax(depends[::-1], axis=0)
    span = last - first + 1
    width = int(span[moved].max())
    if width >= length:
        if (span[moved] == length).all():
            return "depend on the whole sequence"
        edge = int(span[np.argmax(moved)])
        return (f"have a receptive field at least as wide as the sequence ({length} nt; position "
                f"{int(np.argmax(moved))} depends on {edge} of them), so no fixed window fits inside it")
    complete = np.flatnonzero(moved & (span == width))
    if len(complete) < 2 and positions > 1:
        return (f"depend on spans of the sequence that differ from position to position ({span[moved].min()} to "
                f"{width} nt), not on a fixed window")
    stride = 1
    if len(complete) > 1:
        rise, run = first[complete[-1]] - first[complete[0]], complete[-1] - complete[0]
        stride = rise // run if rise % run == 0 else 0
    start = int(first[complete[0]] - stride * complete[0])
    lows = start + stride * np.arange(positions)
    if stride < 1 or (first[moved] < lows[moved]).any() or (last[moved] >= lows[moved] + width).any():
        inside = moved & (first > 0) & (last < length - 1)  # windows not cut short by the ends
        if (span[inside] < width).any():
            return (f"depend on spans of the sequence that differ from position to position ({span[inside].min()} "
                    f"to {width} nt), not on a fixed window")
        return f"depend on windows of {width} nt that do not move by a whole-number stride along the sequence"
    return Window(width, int(stride), start)


def _probe_batches(length: int, bytes_per_sequence: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """(first probed position, last + 1, batch): a random sequence, then copies of it, each with one position
    changed; for ``PROBE_SEQUENCES`` random sequences. Batches are channels-last.

    The first sequence's positions change to another letter; the others' by random values of size
    ``PROBE_AMPLITUDE``, so that a path through many layers whose share of an output is below float
    precision at the scale of one letter still moves it.
    """
    rng = np.random.default_rng(0)
    chunk = int(np.clip(PROBE_CHUNK_BYTES // max(bytes_per_sequence, 1), 1, 256))
    for b, base in enumerate(random_sequences(PROBE_SEQUENCES, length, seed=1)):
        if b == 0:
            changes = np.eye(4, dtype=np.float32)[(base.argmax(axis=1) + rng.integers(1, 4, size=length)) % 4] - base
        else:
            changes = (PROBE_AMPLITUDE * rng.standard_normal((length, 4))).astype(np.float32)
        for start in range(0, length, chunk):
            stop = min(start + chunk, length)
            batch = np.repeat(base[None], stop - start + 1, axis=0)
            batch[np.arange(1, stop - start + 1), np.arange(start, stop)] += changes[start:stop]
            yield start, stop, batch


def _movement(outputs: np.ndarray) -> np.ndarray:
    """Which entries of ``outputs[1:]`` moved away from ``outputs[0]``, beyond float noise (or to inf/NaN)."""
    change = np.abs(outputs[1:] - outputs[0])
    scale = np.abs(outputs[0][np.isfinite(outputs[0])]).max(initial=0.0)
    return (change > RELATIVE_TOLERANCE * scale) | ~np.isfinite(change)


class _Probing:
    """One model on one set of inputs: its traced calls, and measurements on them."""

    def __init__(self, model: keras.Model, inputs: SequenceInputs):
        self.model, self.inputs = model, inputs
        self.paths = layer_paths(model)
        self.calls = _trace(model, self.paths, inputs.model_inputs(0, 1))
        self.index = {id(call.layer): i for i, call in enumerate(self.calls)}
        self._readable: dict[int, tuple[Window | str, int]] = {}  # measured once, on the structural weights

    def run(self, sequences: np.ndarray, capture, perturb=None) -> list[np.ndarray]:
        """Captured outputs for channels-last ``sequences`` (other inputs from the first row)."""
        return _forward(self.model, self.inputs.model_inputs(0, sequences=sequences), capture, perturb)

    def read_call(self, index: int) -> _Call:
        """The call whose output is read for ``calls[index]``: a ConvBlock's activation, a convolution's
        batch-norm and activation layers, or the layer itself."""
        return self.calls[self.read_chain(index)[-1]]

    def read_chain(self, index: int) -> list[int]:
        """Indices of ``calls[index]`` and the calls read with it, up to the one whose output is read."""
        call = self.calls[index]
        if isinstance(call.layer, ConvBlock):
            return [index, self.index[id(call.layer.activation)]]
        chain = [index]
        if not isinstance(call.layer, CONV_TYPES):
            return chain
        while True:
            consumer = next((c for c in self.calls[index + 1 :]
                             if c.leaf and any(t is call.output for t in c.inputs)), None)
            if consumer is None or not isinstance(consumer.layer, ELEMENTWISE_TYPES):
                return chain
            call, index = consumer, self.index[id(consumer.layer)]
            chain.append(index)

    def windows(self, indices: Sequence[int]) -> dict[int, tuple[Window | str, int]]:
        """Per call index: its measured window (or why it has none) and its position axis."""
        shapes = {i: _shape(self.calls[i].output) for i in indices}
        mapped = [i for i in indices if shapes[i] is not None and len(shapes[i]) == 3]
        results = {i: (f"have no positions (output shape {(None, *shapes[i][1:])})" if shapes[i] is not None
                       else "are several tensors", 0) for i in indices if i not in mapped}
        if not mapped:
            return results
        length = self.inputs.length
        along = {i: [np.zeros((length, shapes[i][axis]), bool) for axis in (1, 2)] for i in mapped}
        per_sequence = sum(int(np.prod(shapes[i][1:])) for i in mapped) * 4 + length * 16
        capture = [self.calls[i].layer for i in mapped]
        for start, stop, batch in _probe_batches(length, per_sequence):
            for i, output in zip(mapped, self.run(batch, capture)):
                moved = _movement(output)
                along[i][0][start:stop] |= moved.any(axis=2)
                along[i][1][start:stop] |= moved.any(axis=1)
        for i in mapped:
            # The position axis is the one whose moved entries are few (local); on a tie, the input's layout.
            first, second = (matrix.mean() for matrix in along[i])
            axis = 2 if second < first or (second == first and self.inputs.channels_first) else 1
            results[i] = (_fit_window(along[i][axis - 1]), axis)
        return results

    def mixed_before(self, indices: Sequence[int]) -> dict[int, str]:
        """Per call index: why a layer that runs before it (or it itself) takes its fixed window away, if one does.

        The layers that do are pooling layers (any leaf with ``pool_size`` > 1),
        recurrent layers and attention layers; a call depends on one when
        perturbing that layer's output moves it. The reason names the last of them
        that runs before the call.
        """
        reasons: dict[int, str] = {}
        sequences = random_sequences(PROBE_SEQUENCES, self.inputs.length, seed=2)
        for m, call in reversed(list(enumerate(self.calls))):  # the nearest such layer before a call is named
            reason = _mixing(call)
            if reason is None:
                continue
            if m in indices:
                reasons[m] = reason
            others = [i for i in indices if i != m and i not in reasons and _shape(self.calls[i].output) is not None]
            if not others:
                continue
            capture = [self.calls[i].layer for i in others]
            plain = self.run(sequences, capture)
            noise = np.random.default_rng(3).normal(size=(len(sequences), *_shape(call.output)[1:]))
            moved = self.run(sequences, capture, perturb=(call.layer, noise.astype(np.float32)))
            for i, before, after in zip(others, plain, moved):
                if _movement(np.stack([before, after])).any():
                    reasons[i] = reason
        return reasons

    def readable(self, index: int) -> tuple[Window | str, int]:
        """The window of ``calls[index]``, or the reason it has none; position axis 0 when it has no positions."""
        if index not in self._readable:
            window, axis = self.windows([index])[index]
            self._readable[index] = (window if axis == 0 else self.mixed_before([index]).get(index, window)), axis
        return self._readable[index]

    def convolutions(self) -> list[int]:
        """Indices of the convolutions, in the order they run; a ConvBlock stands for the Conv1D inside it."""
        return [i for i, call in enumerate(self.calls) if isinstance(call.layer, CONV_TYPES)
                and not any(isinstance(self.paths.get(parent), ConvBlock) for parent in _parents(call.path))]

    def instead(self, index: int) -> str:
        """'; read X ... instead', naming the last readable convolution that runs before ``calls[index]``."""
        for i in reversed([i for i in self.convolutions() if i < index]):
            if self.motif_reason(self.index[id(self.read_call(i).layer)]) is None:
                return f"; read {self.calls[i].path!r} (the last layer before it that can be read) instead"
        return ""

    def bases_seen(self, axes: Mapping[int, int]) -> dict[int, int]:
        """Per call index (with its position axis): how many of the four bases its filters depend on, the most
        over its filters.

        The channel of each base is changed in turn at every position of random
        sequences, by random values of size ``PROBE_AMPLITUDE`` (so that no unit
        stays inactive), and the filters that move are recorded: a convolution of
        the sequence depends on all four, a depthwise convolution of it on one in
        each filter. The most over filters, so that a filter of a deep layer that a
        saturated path keeps from moving with one base does not count against it.
        """
        sequences = random_sequences(PROBE_SEQUENCES, self.inputs.length, seed=5)
        rng = np.random.default_rng(6)
        batch = [sequences]
        for base in range(4):
            changed = sequences.copy()
            changed[:, :, base] += (PROBE_AMPLITUDE * rng.standard_normal(changed.shape[:2])).astype(np.float32)
            batch.append(changed)
        outputs = self.run(np.concatenate(batch), [self.calls[i].layer for i in axes])
        seen = {}
        for (i, axis), output in zip(axes.items(), outputs):
            output = output.reshape(5, len(sequences), *output.shape[1:])
            moved = [_movement(output[[0, base]])[0].any(axis=(0, axis)) for base in range(1, 5)]
            seen[i] = int(np.sum(moved, axis=0).max(initial=0))
        return seen

    def motif_reason(self, index: int) -> str | None:
        """Why the outputs of ``calls[index]`` cannot be read as motifs (no fixed window, or filters that do not
        combine the four bases), or None when they can."""
        window, axis = self.readable(index)
        if isinstance(window, str):
            return window
        seen = self.bases_seen({index: axis})[index]
        return None if seen == 4 else _bases_reason(seen)

    def shared_notes(self, indices: Sequence[int]) -> dict[int, str]:
        """Per call index: a note when it combines the calls of a layer with filters that runs several times per
        pass (one convolution on both strands), whose motifs it then mixes.

        A call that runs several times itself is read at its first call, one strand,
        and gets no note.
        """
        notes: dict[int, str] = {}
        sequences = random_sequences(PROBE_SEQUENCES, self.inputs.length, seed=7)
        for call in self.calls:
            if call.runs < 2 or not call.leaf or not _has_filters(call.layer):
                continue
            others = [i for i in indices if self.calls[i].runs == 1 and i not in notes
                      and _shape(self.calls[i].output) is not None]
            if not others:
                continue
            capture = [self.calls[i].layer for i in others]
            plain = self.run(sequences, capture)
            moved = self.run(sequences, capture, perturb=(call.layer, np.float32(0.5)))
            for i, before, after in zip(others, plain, moved):
                if _movement(np.stack([before, after])).any():
                    notes[i] = (f"combines the {call.runs} calls of {call.path!r}, a layer run {call.runs} times "
                                "per pass (weights shared, e.g. across both strands): its motifs may mix a motif "
                                f"with its reverse complement; read {call.path!r} (its first call) for one strand's motifs")
        return notes

    def first_motif_convolution(self) -> int | None:
        """Index of the first convolution to run whose filters combine the four bases (a depthwise convolution of
        the sequence is passed over), or that has no fixed window (to be refused with the reason)."""
        for i in self.convolutions():
            read = self.index[id(self.read_call(i).layer)]
            window, axis = self.readable(read)
            if isinstance(window, str) or self.bases_seen({read: axis})[read] == 4:
                return i
        return None

    def combining_after(self, index: int) -> str:
        """'; read X ... instead', naming the first convolution after ``calls[index]`` that can be read."""
        for i in [i for i in self.convolutions() if i > index]:
            if self.motif_reason(self.index[id(self.read_call(i).layer)]) is None:
                return f"; read {self.calls[i].path!r} (the first layer after it whose filters combine them) instead"
        return ""


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
        output = _forward(self.model, inputs, [self.read_layer], to_numpy=False)[0]
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
    probing = _Probing(model, inputs)
    with _structural_weights(model):
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
            window, instead = _bases_reason(seen), probing.combining_after(index)
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
    probing = _Probing(model, inputs)
    convs = probing.convolutions()
    reads = [probing.index[id(probing.read_call(i).layer)] for i in convs]
    with _structural_weights(model):
        windows = probing.windows(reads)
        mixed = probing.mixed_before(reads)
        fixed = {r: windows[r][1] for r in reads if isinstance(windows[r][0], Window) and r not in mixed}
        seen = probing.bases_seen(fixed) if fixed else {}
    return [probing.calls[i].path for i, r in zip(convs, reads) if seen.get(r) == 4]


def _parents(path: str) -> list[str]:
    """``"a/b/c"`` -> ``["a", "a/b"]``."""
    parts = path.split("/")
    return ["/".join(parts[:k]) for k in range(1, len(parts))]


# ---------------------------------------------------------------- describing a model


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
    probing = _Probing(model, SequenceInputs(model, x, sequence_input))
    reads = [probing.index[id(probing.read_call(i).layer)] for i in range(len(probing.calls))]
    read_with = {}  # call index -> the convolution it is read with (a ConvBlock by its own name)
    for i, call in enumerate(probing.calls):
        if isinstance(call.layer, (*CONV_TYPES, ConvBlock)):
            block = next((parent for parent in _parents(call.path) if isinstance(probing.paths.get(parent), ConvBlock)),
                         call.path)
            read_with.update({j: block for j in probing.read_chain(i)[1:]})
    with _structural_weights(model):
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
        elif not _has_filters(call.layer):
            reason = "no filters of its own"
        elif seen[r] < 4:
            reason = f"outputs {_bases_reason(seen[r])}"
        shape = _shape(call.output)
        shape = (None, *shape[1:]) if shape is not None else ()
        reports.append(LayerReport(call.path, type(call.layer).__name__, shape, window, not reason, reason or "",
                                   notes.get(r, "") if window is not None else ""))
    return ModelReport(model.name, probing.inputs.length, reports)


def _placeholder_inputs(model: keras.Model, sequence_input: str | int | None, length: int | None):
    """Random sequences for the sequence input and zeros for the others, from the shapes the model declares
    (``length`` where the sequence length is not fixed)."""
    declared = _declared_inputs(model)
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
