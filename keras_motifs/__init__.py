"""keras-motifs: CNNs for regulatory DNA whose filters you can read as motifs.

Implements Koo & Eddy (PLoS Comp Biol 2019): a large max-pool after the first
convolution (a spatial information bottleneck) pushes first-layer filters to learn
whole motifs. Modules mirror the pipeline: ``data`` -> ``models`` -> ``filters`` ->
``tomtom`` -> ``scoring`` -> ``callbacks`` -> ``report``, with ``cli`` on top.
"""

__version__ = "0.1.0"

from keras_motifs import layers  # noqa: E402,F401  (registers ConvBlock with Keras)
