"""A layer's input window, measured: each input position changed in turn, and the feature-map positions that move."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import keras
import numpy as np

from keras_motifs.layers import ConvBlock
from keras_motifs.probe.calls import forward
from keras_motifs.probe.inputs import SequenceInputs, random_sequences
from keras_motifs.probe.paths import layer_paths, parent_paths
from keras_motifs.probe.trace import (
    CONV_TYPES,
    ELEMENTWISE_TYPES,
    TracedCall,
    bases_reason,
    has_filters,
    mixing,
    output_shape,
    trace_calls,
)

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


class Probing:
    """One model on one set of inputs: its traced calls, and measurements on them."""

    def __init__(self, model: keras.Model, inputs: SequenceInputs):
        self.model, self.inputs = model, inputs
        self.paths = layer_paths(model)
        self.calls = trace_calls(model, self.paths, inputs.model_inputs(0, 1))
        self.index = {id(call.layer): i for i, call in enumerate(self.calls)}
        self._readable: dict[int, tuple[Window | str, int]] = {}  # measured once, on the structural weights

    def run(self, sequences: np.ndarray, capture, perturb=None) -> list[np.ndarray]:
        """Captured outputs for channels-last ``sequences`` (other inputs from the first row)."""
        return forward(self.model, self.inputs.model_inputs(0, sequences=sequences), capture, perturb)

    def read_call(self, index: int) -> TracedCall:
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
        shapes = {i: output_shape(self.calls[i].output) for i in indices}
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
            reason = mixing(call)
            if reason is None:
                continue
            if m in indices:
                reasons[m] = reason
            others = [i for i in indices
                      if i != m and i not in reasons and output_shape(self.calls[i].output) is not None]
            if not others:
                continue
            capture = [self.calls[i].layer for i in others]
            plain = self.run(sequences, capture)
            noise = np.random.default_rng(3).normal(size=(len(sequences), *output_shape(call.output)[1:]))
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
                and not any(isinstance(self.paths.get(parent), ConvBlock) for parent in parent_paths(call.path))]

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
        return None if seen == 4 else bases_reason(seen)

    def shared_notes(self, indices: Sequence[int]) -> dict[int, str]:
        """Per call index: a note when it combines the calls of a layer with filters that runs several times per
        pass (one convolution on both strands), whose motifs it then mixes.

        A call that runs several times itself is read at its first call, one strand,
        and gets no note.
        """
        notes: dict[int, str] = {}
        sequences = random_sequences(PROBE_SEQUENCES, self.inputs.length, seed=7)
        for call in self.calls:
            if call.runs < 2 or not call.leaf or not has_filters(call.layer):
                continue
            others = [i for i in indices if self.calls[i].runs == 1 and i not in notes
                      and output_shape(self.calls[i].output) is not None]
            if not others:
                continue
            capture = [self.calls[i].layer for i in others]
            plain = self.run(sequences, capture)
            moved = self.run(sequences, capture, perturb=(call.layer, np.float32(0.5)))
            for i, before, after in zip(others, plain, moved):
                if _movement(np.stack([before, after])).any():
                    notes[i] = (f"combines the {call.runs} calls of {call.path!r}, a layer run {call.runs} times "
                                "per pass (weights shared, e.g. across both strands): its motifs may mix a motif "
                                f"with its reverse complement; read {call.path!r} (its first call) for one "
                                "strand's motifs")
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
