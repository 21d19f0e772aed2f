"""Running a model with its layers' ``call`` wrapped.

A layer's output is read and the pass stopped there; while a window is measured,
the weights are replaced and restored exactly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence

import keras
import numpy as np

from keras_motifs.errors import KerasMotifsError


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
def structural_weights(model: keras.Model) -> Iterator[None]:
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


def forward(model: keras.Model, inputs, capture: Sequence[keras.layers.Layer],
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
