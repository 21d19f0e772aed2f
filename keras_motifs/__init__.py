"""keras-motifs: CNNs for regulatory DNA whose filters you can read as motifs.

Implements Koo & Eddy (PLoS Comp Biol 2019): a large max-pool after the first
convolution (a spatial information bottleneck) pushes first-layer filters to learn
whole motifs. Modules mirror the pipeline: ``data`` -> ``models`` -> ``probe`` ->
``filters`` -> ``tomtom`` -> ``scoring`` -> ``callbacks`` -> ``report``, with ``cli``
on top.

Importing the package does not import Keras (the command line starts at once for
the commands that need no model); its layers are registered with Keras as soon as
Keras is imported, before or after, so that ``keras.models.load_model`` reloads a
saved model that uses them with nothing else to do.
"""

import sys

from keras_motifs._imports import call_after_import

__version__ = "0.1.0"


def _register_layers() -> None:
    """Register keras-motifs' layers with Keras (importing the module does it)."""
    from keras_motifs import layers  # noqa: F401


if "keras" in sys.modules:
    _register_layers()
else:
    call_after_import("keras", _register_layers)
