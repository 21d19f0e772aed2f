"""Benchmark: where an epoch of training goes, before and after taking the per-step overhead away.

Per architecture of the ``quick`` profile, on its data (25,000 simulated sequences, written
and read back as the sweep reads them: uint8 one-hot), each setting trains a few epochs with
the quick protocol's batch (50), early stopping and the motif callback on 1,000 validation
sequences, as ``keras-motifs run`` does. Each epoch is split into training steps, validation,
the motif callback (extraction and Tomtom) and the rest (callbacks' bookkeeping, early
stopping's copy of the weights). The first epoch (graph tracing) is left out; rounds
alternate the settings' order and each setting's fastest round is kept. Settings:

- ``before``: the code before this change: AUROC and AUPR at every training and validation
  step, one step per compiled call;
- ``no metrics``: only the loss (what early stopping on ``val_loss`` reads), one step per call;
- ``steps per call``: both metrics, :func:`keras_motifs.training.choose_steps_per_execution`'s
  steps per call;
- ``fit``: :func:`keras_motifs.training.fit` as shipped (both changes);
- ``fit, float32 x``: ``fit`` on sequences cast to float32 once, before training, instead
  of Keras casting each uint8 batch in the compiled step;
- ``N per call`` (``--steps-per-call N,...``): only the loss, N steps per call, to size the
  choice on another device (a GPU).

Run: ``python benchmarks/train_speed.py [--epochs 3] [--rounds 2] [--archs cnn-1,cnn-25]
[--steps-per-call 350]``.
"""

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np

from keras_motifs.callbacks import MotifMatchCallback
from keras_motifs.data.reader import load_dataset
from keras_motifs.data.synthetic import simulate
from keras_motifs.data.writer import write_dataset
from keras_motifs.defaults import QUICK
from keras_motifs.models import build_model
from keras_motifs.sweep.settings import resolve_sweep
from keras_motifs.training import choose_steps_per_execution, compile_model, fit, protocol_callbacks

PARTS = ("train", "valid", "motif", "other")


class TimedMotifCallback(MotifMatchCallback):
    """The motif callback, with the wall time of each epoch's scoring kept."""

    def on_epoch_end(self, epoch, logs=None):
        start = time.perf_counter()
        super().on_epoch_end(epoch, logs)
        self.seconds = time.perf_counter() - start


class EpochSplit(keras.callbacks.Callback):
    """Split each epoch into its parts; listed last, so that every other callback's time is inside."""

    def __init__(self, motif: TimedMotifCallback):
        super().__init__()
        self.motif, self.rows = motif, []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_test_begin(self, logs=None):
        self.valid_start = time.perf_counter()

    def on_test_end(self, logs=None):
        self.valid_end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        end = time.perf_counter()
        train, valid = self.valid_start - self.start, self.valid_end - self.valid_start
        self.rows.append((train, valid, self.motif.seconds, end - self.start - train - valid - self.motif.seconds))

    def steady(self) -> np.ndarray:
        """Mean seconds of each part over the epochs after the first."""
        return np.mean(self.rows[1:] or self.rows, axis=0)


def train_with(setting: str, arch: str, dataset, epochs: int) -> np.ndarray:
    """Seconds per epoch of each part under one setting."""
    protocol = replace(QUICK, epochs=epochs)
    motif = TimedMotifCallback.for_dataset(dataset, every=1)
    split = EpochSplit(motif)
    keras.utils.set_random_seed(0)
    model = build_model(arch)
    if setting.startswith("fit"):
        if setting == "fit, float32 x":
            dataset = replace(dataset, x={name: x.astype("float32") for name, x in dataset.x.items()})
        fit(model, dataset, protocol, callbacks=[motif, split], verbose=0)
        return split.steady()
    steps = -(-len(dataset.x["train"]) // protocol.batch_size)
    if setting.endswith(" per call") and setting != "steps per call":  # "N per call"
        compile_model(model, protocol.lr, metrics=(), steps_per_execution=int(setting.split()[0]))
    else:
        compile_model(model, protocol.lr, metrics=() if setting == "no metrics" else ("auroc", "aupr"),
                      steps_per_execution=choose_steps_per_execution(protocol.batch_size, steps)
                      if setting == "steps per call" else 1)
    model.fit(dataset.x["train"], dataset.y["train"], validation_data=(dataset.x["valid"], dataset.y["valid"]),
              epochs=epochs, batch_size=protocol.batch_size, verbose=0,
              callbacks=[*protocol_callbacks(protocol), motif, split])
    return split.steady()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; the fastest of each is kept")
    parser.add_argument("--archs", default=",".join(resolve_sweep("quick").archs))
    parser.add_argument("--num-seqs", type=int, default=resolve_sweep("quick").num_seqs)
    parser.add_argument("--steps-per-call", default="", help="more settings: only the loss, N steps per call")
    args = parser.parse_args()
    settings = ("before", "no metrics", "steps per call", "fit", "fit, float32 x",
                *(f"{int(n)} per call" for n in args.steps_per_call.split(",") if n))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthetic.h5"
        write_dataset(path, simulate(num_seqs=args.num_seqs, seed=0))
        dataset = load_dataset(path)
    print(f"x {dataset.x['train'].dtype}, {len(dataset.x['train'])} training sequences, batch {QUICK.batch_size}; "
          "seconds per epoch: training steps + validation + motif callback + rest = total (ratio to before)")
    for arch in args.archs.split(","):
        best = {}
        for round_ in range(args.rounds):
            for setting in settings if round_ % 2 == 0 else settings[::-1]:
                parts = train_with(setting, arch, dataset, args.epochs)
                if setting not in best or parts.sum() < best[setting].sum():
                    best[setting] = parts
        before = best["before"].sum()
        for setting in settings:
            parts = best[setting]
            cells = " + ".join(f"{name} {value:5.2f}" for name, value in zip(PARTS, parts))
            print(f"{arch:<8} {setting:<15} {cells} = {parts.sum():5.2f} ({parts.sum() / before:.2f})", flush=True)


if __name__ == "__main__":
    main()
