"""The sequence inputs of any Keras model: which input takes the one-hot sequences, in which layout.

Also random sequences to probe a model with.
"""

from __future__ import annotations

from collections.abc import Mapping

import keras
import numpy as np

from keras_motifs.errors import KerasMotifsError


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
        declared = declared_inputs(model)
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
            raise KerasMotifsError(
                f"the inputs of model {model.name!r} hold different numbers of rows: {sorted(lengths)}")
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
                raise KerasMotifsError(
                    f"{where} is declared {declared_shape}, not (None, length, 4) or (None, 4, length)")
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
            rows = {key: np.repeat(value[start : start + 1], len(sequences), axis=0)
                    for key, value in self.entries.items()}
            rows[self.key] = sequences.transpose(0, 2, 1) if self.channels_first else sequences
        if self.kind is None:
            return rows[None]
        if issubclass(self.kind, Mapping):
            return rows
        return [rows[index] for index in range(len(rows))]


def declared_inputs(model: keras.Model) -> list[tuple[str, tuple]] | None:
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
