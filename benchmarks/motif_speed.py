"""Benchmark: filter extraction, Tomtom and the motif-match callback.

1. PPM extraction of cnn-25's 30 first-layer filters on 5,000 x 200 sequences
   (target under 1 s), next to the first-layer forward pass alone over the same
   batches, its floor; ratio printed.
2. Tomtom (memelite, warm) of the 30 filters and of cnn-1's 128 second-layer
   filters against JASPAR 2016; ``--measure-compile`` also times memelite's
   one-time compile in an empty cache (via ``tomtom_speed.py``).
3. The one-time work of finding a layer and measuring its receptive field (what
   the callback does in ``on_train_begin``): cnn-25's first layer on 200 nt, and
   the last layer of a 20-layer dilated model (kernel 3, dilations 1, 2, 4, 8
   repeated, 32 filters) on 1,000 nt.
4. The callback's cost, epochs (validation included) alternating with and
   without it, scoring 1,000 validation sequences every epoch: cnn-25 on the full
   training set (17,500 sequences; target ratio <= 1.05) and a small user-style
   model (about 100k parameters, 2,000 training sequences; target ratio <= 1.25).
Run: ``python benchmarks/motif_speed.py [--epochs 3] [--rounds 3] [--measure-compile]``.
"""

import argparse
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import keras
from _timing import EpochTimer

from keras_motifs.callbacks import MotifMatchCallback
from keras_motifs.data.synthetic import simulate
from keras_motifs.defaults import PAPER
from keras_motifs.filters import extract_filters
from keras_motifs.models import build_model
from keras_motifs.motifs.jaspar import load_database
from keras_motifs.motifs.tomtom import tomtom
from keras_motifs.probe.inputs import SequenceInputs, random_sequences
from keras_motifs.probe.layer import probe_layer
from keras_motifs.training import compile_model, fit


def dilated_model(layers: int = 20, length: int = 1000) -> keras.Model:
    """A user-style dilated stack: residual Conv1D(32, 3) layers with dilations 1, 2, 4, 8 repeated."""
    inputs = keras.Input((length, 4))
    x = keras.layers.Conv1D(32, 3, padding="same", activation="relu", name="conv1")(inputs)
    for i in range(2, layers + 1):
        y = keras.layers.Conv1D(32, 3, padding="same", dilation_rate=2 ** ((i - 1) % 4), activation="relu",
                                name=f"conv{i}")(x)
        x = keras.layers.Add()([x, y])
    outputs = keras.layers.Dense(12, activation="sigmoid")(keras.layers.GlobalAveragePooling1D()(x))
    return keras.Model(inputs, outputs, name="dilated20")


def user_model() -> keras.Model:
    """A small user-style model, about 100k parameters: two conv blocks and a dense head."""
    inputs = keras.Input((200, 4))
    x = keras.layers.Conv1D(64, 15, padding="same", name="scan")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Activation("relu")(x)
    x = keras.layers.MaxPooling1D(10)(x)
    x = keras.layers.Conv1D(96, 5, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling1D(4)(x)
    x = keras.layers.Dense(128, activation="relu")(keras.layers.Flatten()(x))
    return keras.Model(inputs, keras.layers.Dense(12, activation="sigmoid")(x), name="user")


def callback_ratio(build, dataset, x_callback, epochs: int, rounds: int) -> tuple[float, float]:
    """Seconds per epoch (validation included, as users train) without and with the callback;
    fastest of alternating rounds."""
    without, with_callback = [], []
    for _ in range(rounds):  # alternate, so drift in machine load hits both alike
        for callbacks, times in (([], without), ([MotifMatchCallback(x_callback)], with_callback)):
            timer = EpochTimer()
            model = compile_model(build(), 1e-3)
            model.fit(dataset.x["train"], dataset.y["train"], validation_data=(dataset.x["valid"], dataset.y["valid"]),
                      epochs=epochs, batch_size=100, callbacks=[*callbacks, timer], verbose=0)
            times.append(timer.steady())
    return min(without), min(with_callback)


def best_of(repeats: int, action) -> float:
    """Median wall time of ``action()`` over ``repeats`` calls, after one warm-up call."""
    action()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; the fastest of each is kept")
    parser.add_argument("--measure-compile", action="store_true")
    args = parser.parse_args()
    data = simulate(num_seqs=25000, seed=0)
    x = data.x["test"]  # 5,000 x 200 x 4

    model = build_model("cnn-25")
    fit(model, data, replace(PAPER, epochs=1), verbose=0)  # trained a little, so filters fire like real ones
    probe = probe_layer(model, None, SequenceInputs(model, x))

    def forward():
        for start in range(0, len(x), 512):
            probe.feature_map(x[start : start + 512])

    extract = best_of(args.repeats, lambda: extract_filters(model, x))
    floor = best_of(args.repeats, forward)
    print(f"extraction of 30 filters on {len(x)} x 200: {extract:.3f} s; forward pass alone {floor:.3f} s; "
          f"ratio {extract / floor:.2f} (two passes: maxima, then windows; the layer found and measured once)")

    jaspar = load_database("JASPAR2016")
    first = extract_filters(model, x).motifs()
    deep = extract_filters(build_model("cnn-1"), x[:1000], layer="conv2").motifs()
    for name, queries in ((f"{len(first)} cnn-25 conv1 filters", first), (f"{len(deep)} cnn-1 conv2 filters", deep)):
        seconds = best_of(args.repeats, lambda q=queries: tomtom(q, jaspar))
        print(f"Tomtom (memelite, warm) of {name} against {len(jaspar)} JASPAR 2016 matrices: {seconds:.3f} s")
    if args.measure_compile:
        subprocess.run([sys.executable, str(Path(__file__).with_name("tomtom_speed.py")), "--measure-compile",
                        "--repeats", "1"], check=True)

    for name, network, length, layer in (("cnn-25 conv1", model, 200, None),
                                         ("the 20-layer dilated model's conv20", dilated_model(), 1000, "conv20")):
        sequences = random_sequences(8, length)
        seconds = best_of(args.repeats, lambda network=network, layer=layer, sequences=sequences: probe_layer(
            network, layer, SequenceInputs(network, sequences)))
        window = probe_layer(network, layer, SequenceInputs(network, sequences)).window
        print(f"finding and measuring {name} on {length} nt (once per fit): {seconds:.3f} s "
              f"(window {window.width} nt)")

    small = simulate(num_seqs=2000 * 10 // 7, seed=1)
    for name, build, dataset in (("cnn-25", lambda: build_model("cnn-25"), data), ("user model", user_model, small)):
        without, with_callback = callback_ratio(build, dataset, data.x["valid"][:1000], args.epochs, args.rounds)
        print(f"{name} ({build().count_params():,} parameters) epoch on {len(dataset.x['train'])} sequences "
              f"(and {len(dataset.x['valid'])} to validate): {without:.2f} s "
              f"without the callback, {with_callback:.2f} s with it every epoch on 1,000 sequences; "
              f"ratio {with_callback / without:.3f}")


if __name__ == "__main__":
    main()
