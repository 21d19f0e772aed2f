"""Shared helper of the benchmarks: per-epoch wall time of a Keras fit."""

import time

import keras


class EpochTimer(keras.callbacks.Callback):
    """Record each epoch's wall time (including callbacks that ran before this one)."""

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)

    def steady(self) -> float:
        """Mean seconds per epoch after the first (which traces the graph)."""
        later = self.seconds[1:] or self.seconds
        return sum(later) / len(later)
