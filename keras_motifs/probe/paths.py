"""Layers of any Keras model by path (``"stem/conv1"``), through nested models and blocks."""

from __future__ import annotations

import keras

from keras_motifs.errors import KerasMotifsError


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
            values = (value.values() if isinstance(value, dict)
                      else value if isinstance(value, (list, tuple)) else [value])
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
        raise KerasMotifsError(
            f"model {model.name!r} has several layers named {layer!r}: {', '.join(matches)}; give the path")
    raise KerasMotifsError(f"model {model.name!r} has no layer {layer!r}; layers: {', '.join(paths)}")


# ---------------------------------------------------------------- running the model


def parent_paths(path: str) -> list[str]:
    """``"a/b/c"`` -> ``["a", "a/b"]``."""
    parts = path.split("/")
    return ["/".join(parts[:k]) for k in range(1, len(parts))]
