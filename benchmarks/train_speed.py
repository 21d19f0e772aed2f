"""Benchmark: seconds per epoch of keras-motifs training against a plain ``model.fit``.

For cnn-25 and cnn-1 on the full synthetic dataset (25,000 sequences of 200 nt),
trains the same architecture with ``keras_motifs.training.fit`` (early stopping,
no motif callback) and with a plain ``model.fit`` of the same compiled model, in
the same process, and prints seconds per epoch (first epoch, which traces the
graph, left out; fastest of alternating rounds) and their ratio. Target: ratio <= 1.05 (the wrapper costs nothing).
Run: ``python benchmarks/train_speed.py [--epochs 3] [--archs cnn-25,cnn-1]``.
"""

import argparse

from _timing import EpochTimer

from keras_motifs.data.synthetic import simulate
from keras_motifs.defaults import Protocol
from keras_motifs.models import build_model
from keras_motifs.training import compile_model, fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--archs", default="cnn-25,cnn-1")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; the fastest of each is kept")
    args = parser.parse_args()
    data = simulate(num_seqs=25000, seed=0)
    print(f"{'arch':<8} {'plain fit s/epoch':>18} {'keras-motifs s/epoch':>21} {'ratio':>7}")
    for arch in args.archs.split(","):
        plain, ours = [], []

        def plain_fit(arch=arch, plain=plain):
            timer = EpochTimer()
            model = compile_model(build_model(arch), 3e-4)
            model.fit(data.x["train"], data.y["train"], validation_data=(data.x["valid"], data.y["valid"]),
                      epochs=args.epochs, batch_size=100, callbacks=[timer], verbose=0)
            plain.append(timer.steady())

        def our_fit(arch=arch, ours=ours):
            timer = EpochTimer()
            fit(build_model(arch), data, Protocol(epochs=args.epochs, patience=20, lr=3e-4, batch_size=100),
                callbacks=[timer], verbose=0)
            ours.append(timer.steady())

        for round_ in range(args.rounds):  # alternate which goes first: drift in load hits both alike
            for run in (plain_fit, our_fit) if round_ % 2 == 0 else (our_fit, plain_fit):
                run()
        print(f"{arch:<8} {min(plain):>18.2f} {min(ours):>21.2f} {min(ours) / min(plain):>7.3f}", flush=True)


if __name__ == "__main__":
    main()
