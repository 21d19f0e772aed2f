"""The authors' released models: TF1 checkpoints of Koo & Eddy's code, ported to keras-motifs.

The code released with the paper (github.com/p-koo/learning_sequence_motifs, built on
its ``deepomics`` library, TensorFlow 1) saved each trained model as a TF1 checkpoint
(``results/synthetic/model_params/<model>_best.ckpt.*``). Its variables, per conv
block ``i`` (0-based) and for the hidden (``dense_0``) and output (``dense_1``) layers:

=====================================================  =====================  =====================
released variable                                      shape                  keras-motifs weight
=====================================================  =====================  =====================
``conv1d_i/conv1d/Variable``                           (k, 1, c_in, c_out)    ``conv{i+1}`` kernel
``conv1d_i/norm/Variable``, ``.../Variable_1``         (c_out,)               its BatchNorm gamma, beta
``conv1d_i/moments/Squeeze/ExponentialMovingAverage``  (c_out,)               moving mean
``conv1d_i/moments/Squeeze_1/ExponentialMovingAverage``  (c_out,)             moving variance
``dense_0/dense/Variable`` (+ norm, moments)           (inputs, units)        ``dense``, ``dense_bn``
``dense_1/dense/Variable``, ``dense_1/bias/Variable``  (units, classes)       ``output`` kernel, bias
=====================================================  =====================  =====================

Optimizer slots (``*/adam``, ``*/adam_1``, ``*/Adam*``, ``beta1_power``...) are skipped.
The released BatchNorm divides by ``sqrt(var + 1e-8)``, Keras' by ``sqrt(var + 1e-3)``:
gamma is scaled by ``sqrt(var + 1e-3) / sqrt(var + 1e-8)`` so that the Keras layer
computes what the released one did (copied as is, predictions move by up to 0.45).
The flattened features are in the same order (positions major, channels minor).

Reading a checkpoint needs TensorFlow (``tf.train.load_checkpoint``); nothing else here does.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from keras_motifs.errors import KerasMotifsError
from keras_motifs.io.files import atomic_file

__all__ = ["RELEASED_EPSILON", "RELEASED_NAMES", "port_checkpoint", "read_checkpoint", "released_model"]

#: BatchNorm epsilon of the released code (deepomics ``BatchNormLayer``).
RELEASED_EPSILON = 1e-8
#: Model names of the released code -> keras-motifs architecture names.
RELEASED_NAMES = {
    "cnn_1": "cnn-1", "cnn_2": "cnn-2", "cnn_4": "cnn-4", "cnn_10": "cnn-10", "cnn_25": "cnn-25",
    "cnn_50": "cnn-50", "cnn_100": "cnn-100", "cnn_50_2": "cnn-50-2", "cnn9_4": "cnn9-4",
    "cnn9_25": "cnn9-25", "cnn3_2": "cnn3-2", "cnn3_50": "cnn3-50", "cnn_2_1": "cnn19-1-2",
    "cnn_1_3": "cnn-1-1-100", "cnn_25_60": "cnn-25-60", "cnn_25_90": "cnn-25-90", "cnn_25_120": "cnn-25-120",
}
_OPTIMIZER_SLOT = re.compile(r"(^|/)(adam(_\d+)?|Adam(_\d+)?|beta[12]_power)$")


def _checkpoint_prefix(path: str | os.PathLike) -> Path:
    """The checkpoint prefix of ``PREFIX``, ``PREFIX.index`` or ``PREFIX.data-*``."""
    path = Path(path)
    name = re.sub(r"\.(index|meta|data-\d+-of-\d+)$", "", path.name)
    prefix = path.with_name(name)
    if not prefix.with_name(prefix.name + ".index").is_file():
        raise KerasMotifsError(f"{path}: no TensorFlow checkpoint there (expected {prefix.name}.index beside its "
                               f".data-* files)")
    return prefix


def read_checkpoint(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read the model variables of a TF1 checkpoint, optimizer slots left out.

    Parameters
    ----------
    path : str or PathLike
        The checkpoint prefix (``cnn_25_best.ckpt``) or its ``.index`` file.

    Returns
    -------
    dict of str to numpy.ndarray
        Variable name -> value.
    """
    prefix = _checkpoint_prefix(path)
    try:
        import tensorflow as tf
    except ImportError:
        raise KerasMotifsError("reading a TF1 checkpoint needs TensorFlow (pip install tensorflow)") from None
    try:
        reader = tf.train.load_checkpoint(str(prefix))
        names = reader.get_variable_to_shape_map()
        return {name: np.asarray(reader.get_tensor(name)) for name in sorted(names)
                if not _OPTIMIZER_SLOT.search(name)}
    except (tf.errors.OpError, ValueError) as err:
        reason = str(err).splitlines()[0][:200]
        raise KerasMotifsError(f"{path}: cannot read the TensorFlow checkpoint ({reason})") from None


def _folded_gamma(gamma: np.ndarray, variance: np.ndarray, epsilon: float) -> np.ndarray:
    """Gamma for a BatchNorm with ``epsilon`` that computes what one with :data:`RELEASED_EPSILON` computed."""
    return gamma * np.sqrt(variance + epsilon) / np.sqrt(variance + RELEASED_EPSILON)


def released_model(variables: dict[str, np.ndarray], arch: str, input_length: int = 200, where: str = "checkpoint"):
    """Build ``arch`` and set its weights from the released variables (see the module's table).

    Parameters
    ----------
    variables : dict of str to numpy.ndarray
        From :func:`read_checkpoint`.
    arch : str
        The keras-motifs architecture the checkpoint is of, e.g. ``"cnn-25"``
        (:data:`RELEASED_NAMES` maps the released names).
    input_length : int
        Sequence length the model was trained on. Default is 200.
    where : str
        How to name the checkpoint in errors. Default is "checkpoint".

    Returns
    -------
    keras.Model
        The architecture, inference identical to the released graph.

    Raises
    ------
    KerasMotifsError
        A variable missing, left over, or of another shape than the architecture
        needs: the message names the checkpoint, the variable and both shapes.
    """
    from keras_motifs.models import build_model, get_spec

    spec = get_spec(arch)
    bias = variables.get("dense_1/bias/Variable")
    if bias is None or bias.ndim != 1:
        raise KerasMotifsError(f"{where}: no output layer (dense_1/bias/Variable); not a checkpoint of the "
                               "released code's models")
    model = build_model(spec, input_length=input_length, num_classes=int(bias.shape[0]))
    used: set[str] = set()

    def take(name: str, shape: tuple, what: str) -> np.ndarray:
        if name not in variables:
            raise KerasMotifsError(f"{where}: variable {name} is missing ({spec.name}'s {what} needs shape {shape})")
        value = variables[name]
        if value.shape != tuple(shape):
            raise KerasMotifsError(f"{where}: variable {name} has shape {value.shape}, but {spec.name}'s {what} "
                                   f"has shape {tuple(shape)}")
        used.add(name)
        return value.astype(np.float32)

    def batch_norm(scope: str, layer, what: str) -> None:
        size = (layer.gamma.shape[0],)
        gamma = take(f"{scope}/norm/Variable", size, f"{what} BatchNorm gamma")
        beta = take(f"{scope}/norm/Variable_1", size, f"{what} BatchNorm beta")
        mean = take(f"{scope}/moments/Squeeze/ExponentialMovingAverage", size, f"{what} moving mean")
        variance = take(f"{scope}/moments/Squeeze_1/ExponentialMovingAverage", size, f"{what} moving variance")
        layer.set_weights([_folded_gamma(gamma, variance, layer.epsilon), beta, mean, variance])

    for i in range(len(spec.conv_layers)):
        block = model.get_layer(f"conv{i + 1}")
        k, c_in, c_out = block.conv.kernel.shape
        kernel = take(f"conv1d_{i}/conv1d/Variable", (k, 1, c_in, c_out), f"conv{i + 1} kernel")
        block.conv.set_weights([kernel[:, 0]])
        batch_norm(f"conv1d_{i}", block.bn, f"conv{i + 1}")
    model.get_layer("dense").set_weights([take("dense_0/dense/Variable", model.get_layer("dense").kernel.shape,
                                               "dense kernel")])
    batch_norm("dense_0", model.get_layer("dense_bn"), "dense")
    output = model.get_layer("output")
    output.set_weights([take("dense_1/dense/Variable", output.kernel.shape, "output kernel"),
                        take("dense_1/bias/Variable", output.bias.shape, "output bias")])
    unused = sorted(set(variables) - used)
    if unused:
        raise KerasMotifsError(f"{where}: variable {unused[0]} (shape {variables[unused[0]].shape}) has no place in "
                               f"{spec.name}" + (f" (and {len(unused) - 1} more)" if len(unused) > 1 else ""))
    return model


def port_checkpoint(checkpoint: str | os.PathLike, arch: str, out: str | os.PathLike,
                    input_length: int = 200) -> Path:
    """Port a released TF1 checkpoint to a saved keras-motifs model (``.keras``), atomically.

    Parameters
    ----------
    checkpoint : str or PathLike
        The checkpoint prefix (``cnn_25_best.ckpt``) or its ``.index`` file.
    arch : str
        The keras-motifs architecture it is of, e.g. ``"cnn-25"``.
    out : str or PathLike
        The ``.keras`` file to write; written whole or not at all.
    input_length : int
        Sequence length the model was trained on. Default is 200.

    Returns
    -------
    Path
        ``out``.
    """
    out = Path(out)
    if out.suffix != ".keras":
        raise KerasMotifsError(f"{out}: a ported model is saved as .keras; give a file name ending in .keras")
    model = released_model(read_checkpoint(checkpoint), arch, input_length=input_length, where=str(checkpoint))
    with atomic_file(out) as tmp:
        staged = tmp.with_name(f"{tmp.stem}.keras")  # Keras saves only to names ending in .keras
        try:
            model.save(staged)
            os.replace(staged, tmp)
        finally:
            staged.unlink(missing_ok=True)
    return out
