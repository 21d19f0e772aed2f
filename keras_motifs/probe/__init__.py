"""Probe any Keras model: find a layer by path, read its feature map, measure the input window of its positions.

:func:`~keras_motifs.probe.layer.probe_layer` is the entry point; extraction, the
callback, importance and ``describe --model`` see a model only through it.
"""

from keras_motifs.probe.calls import wrapped_calls
from keras_motifs.probe.describe import LayerReport, ModelReport, describe_model
from keras_motifs.probe.inputs import SequenceInputs, random_sequences
from keras_motifs.probe.layer import LayerProbe, probe_layer, readable_conv_layers
from keras_motifs.probe.paths import find_layer, layer_paths
from keras_motifs.probe.window import Window

__all__ = ["LayerProbe", "LayerReport", "ModelReport", "SequenceInputs", "Window", "describe_model", "find_layer",
           "layer_paths", "probe_layer", "random_sequences", "readable_conv_layers", "wrapped_calls"]
