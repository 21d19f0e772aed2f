"""Benchmark: how well K trainings at once share one GPU, as ``keras-motifs run --workers K`` runs them.

For each K (``--concurrent 1,2,4,8``), starts K processes at once, each with the
environment a ``run --workers K`` worker gets (:func:`keras_motifs.sweep.pool.worker_environment`:
an equal share of the cores, TensorFlow's memory growth, JAX without preallocation), each
training ``--arch`` for ``--epochs`` epochs with :func:`keras_motifs.training.fit` (the quick
protocol's batch, the motif callback on) on the same simulated data. Prints per K: the
steady seconds per epoch of each training (first epoch left out), the epochs per minute the
K together train, the speed-up over K = 1, the wall time, and the peak GPU memory each
process held; then the projected wall time of ``--trainings`` trainings of
``--epochs-per-training`` epochs on one GPU at each K.
Run: ``python benchmarks/gpu_share.py [--concurrent 1,2,4,8] [--arch cnn-25] [--epochs 4]``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def child(data: str, arch: str, epochs: int, allow_cpu: bool) -> None:
    """One training; prints a JSON line with its steady seconds per epoch and peak GPU memory."""
    import keras
    from _timing import EpochTimer

    from keras_motifs.callbacks import MotifMatchCallback
    from keras_motifs.data.reader import load_dataset
    from keras_motifs.defaults import QUICK
    from keras_motifs.models import build_model
    from keras_motifs.training import fit, training_device

    device = training_device(require_gpu=not allow_cpu)
    dataset = load_dataset(data)
    timer = EpochTimer()
    keras.utils.set_random_seed(0)
    fit(build_model(arch), dataset, replace(QUICK, epochs=epochs),
        callbacks=[MotifMatchCallback.for_dataset(dataset, every=1), timer], verbose=0)
    peak = None
    if keras.backend.backend() == "tensorflow" and device.startswith("gpu"):
        import tensorflow as tf

        peak = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    print(json.dumps({"device": device, "epoch_seconds": timer.steady(), "peak_mib": peak}), flush=True)


def run_together(k: int, data: str, arch: str, epochs: int, allow_cpu: bool) -> tuple[list[dict], float]:
    """K trainings started at once; their results and the wall time until the last ended."""
    from keras_motifs.sweep.pool import worker_environment

    environment = {**os.environ, **worker_environment(k), "PYTHONPATH": os.pathsep.join(sys.path)}
    start = time.monotonic()
    processes = [subprocess.Popen([sys.executable, __file__, "--child", data, "--arch", arch, "--epochs", str(epochs),
                                   *(["--allow-cpu"] if allow_cpu else [])],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
                 for _ in range(k)]
    results = []
    for process in processes:
        out, err = process.communicate()
        if process.returncode:
            sys.exit(f"a training of K = {k} failed:\n{err[-3000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results, time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrent", default="1,2,4,8")
    parser.add_argument("--arch", default="cnn-25")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--trainings", type=int, default=85, help="the paper profile's: 17 architectures x 5 trials")
    parser.add_argument("--epochs-per-training", type=int, default=70,
                        help="epochs one training runs (the paper protocol stops within 100)")
    parser.add_argument("--num-seqs", type=int, default=25000)
    parser.add_argument("--allow-cpu", action="store_true",
                        help="try the script where no GPU is (its figures then say nothing about a GPU)")
    parser.add_argument("--child", metavar="DATA", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.arch, args.epochs, args.allow_cpu)
        return
    from keras_motifs.data.synthetic import simulate
    from keras_motifs.data.writer import write_dataset

    with tempfile.TemporaryDirectory() as tmp:
        data = str(Path(tmp) / "synthetic.h5")
        write_dataset(data, simulate(num_seqs=args.num_seqs, seed=0))
        rates = {}
        for k in (int(v) for v in args.concurrent.split(",")):
            results, wall = run_together(k, data, args.arch, args.epochs, args.allow_cpu)
            seconds = [r["epoch_seconds"] for r in results]
            rates[k] = sum(60 / s for s in seconds)
            peaks = ", ".join(f"{r['peak_mib']:.0f}" for r in results if r["peak_mib"] is not None) or "-"
            print(f"{args.arch} K={k}: s/epoch {' '.join(f'{s:.2f}' for s in seconds)}; {rates[k]:.1f} epochs/min "
                  f"together ({rates[k] / rates[min(rates)]:.2f} x K=1); wall {wall:.0f} s; peak GPU MiB {peaks}; "
                  f"on {results[0]['device']}", flush=True)
    total = args.trainings * args.epochs_per_training
    for k, rate in rates.items():
        print(f"projection: {args.trainings} trainings x {args.epochs_per_training} epochs of {args.arch}-sized "
              f"models at K={k}: {total / rate:.0f} min of training on one GPU")


if __name__ == "__main__":
    main()
