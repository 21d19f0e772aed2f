"""One traced forward pass: the order layers run in, which layer consumes which output.

Also what kind of layer each is: a convolution, an element-wise layer, attention.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import keras
import numpy as np

from keras_motifs.errors import KerasMotifsError
from keras_motifs.layers import ConvBlock
from keras_motifs.probe.calls import wrapped_calls

CONV_TYPES = (ConvBlock, keras.layers.Conv1D, keras.layers.SeparableConv1D, keras.layers.DepthwiseConv1D)
#: Layers that rescale or activate a convolution's output position by position.
ELEMENTWISE_TYPES = (keras.layers.BatchNormalization, keras.layers.Activation, keras.layers.ReLU,
                     keras.layers.LeakyReLU, keras.layers.ELU, keras.layers.PReLU)
#: Layers whose every output can depend on the whole sequence (recurrent layers are told by ``return_sequences``).
ATTENTION_TYPES = (keras.layers.MultiHeadAttention, keras.layers.Attention, keras.layers.AdditiveAttention)
#: Random sequences whose every position is changed in turn to measure windows.


def mixing(call: TracedCall) -> str | None:
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


def bases_reason(seen: int) -> str:
    """Why filters that depend on ``seen`` of the four bases are no motifs."""
    return (f"each depend on {'at most ' if seen > 1 else ''}{seen} of the four bases (a depthwise convolution of "
            "the sequence?), not on a combination of them as a motif does")


def has_filters(layer: keras.layers.Layer) -> bool:
    """Whether a layer has filters of its own: a kernel (a weight of rank 2 or more), not a per-position rescaling."""
    if isinstance(layer, ELEMENTWISE_TYPES):
        return False
    return isinstance(layer, CONV_TYPES) or any(len(weight.shape) >= 2 for weight in layer.weights)


def output_shape(output) -> tuple | None:
    """The shape of a layer's output; None when it is not one tensor."""
    return tuple(keras.ops.shape(output)) if keras.ops.is_tensor(output) else None


@dataclass
class TracedCall:
    """One layer call seen in a traced forward pass."""

    path: str
    layer: keras.layers.Layer
    inputs: list = field(default_factory=list)
    output: object = None
    leaf: bool = True
    runs: int = 1  # calls per forward pass: more than one for a layer shared across strands


def trace_calls(model: keras.Model, paths: Mapping[str, keras.layers.Layer], inputs) -> list[TracedCall]:
    """The first call of each layer, in the order the layers start running (outputs kept alive), with the
    number of times each runs per pass."""
    calls: list[TracedCall] = []
    seen: dict[int, TracedCall] = {}
    parents = {id(paths[path.rsplit("/", 1)[0]]) for path in paths if "/" in path}

    def tracing(path, layer):
        def wrap(call):
            def wrapped(*args, **kwargs):
                if id(layer) in seen:
                    seen[id(layer)].runs += 1
                    return call(*args, **kwargs)
                tensors = [t for t in keras.tree.flatten((args, kwargs)) if keras.ops.is_tensor(t)]
                record = TracedCall(path, layer, tensors, leaf=id(layer) not in parents)
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
