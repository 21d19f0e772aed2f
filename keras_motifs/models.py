"""The pooling-bottleneck model builder and every architecture of Koo & Eddy (2019).

An architecture is an :class:`ArchitectureSpec`: conv blocks (filters, width, pool
size and stride, activation, dropout) followed by Flatten -> Dense (no bias) ->
BatchNorm -> ReLU -> Dropout -> Dense sigmoid. The registry
:data:`ARCHITECTURES` holds the paper's, by name; :func:`build_model` builds any
of them, or any spec, for any input length and class count.

Layer names are stable: conv blocks are ``conv1``, ``conv2``... (their activation
outputs come from :meth:`keras_motifs.layers.ConvBlock.feature_map`), then
``flatten``, ``dense``, ``dense_bn``, ``dense_activation``, ``dense_dropout``,
``output``.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import keras

from keras_motifs.errors import KerasMotifsError, check_integer
from keras_motifs.io.files import read_json
from keras_motifs.layers import ConvBlock

__all__ = [
    "ARCHITECTURES",
    "ArchitectureSpec",
    "ConvLayerSpec",
    "build_model",
    "get_spec",
    "load_spec",
    "readable_layers",
    "receptive_fields",
]


@dataclass(frozen=True)
class ConvLayerSpec:
    """One conv block: Conv1D (no bias, same padding) -> BN -> activation -> MaxPool -> Dropout.

    Parameters
    ----------
    filters : int
        Number of filters.
    kernel_size : int
        Filter width.
    pool_size : int
        Max-pool window; 1 means no pooling. Default is 1.
    pool_stride : int, optional
        Max-pool stride. Default is None: equal to ``pool_size``.
    activation : str
        Keras activation name, e.g. ``"relu"`` or ``"exponential"``. Default is "relu".
    dropout : float
        Dropout rate after pooling. Default is 0.1.
    """

    filters: int
    kernel_size: int
    pool_size: int = 1
    pool_stride: int | None = None
    activation: str = "relu"
    dropout: float = 0.1

    @property
    def stride(self) -> int:
        """The pool's stride."""
        return self.pool_stride or self.pool_size


@dataclass(frozen=True)
class ArchitectureSpec:
    """A whole architecture: conv blocks, then the dense head.

    Parameters
    ----------
    name : str
        Architecture name, e.g. ``"cnn-25"``.
    conv_layers : tuple of ConvLayerSpec
        The conv blocks, first to last.
    dense_units : int
        Units of the hidden dense layer. Default is 512.
    dense_dropout : float
        Dropout after the hidden dense layer. Default is 0.5.
    l2 : float
        L2 penalty on conv and dense kernels. Default is 1e-6.
    """

    name: str
    conv_layers: tuple[ConvLayerSpec, ...]
    dense_units: int = 512
    dense_dropout: float = 0.5
    l2: float = 1e-6

    def to_dict(self) -> dict:
        """Return the spec as plain JSON-ready data."""
        data = dataclasses.asdict(self)
        data["conv_layers"] = list(data["conv_layers"])
        return data

    @classmethod
    def from_dict(cls, data: dict, where: str = "architecture spec") -> ArchitectureSpec:
        """Build and validate a spec from plain data (as read from JSON)."""
        if not isinstance(data, dict):
            raise KerasMotifsError(f"{where}: expected a JSON object, got {type(data).__name__}")
        _reject_unknown_fields(data, cls, where)
        layers = data.get("conv_layers")
        if not isinstance(layers, (list, tuple)) or not layers:
            raise KerasMotifsError(f"{where}: 'conv_layers' must be a non-empty list of conv layer objects")
        conv_layers = tuple(_conv_layer_from_dict(layer, f"{where}: conv_layers[{i}]")
                            for i, layer in enumerate(layers))
        values = {key: value for key, value in data.items() if key != "conv_layers"}
        values.setdefault("name", "custom")
        spec = cls(conv_layers=conv_layers, **values)
        _check_types(spec, where)
        return spec


def _reject_unknown_fields(data: dict, cls, where: str) -> None:
    """Fail on keys of ``data`` that are not fields of the dataclass ``cls``, listing the known ones."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise KerasMotifsError(f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")


def _conv_layer_from_dict(data, where: str) -> ConvLayerSpec:
    """Build one ConvLayerSpec from plain data, naming the field at fault."""
    if isinstance(data, ConvLayerSpec):
        return data
    if not isinstance(data, dict):
        raise KerasMotifsError(f"{where}: expected an object with filters, kernel_size, pool_size...")
    _reject_unknown_fields(data, ConvLayerSpec, where)
    missing = [key for key in ("filters", "kernel_size") if key not in data]
    if missing:
        raise KerasMotifsError(f"{where}: missing field(s) {', '.join(missing)}")
    return ConvLayerSpec(**data)


def _check_types(spec: ArchitectureSpec, where: str) -> None:
    """Check value types and ranges of a spec."""

    def rate(value, name):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise KerasMotifsError(f"{where}: {name} must be a number in [0, 1), got {value!r}")

    for i, layer in enumerate(spec.conv_layers, start=1):
        check_integer(layer.filters, f"{where}: layer {i} filters")
        check_integer(layer.kernel_size, f"{where}: layer {i} kernel_size")
        check_integer(layer.pool_size, f"{where}: layer {i} pool_size")
        if layer.pool_stride is not None:
            check_integer(layer.pool_stride, f"{where}: layer {i} pool_stride")
        rate(layer.dropout, f"layer {i} dropout")
        try:
            keras.activations.get(layer.activation)
        except (ValueError, TypeError):
            raise KerasMotifsError(
                f"{where}: layer {i} activation {layer.activation!r} is not a Keras activation") from None
    check_integer(spec.dense_units, f"{where}: dense_units")
    rate(spec.dense_dropout, "dense_dropout")
    if isinstance(spec.l2, bool) or not isinstance(spec.l2, (int, float)) or spec.l2 < 0:
        raise KerasMotifsError(f"{where}: l2 must be a non-negative number, got {spec.l2!r}")


def _two_layer(name: str, pool1: int, pool2: int, width1: int = 19, filters1: int = 30,
               stride1: int | None = None, width2: int = 5, filters2: int = 128,
               dense_units: int = 512) -> ArchitectureSpec:
    """The paper's two-conv-layer family: 30 x 19 -> pool1, 128 x 5 -> pool2, dense 512."""
    return ArchitectureSpec(
        name=name,
        conv_layers=(
            ConvLayerSpec(filters1, width1, pool_size=pool1, pool_stride=stride1),
            ConvLayerSpec(filters2, width2, pool_size=pool2),
        ),
        dense_units=dense_units,
    )


#: Every architecture of the paper, by name. cnn-50-2 is the released network
#: (``code/models/cnn_50_2.py`` and its checkpoint: 64 second-layer filters, 96 dense
#: units, 25,712 trainable parameters), the one behind the published figures;
#: cnn-50-2-samesize is the paper text's description of it (as many parameters as
#: cnn-2: 128 filters, 512 units), which the authors did not train.
ARCHITECTURES: dict[str, ArchitectureSpec] = {
    spec.name: spec
    for spec in [
        _two_layer("cnn-1", 1, 100),
        _two_layer("cnn-2", 2, 50),
        _two_layer("cnn-4", 4, 25),
        _two_layer("cnn-10", 10, 10),
        _two_layer("cnn-25", 25, 4),
        _two_layer("cnn-50", 50, 2),
        _two_layer("cnn-100", 100, 1),
        _two_layer("cnn-50-2", 50, 50, stride1=2, filters2=64, dense_units=96),
        _two_layer("cnn-50-2-samesize", 50, 50, stride1=2),
        _two_layer("cnn9-4", 4, 25, width1=9),
        _two_layer("cnn9-25", 25, 4, width1=9),
        _two_layer("cnn3-2", 2, 50, width1=3),
        _two_layer("cnn3-50", 50, 2, width1=3),
        _two_layer("cnn19-1-2", 2, 50, width2=1),
        ArchitectureSpec(
            name="cnn-1-1-100",
            conv_layers=(
                ConvLayerSpec(30, 19),
                ConvLayerSpec(128, 5),
                ConvLayerSpec(128, 5, pool_size=100),
            ),
        ),
        _two_layer("cnn-25-60", 25, 4, filters1=60),
        _two_layer("cnn-25-90", 25, 4, filters1=90),
        _two_layer("cnn-25-120", 25, 4, filters1=120),
    ]
}

#: The seven architectures that vary only the first pool size (the paper's main sweep).
POOLING_SWEEP = ("cnn-1", "cnn-2", "cnn-4", "cnn-10", "cnn-25", "cnn-50", "cnn-100")


def get_spec(arch: str | ArchitectureSpec | dict, **overrides) -> ArchitectureSpec:
    """Resolve an architecture name, spec or spec dict, applying overrides.

    Parameters
    ----------
    arch : str, ArchitectureSpec or dict
        A registry name (see :data:`ARCHITECTURES`), a spec, or its dict form.
    **overrides
        Top-level spec fields (``dense_units``, ``dense_dropout``, ``l2``, ``name``,
        ``conv_layers``), or ``layer1``, ``layer2``... dicts of conv-layer fields
        to change, e.g. ``layer1={"activation": "exponential", "filters": 60}``.

    Returns
    -------
    ArchitectureSpec
    """
    if isinstance(arch, str):
        if arch not in ARCHITECTURES:
            raise KerasMotifsError(f"unknown architecture {arch!r}; known: {', '.join(ARCHITECTURES)}")
        spec = ARCHITECTURES[arch]
    elif isinstance(arch, ArchitectureSpec):
        spec = arch
    else:
        spec = ArchitectureSpec.from_dict(arch)
    if not overrides:
        return spec
    data = spec.to_dict()
    for key, value in overrides.items():
        if key.startswith("layer") and key[5:].isdigit():
            index = int(key[5:]) - 1
            if not 0 <= index < len(data["conv_layers"]):
                raise KerasMotifsError(f"override {key}: {spec.name} has {len(data['conv_layers'])} conv layers")
            if not isinstance(value, dict):
                raise KerasMotifsError(f"override {key}: expected a dict of conv layer fields, got {value!r}")
            data["conv_layers"][index] = {**data["conv_layers"][index], **value}
        else:
            data[key] = value
    return ArchitectureSpec.from_dict(data, where=f"{spec.name} with overrides")


def load_spec(path: str | os.PathLike) -> ArchitectureSpec:
    """Read an architecture spec from a JSON file (the form of ``ArchitectureSpec.to_dict``)."""
    path = Path(path)
    data = read_json(path, what="architecture spec file")
    if isinstance(data, dict):
        data.setdefault("name", path.stem)
    return ArchitectureSpec.from_dict(data, where=str(path))


def check_input_length(spec: ArchitectureSpec, input_length: int) -> None:
    """Fail clearly if a pool window of ``spec`` exceeds the positions it receives.

    :func:`build_model`, :func:`receptive_fields` and ``keras-motifs run`` (before it
    writes anything) refuse such a spec with this message.
    """
    length = input_length
    for i, layer in enumerate(spec.conv_layers, start=1):
        if layer.pool_size > length:
            raise KerasMotifsError(
                f"{spec.name}: layer {i} pools over {layer.pool_size} positions but only {length} remain "
                f"at input length {input_length}; use smaller pools or longer sequences"
            )
        length = math.ceil(length / layer.stride)


def readable_layers(spec: ArchitectureSpec) -> list[str]:
    """Names of a spec's conv layers whose filters have a fixed window: up to the first that pools or strides.

    ``conv1`` for cnn-25, ``conv1`` and ``conv2`` for cnn-1 (the names :func:`build_model` gives).
    The rule on the spec, so that ``keras-motifs run`` knows its steps before any model exists;
    :func:`keras_motifs.probe.layer.readable_conv_layers` measures the same on a built model.
    """
    names = []
    for i, layer in enumerate(spec.conv_layers, start=1):
        names.append(f"conv{i}")
        if layer.pool_size > 1 or layer.stride > 1:
            break
    return names


def build_model(
    arch: str | ArchitectureSpec | dict,
    input_length: int = 200,
    num_classes: int = 12,
    **overrides,
) -> keras.Model:
    """Build an architecture as an (uncompiled) Keras functional model.

    Parameters
    ----------
    arch : str, ArchitectureSpec or dict
        Registry name, e.g. ``"cnn-25"``, or a spec.
    input_length : int
        Sequence length L; inputs are one-hot ``(L, 4)``. Default is 200.
    num_classes : int
        Number of sigmoid outputs. Default is 12.
    **overrides
        Changes to the spec, see :func:`get_spec`.

    Returns
    -------
    keras.Model
        Named after the architecture, with layers ``conv1``... (``ConvBlock``),
        ``flatten``, ``dense``, ``dense_bn``, ``dense_activation``,
        ``dense_dropout``, ``output``.

    Examples
    --------
    >>> model = build_model("cnn-25")
    >>> model.get_layer("flatten").output.shape
    (None, 256)
    """
    spec = get_spec(arch, **overrides)
    check_integer(input_length, "input_length")
    check_integer(num_classes, "num_classes")
    check_input_length(spec, input_length)
    l2 = keras.regularizers.L2(spec.l2) if spec.l2 else None
    inputs = keras.Input((input_length, 4), name="sequence")
    x = inputs
    for i, layer in enumerate(spec.conv_layers, start=1):
        x = ConvBlock(
            layer.filters,
            layer.kernel_size,
            pool_size=layer.pool_size,
            pool_stride=layer.pool_stride,
            activation=layer.activation,
            dropout=layer.dropout,
            l2=spec.l2,
            name=f"conv{i}",
        )(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(spec.dense_units, use_bias=False, kernel_regularizer=l2, name="dense")(x)
    x = keras.layers.BatchNormalization(name="dense_bn")(x)
    x = keras.layers.Activation("relu", name="dense_activation")(x)
    x = keras.layers.Dropout(spec.dense_dropout, name="dense_dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="sigmoid", kernel_regularizer=l2, name="output")(x)
    return keras.Model(inputs, outputs, name=spec.name)


@dataclass
class LayerField:
    """What one conv layer sees and how precisely its outputs are placed.

    Attributes
    ----------
    layer : str
        Layer name (or ``layerN`` for a spec).
    filters, kernel_size, pool_size, pool_stride : int
        The layer's settings.
    receptive_field : int
        Positions of the input that one unit of the conv output sees.
    pooled_receptive_field : int
        The same after this layer's max-pool.
    spatial_uncertainty : int
        Input positions among which the pool leaves a feature's location unknown
        (pool size times the jump of its input).
    positions : int
        Positions left after the pool.
    """

    layer: str
    filters: int
    kernel_size: int
    pool_size: int
    pool_stride: int
    receptive_field: int
    pooled_receptive_field: int
    spatial_uncertainty: int
    positions: int


@dataclass
class ReceptiveFieldReport:
    """Per-layer receptive fields and the layer that sets the spatial bottleneck."""

    layers: list[LayerField] = field(default_factory=list)
    bottleneck_layer: int = 1
    first_layer_whole_motifs: bool = True

    def summary(self) -> str:
        """A table and a verdict, readable by a biologist."""
        lines = [
            f"{'layer':<10}{'filters':>8}{'width':>7}{'pool':>6}{'stride':>7}{'RF(nt)':>8}"
            f"{'pooled RF':>11}{'uncertainty':>13}{'positions':>11}"
        ]
        for f in self.layers:
            lines.append(
                f"{f.layer:<10}{f.filters:>8}{f.kernel_size:>7}{f.pool_size:>6}{f.pool_stride:>7}"
                f"{f.receptive_field:>8}{f.pooled_receptive_field:>11}{f.spatial_uncertainty:>13}{f.positions:>11}"
            )
        neck = self.layers[self.bottleneck_layer - 1]
        lines.append(
            f"Bottleneck: {neck.layer} (max-pool of {neck.pool_size}, the largest; locations blur over "
            f"{neck.spatial_uncertainty} nt)."
        )
        if self.first_layer_whole_motifs:
            lines.append("First-layer filters are pushed to learn whole motifs (localist representations).")
        else:
            lines.append(
                "Layers before the bottleneck keep spatial information, so first-layer filters may learn "
                f"partial motifs that {neck.layer} assembles (distributed representations)."
            )
        return "\n".join(lines)


def _layer_settings(model_or_spec, input_length: int) -> list[tuple[str, int, int, int, int]]:
    """Return (name, filters, width, pool, stride) per conv layer of a spec or model.

    A spec whose pools do not fit ``input_length`` is refused, as :func:`build_model` does.
    """
    if isinstance(model_or_spec, keras.Model):
        settings = []
        for layer in model_or_spec.layers:
            if isinstance(layer, ConvBlock):
                settings.append([layer.name, layer.filters, layer.kernel_size, layer.pool_size, layer.strides])
            elif isinstance(layer, keras.layers.Conv1D):
                settings.append([layer.name, layer.filters, layer.kernel_size[0], 1, 1])
            elif isinstance(layer, (keras.layers.MaxPooling1D, keras.layers.AveragePooling1D)) and settings:
                settings[-1][3] *= layer.pool_size[0]
                settings[-1][4] *= layer.strides[0]
        if not settings:
            raise KerasMotifsError(f"model {model_or_spec.name!r} has no Conv1D layer")
        return [tuple(s) for s in settings]
    spec = get_spec(model_or_spec)
    check_input_length(spec, input_length)
    return [
        (f"layer{i}", layer.filters, layer.kernel_size, layer.pool_size, layer.stride)
        for i, layer in enumerate(spec.conv_layers, start=1)
    ]


def receptive_fields(model_or_spec, input_length: int = 200) -> ReceptiveFieldReport:
    """Report each conv layer's receptive field and the spatial uncertainty set by pooling.

    Koo & Eddy's argument: once a max-pool blurs where a feature occurred over more
    positions than a motif spans, deeper layers cannot assemble motifs from parts,
    so the filters before that pool must learn whole motifs. The bottleneck is the
    layer with the largest pool window (the first on ties); when it is the first
    layer, first-layer filters are pushed to whole motifs.

    Parameters
    ----------
    model_or_spec : keras.Model, ArchitectureSpec, dict or str
        A built model (``ConvBlock`` or plain Conv1D/MaxPooling1D layers, in order),
        or a spec or registry name.
    input_length : int
        Sequence length, for the positions left after each pool. Default is 200.

    Returns
    -------
    ReceptiveFieldReport
        ``.layers`` per conv layer, ``.bottleneck_layer`` (1-based),
        ``.first_layer_whole_motifs``, and ``.summary()`` as text.
    """
    settings = _layer_settings(model_or_spec, input_length)
    report = ReceptiveFieldReport()
    field_size, jump, length = 1, 1, input_length
    for name, filters, width, pool, stride in settings:
        field_size += (width - 1) * jump
        conv_field = field_size
        uncertainty = pool * jump
        field_size += (pool - 1) * jump
        jump *= stride
        length = math.ceil(length / stride)
        report.layers.append(
            LayerField(name, filters, width, pool, stride, conv_field, field_size, uncertainty, length)
        )
    pools = [f.pool_size for f in report.layers]
    report.bottleneck_layer = pools.index(max(pools)) + 1
    report.first_layer_whole_motifs = report.bottleneck_layer == 1
    return report
