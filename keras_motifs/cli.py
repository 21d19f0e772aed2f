"""The ``keras-motifs`` command-line tool: thin front doors to the package's functions.

Every subcommand validates its inputs, writes its outputs atomically and, on bad
input, prints one line ``keras-motifs: error: ...`` and exits with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import signal
import sys
import threading
import time
import types
from pathlib import Path
from typing import Iterator

from keras_motifs import __version__, defaults
from keras_motifs._runtime import GPU_SHARING_VARIABLES, thread_environment
from keras_motifs.defaults import PAPER
from keras_motifs.errors import KerasMotifsError
from keras_motifs.fileio import discard_temporaries, os_error_reason

DEFAULT_RELEASE = defaults.JASPAR_RELEASE


def _bounded(convert, minimum: float, strict: bool, what: str):
    """An argparse type: ``convert(text)``, at least (or, if ``strict``, above) ``minimum``."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not math.isfinite(value) or value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


_positive_int = _bounded(int, 1, False, "a positive integer")
_non_negative_int = _bounded(int, 0, False, "an integer >= 0")
_positive_float = _bounded(float, 0, True, "a positive number")
_non_negative_float = _bounded(float, 0, False, "a number >= 0")


def _run_name(text: str) -> tuple[str, int]:
    """argparse type: a run as its folder is named under runs/, ``ARCH/trialK`` -> (ARCH, K)."""
    arch, _, trial = text.rpartition("/trial")
    if not arch or not trial.isdigit():
        raise argparse.ArgumentTypeError(f"expected a run as ARCH/trialK (e.g. cnn-25/trial0), got {text!r}")
    return arch, int(trial)


def _add_import_option(parser: argparse.ArgumentParser) -> None:
    """``--import MODULE_OR_FILE`` (repeatable): the user's code that registers a saved model's custom objects."""
    parser.add_argument("--import", dest="imports", action="append", metavar="MODULE_OR_FILE",
                        help="a module (mylab.layers) or Python file (./layers.py) that registers the model's custom "
                             "layers or classes with Keras, imported before loading it (repeatable)")


def _fraction(text: str) -> float:
    """argparse type: a number strictly between 0 and 1."""
    value = _positive_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    return value


def _fractions(text: str) -> tuple[float, float, float]:
    """argparse type: three comma-separated fractions, e.g. 0.7,0.1,0.2."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected three fractions like 0.7,0.1,0.2, got {text!r}") from None
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"expected three fractions like 0.7,0.1,0.2, got {text!r}")
    return values


# ---------------------------------------------------------------- handlers


def _simulate(args) -> None:
    from keras_motifs.data import simulate, write_dataset

    dataset = simulate(
        num_seqs=args.num_seqs, length=args.length, tfs=args.tfs, seed=args.seed, jaspar_release=args.jaspar_release
    )
    write_dataset(args.out, dataset)
    sizes = ", ".join(f"{len(dataset.x[s])} {s}" for s in dataset.x)
    print(f"wrote {args.out}: {sizes} sequences of {dataset.input_length} nt, {dataset.num_classes} classes")


def _resolve_arch(text: str):
    """An architecture argument: a registry name or a spec JSON file."""
    from keras_motifs.models import get_spec, load_spec

    if text.endswith(".json") or os.path.sep in text:
        return load_spec(text)
    return get_spec(text)


def _train(args) -> None:
    from keras_motifs.data import load_dataset
    from keras_motifs.training import train_run, training_device

    spec = _resolve_arch(args.arch)
    training_device(args.require_gpu)  # a missing GPU fails before the dataset is read
    dataset = load_dataset(args.data)
    metrics = train_run(
        dataset, spec, args.out, epochs=args.epochs, patience=args.patience, learning_rate=args.lr,
        batch_size=args.batch_size, seed=args.seed, trial=args.trial, overwrite=args.overwrite, verbose=2,
        motif_every=args.motif_callback_every, jaspar_release=args.jaspar_release, engine=args.engine,
        monitor=args.monitor, min_delta=args.min_delta, lr_patience=args.lr_patience, lr_factor=args.lr_factor,
        require_gpu=args.require_gpu,
    )
    auroc, aupr = (f"{v:.3f}" if v is not None else "n/a" for v in (metrics["mean_auroc"], metrics["mean_aupr"]))
    print(f"wrote {args.out}: test mean AUROC {auroc}, mean AUPR {aupr}")


def _describe(args) -> None:
    if args.model is not None:
        from keras_motifs.filters import load_model
        from keras_motifs.probe import describe_model

        print(describe_model(load_model(args.model), length=args.length).summary())
        return
    from keras_motifs.models import receptive_fields

    print(receptive_fields(_resolve_arch(args.arch), input_length=args.length).summary())


def _filters(args) -> None:
    from keras_motifs.filters import write_layer_motifs

    for meme_path in write_layer_motifs(
        args.model, args.data, layers=args.layer, split=args.split, method=args.method,
        out=args.out, out_dir=args.out_dir, window=args.window,
    ):
        print(f"wrote {meme_path}")


def _tomtom(args) -> None:
    from keras_motifs.motifs import read_meme
    from keras_motifs.tomtom import load_database, tomtom, write_tomtom_tsv

    query = read_meme(args.query, allow_empty=args.allow_empty)
    table = tomtom(query, load_database(args.db), engine=args.engine, thresh=args.thresh,
                   min_overlap=args.min_overlap, dist=args.dist)
    write_tomtom_tsv(table, args.out)
    print(f"wrote {args.out}: {len(table)} hits for {table['Query_ID'].nunique()} query motifs")


def _score(args) -> None:
    from keras_motifs.scoring import score_files

    score = score_files(args.tomtom, args.filters, args.out, ground_truth=args.ground_truth,
                        evalue_threshold=args.thresh, database=args.db)
    text = f"wrote {args.out}: {score['match_any_frac']:.3f} of {score['num_filters']} filters match the database"
    if score["match_gt_frac"] is not None:
        text += f", {score['match_gt_frac']:.3f} a ground-truth motif"
    print(text)


def _ground_truth(args) -> None:
    from keras_motifs.scoring import write_ground_truth

    mapping = write_ground_truth(args.data, args.out)
    print(f"wrote {args.out}: JASPAR IDs of {len(mapping)} classes")


def _importance(args) -> None:
    from keras_motifs.importance import write_importance

    table = write_importance(args.model, args.data, args.out, layer=args.layer, split=args.split,
                             ablation=args.ablation)
    top = table.sort_values("importance", ascending=False).iloc[0]
    print(f"wrote {args.out}: {len(table)} filters of {top['layer']}; most important {top['filter']} "
          f"(loss +{top['importance']:.4f}, mostly {top['top_class']})")


def _jaspar(args) -> None:
    from keras_motifs.jaspar import load_jaspar
    from keras_motifs.motifs import write_meme

    motifs = load_jaspar(args.release)
    write_meme(motifs, args.out)
    print(f"wrote {args.out}: {len(motifs)} {args.release} CORE vertebrate matrices")


def _report(args) -> None:
    from keras_motifs.report import write_report

    path = write_report([Path(run) for run in args.runs], Path(args.out), expected_runs=args.expect)
    print(f"wrote {path}")


def _run(args) -> None:
    from keras_motifs.experiment import resolve_sweep, run_experiment

    sweep = resolve_sweep(
        args.profile, args.config, archs=args.archs, trials=args.trials, epochs=args.epochs,
        patience=args.patience, monitor=args.monitor, lr_patience=args.lr_patience, num_seqs=args.num_seqs, data=args.data, engine=args.engine, jaspar_release=args.jaspar_release,
        seed=args.seed, window=args.window,
    )
    start = time.monotonic()
    ran = run_experiment(sweep, args.out, workers=args.workers)
    print(f"wrote {Path(args.out) / 'report.html'}: {len(ran)} steps ran in {(time.monotonic() - start) / 60:.1f} min")


def _classes(items: list[str] | None) -> dict:
    """``--classes NAME=INDEX ...`` as convert_deepsea's class_names and class_indices."""
    if not items:
        return {}
    names, indices = [], []
    for item in ",".join(items).split(","):
        name, _, index = item.partition("=")
        if not name or not index.strip().isdigit():
            raise KerasMotifsError(f"--classes: {item!r} is not NAME=INDEX (a DeepSEA label column)")
        names.append(name.strip())
        indices.append(int(index))
    return {"class_names": names, "class_indices": indices}


def _motif_ids(path: str | None):
    """``--motif-ids`` JSON file: class -> JASPAR IDs."""
    from keras_motifs.fileio import read_json

    return read_json(path, what="motif ID mapping") if path else None


def _deepsea(args) -> None:
    from keras_motifs.deepsea import convert_deepsea

    summary = convert_deepsea(
        args.bundle, args.out, **_classes(args.classes), chunk_size=args.chunk_size,
        class_motif_ids=_motif_ids(args.motif_ids), jaspar_release=args.jaspar_release,
    )
    kept = ", ".join(f"{part['kept']} {split}" for split, part in summary["splits"].items())
    print(f"wrote {args.out}: {kept} sequences of {summary['length']} nt in {summary['seconds']:.0f} s")


def _encode(args) -> None:
    from keras_motifs.encode import encode_fasta

    if args.fasta:
        fasta = args.fasta
    elif args.train_fasta and args.valid_fasta and args.test_fasta:
        fasta = {"train": args.train_fasta, "valid": args.valid_fasta, "test": args.test_fasta}
    else:
        raise KerasMotifsError("give --fasta, or all three of --train-fasta, --valid-fasta and --test-fasta")
    summary = encode_fasta(
        fasta, args.labels, args.out, split=args.split, seed=args.seed, ambiguous=args.ambiguous,
        length_mode=args.length_mode, length=args.length, class_motif_ids=_motif_ids(args.motif_ids),
        jaspar_release=args.jaspar_release,
    )
    sizes = ", ".join(f"{n} {split}" for split, n in summary["num_sequences"].items())
    print(f"wrote {args.out}: {sizes} sequences of {summary['length']} nt, classes {', '.join(summary['class_names'])}")


def _port(args) -> None:
    from keras_motifs.released import RELEASED_NAMES, port_checkpoint

    arch = RELEASED_NAMES.get(args.arch, args.arch)
    port_checkpoint(args.checkpoint, arch, args.out, input_length=args.length)
    print(f"wrote {args.out}: {arch} with the weights of {args.checkpoint}")


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """Return the ``keras-motifs`` argument parser (subcommands and their options)."""
    parser = argparse.ArgumentParser(
        prog="keras-motifs",
        description="CNNs for regulatory DNA whose filters you can read as motifs (Koo & Eddy 2019).",
    )
    parser.add_argument("--version", action="version", version=f"keras-motifs {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    parser.add_argument("--threads", type=_positive_int,
                        help="threads per pool of TensorFlow, BLAS and numba (default: one per core this process "
                             "may use); the pipeline passes each task's cpus")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("simulate", help="make the paper's synthetic dataset")
    p.add_argument("--out", required=True, help="output HDF5 file")
    p.add_argument("--num-seqs", type=_positive_int, default=defaults.NUM_SEQS,
                   help=f"number of sequences (default {defaults.NUM_SEQS})")
    p.add_argument("--length", type=_positive_int, default=defaults.LENGTH,
                   help=f"sequence length (default {defaults.LENGTH})")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--jaspar-release", default=DEFAULT_RELEASE, help="JASPAR release (default JASPAR2016)")
    p.add_argument("--tfs", nargs="+", metavar="ID_OR_NAME", help="JASPAR IDs or TF names (default: the paper's 12)")
    p.set_defaults(handler=_simulate)

    p = sub.add_parser("train", help="train one architecture; write a run folder")
    p.add_argument("--data", required=True, help="dataset HDF5 file")
    p.add_argument("--arch", required=True, help="architecture name (see 'describe') or spec JSON file")
    p.add_argument("--out", required=True, help="run folder to create")
    p.add_argument("--epochs", type=_positive_int, default=PAPER.epochs,
                   help=f"maximum epochs (default {PAPER.epochs}, the paper's)")
    p.add_argument("--patience", type=_non_negative_int, default=PAPER.patience,
                   help=f"early-stopping patience (default {PAPER.patience})")
    p.add_argument("--lr", type=_positive_float, default=PAPER.lr,
                   help=f"Adam learning rate (default {PAPER.lr:g}, the paper's; its released code ran 1e-3)")
    p.add_argument("--batch-size", type=_positive_int, default=PAPER.batch_size,
                   help=f"batch size (default {PAPER.batch_size})")
    p.add_argument("--monitor", choices=["val_loss", "val_auroc", "val_aupr"], default=PAPER.monitor,
                   help=f"what early stopping watches (default {PAPER.monitor}, the paper's)")
    p.add_argument("--min-delta", type=_non_negative_float, default=PAPER.min_delta,
                   help="smallest change of --monitor that counts as an improvement (default 0)")
    p.add_argument("--lr-patience", type=_non_negative_int, default=PAPER.lr_patience,
                   help="epochs without improvement before the learning rate is cut "
                        "(default 0: constant, the paper's)")
    p.add_argument("--lr-factor", type=_fraction, default=PAPER.lr_factor,
                   help=f"what each cut multiplies the learning rate by (default {PAPER.lr_factor})")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--trial", type=_non_negative_int, default=0, help="trial number to record (default 0)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--motif-callback-every", type=_positive_int, default=1,
                       help="score first-layer filters against JASPAR every N epochs (default 1)")
    group.add_argument("--no-motif-callback", dest="motif_callback_every", action="store_const", const=0,
                       help="do not score filters during training")
    p.add_argument("--jaspar-release", default=DEFAULT_RELEASE, help="JASPAR release (default JASPAR2016)")
    p.add_argument("--engine", choices=["memelite", "meme"], default=defaults.ENGINE,
                   help=f"Tomtom engine of the motif callback (default {defaults.ENGINE})")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    p.add_argument("--require-gpu", action="store_true",
                   help="fail at once when the backend sees no GPU (config.json records the device either way)")
    p.set_defaults(handler=_train, uses_keras=True)

    p = sub.add_parser("describe", help="receptive fields: the pooling bottleneck of an architecture, or each "
                                        "layer of a saved model measured, and which layers can be read as motifs")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--arch", help="architecture name or spec JSON file")
    what.add_argument("--model", help="a saved Keras model (.keras): every layer's measured receptive field")
    p.add_argument("--length", type=_positive_int, default=200,
                   help="input length of --arch, or of a --model that takes any length (default 200)")
    _add_import_option(p)
    p.set_defaults(handler=_describe, uses_keras=True)

    p = sub.add_parser("filters", help="extract filters of a trained model as PPMs (MEME format)")
    p.add_argument("--model", required=True, help="a saved Keras model (.keras)")
    p.add_argument("--data", required=True, help="dataset HDF5 file whose sequences drive the filters")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--out", help="MEME file for one layer (a per-filter .tsv is written beside it)")
    out.add_argument("--out-dir", help="folder for <layer>.meme and <layer>.filters.tsv of each layer")
    p.add_argument("--layer", action="append",
                   help="layer path (stem/conv1), unique name, index, or 'all' "
                        "(repeatable; default: the first convolution)")
    p.add_argument("--split", choices=["train", "valid", "test"], default="test", help="sequences (default test)")
    p.add_argument("--method", choices=["code", "paper"], default="code",
                   help="'code': released code's 0.5 x max, activation-weighted; 'paper': 0.7 x max, one window "
                        "per sequence (default code)")
    p.add_argument("--window", type=_positive_int,
                   help=f"align this many positions per filter, placed as the released code placed them "
                        f"({defaults.RELEASED_WINDOW} there, for every model); default: the layer's receptive field")
    _add_import_option(p)
    p.set_defaults(handler=_filters, uses_keras=True)

    p = sub.add_parser("tomtom", help="compare motifs with a database by Tomtom")
    p.add_argument("--query", required=True, help="query motifs (MEME format)")
    p.add_argument("--out", required=True, help="output tsv (Tomtom's columns)")
    p.add_argument("--db", default=DEFAULT_RELEASE, help="JASPAR release name or a MEME file (default JASPAR2016)")
    p.add_argument("--engine", choices=["memelite", "meme"], default=defaults.ENGINE,
                   help=f"Tomtom engine (default {defaults.ENGINE})")
    p.add_argument("--thresh", type=_positive_float, default=defaults.EVALUE_THRESHOLD,
                   help=f"E-value threshold (default {defaults.EVALUE_THRESHOLD})")
    p.add_argument("--min-overlap", type=_positive_int, default=1, help="minimum overlap, meme engine only (default 1)")
    p.add_argument("--dist", default="ed", help="column distance, meme engine only; memelite: ed (default ed)")
    p.add_argument("--allow-empty", action="store_true",
                   help="accept a query file without motifs (a layer whose filters never activated): "
                        "write an empty table instead of failing")
    p.set_defaults(handler=_tomtom)

    p = sub.add_parser("score", help="match fractions of filters from a Tomtom table")
    p.add_argument("--tomtom", required=True, help="Tomtom tsv")
    p.add_argument("--filters", required=True,
                   help="the layer's .filters.tsv (every filter, also empty ones) or its MEME file")
    p.add_argument("--out", required=True, help="output JSON")
    p.add_argument("--ground-truth", default="synthetic",
                   help="'synthetic' (the paper's 12 TFs), a dataset .h5, or a JSON TF -> JASPAR IDs "
                        "(e.g. from ground-truth) (default synthetic)")
    p.add_argument("--db", default=DEFAULT_RELEASE, help="JASPAR release or MEME file naming the targets")
    p.add_argument("--thresh", type=_positive_float, default=defaults.EVALUE_THRESHOLD,
                   help=f"E-value threshold (default {defaults.EVALUE_THRESHOLD})")
    p.set_defaults(handler=_score)

    p = sub.add_parser("ground-truth", help="write a dataset's class -> JASPAR IDs mapping as JSON, for score")
    p.add_argument("--data", required=True, help="dataset HDF5 file")
    p.add_argument("--out", required=True, help="output JSON (an empty object when no class has motif IDs)")
    p.set_defaults(handler=_ground_truth)

    p = sub.add_parser("importance", help="filter importance: each filter of a layer ablated, loss and AUROC "
                                          "per class")
    p.add_argument("--model", required=True, help="a saved Keras model (.keras)")
    p.add_argument("--data", required=True, help="dataset HDF5 file with the labels")
    p.add_argument("--out", required=True, help="output TSV, one row per filter")
    p.add_argument("--layer", help="layer path, unique name or index (default: the first convolution)")
    p.add_argument("--split", choices=["train", "valid", "test"], default="test", help="sequences (default test)")
    p.add_argument("--ablation", choices=["mean", "zero"], default="mean",
                   help="replace a filter's activations by their mean over the data, or by zero (default mean)")
    _add_import_option(p)
    p.set_defaults(handler=_importance, uses_keras=True)

    p = sub.add_parser("jaspar", help="write JASPAR CORE vertebrates of a release as a MEME file")
    p.add_argument("--release", default=DEFAULT_RELEASE, help="JASPAR release (default JASPAR2016)")
    p.add_argument("--out", required=True, help="output MEME file")
    p.set_defaults(handler=_jaspar)

    p = sub.add_parser("report", help="write the report (table, logos, plots, HTML) from run folders")
    p.add_argument("--runs", nargs="+", required=True, help="trained-run folders")
    p.add_argument("--out", required=True, help="report folder")
    p.add_argument("--expect", nargs="+", type=_run_name, default=[], metavar="ARCH/trialK",
                   help="runs meant to be in the report (runs/<arch>/trial<k> names): each one missing gets a note")
    p.set_defaults(handler=_report)

    p = sub.add_parser("run", help="reproduce the paper's experiment end to end and write a report")
    p.add_argument("--out", required=True, help="experiment folder (re-run to resume)")
    p.add_argument("--profile", choices=["quick", "paper"], default="quick", help="preset sweep (default quick)")
    p.add_argument("--config", help="YAML sweep file with the same keys as these options")
    p.add_argument("--archs", help="comma-separated architecture names")
    p.add_argument("--trials", type=_positive_int, help="trials per architecture")
    p.add_argument("--epochs", type=_positive_int, help="maximum epochs")
    p.add_argument("--patience", type=_non_negative_int, help="early-stopping patience")
    p.add_argument("--monitor", choices=["val_loss", "val_auroc", "val_aupr"], help="what early stopping watches")
    p.add_argument("--lr-patience", type=_non_negative_int,
                   help="epochs without improvement before the learning rate is cut (0: never)")
    p.add_argument("--num-seqs", type=_positive_int, help="synthetic sequences")
    p.add_argument("--data", help="use this dataset instead of simulating")
    p.add_argument("--engine", choices=["memelite", "meme"], help="Tomtom engine")
    p.add_argument("--jaspar-release", help="JASPAR release")
    p.add_argument("--seed", type=int, help="base random seed")
    p.add_argument("--window", type=_positive_int,
                   help=f"positions aligned per filter (profile paper: {defaults.RELEASED_WINDOW}, the released "
                        "code's; quick: each layer's receptive field)")
    p.add_argument("--workers", type=_positive_int, default=1,
                   help="runs trained and analysed at once, each in its own process with an equal share of the "
                        "cores, sharing the GPU (default 1: one after another, in this process)")
    p.set_defaults(handler=_run, uses_keras=True)

    p = sub.add_parser("deepsea", help="convert DeepSEA's training bundle to the 12-TF in vivo dataset")
    p.add_argument("--bundle", required=True, help="folder or .tar.gz with train.mat, valid.mat, test.mat")
    p.add_argument("--out", required=True, help="output HDF5 file")
    p.add_argument("--classes", nargs="+", metavar="NAME=INDEX",
                   help="DeepSEA label columns to keep, e.g. CTCF=123 (default: the paper's 12 TFs)")
    p.add_argument("--chunk-size", type=_positive_int, default=8192, help="train.mat rows read at a time (default 8192)")
    p.add_argument("--motif-ids", help="JSON: class -> JASPAR IDs counted as its motif (default: the paper's)")
    p.add_argument("--jaspar-release", default=DEFAULT_RELEASE, help="JASPAR release (default JASPAR2016)")
    p.set_defaults(handler=_deepsea)

    p = sub.add_parser("encode", help="encode labelled FASTA sequences as a dataset")
    p.add_argument("--fasta", help="one FASTA file, split at random by --split")
    p.add_argument("--train-fasta", help="train FASTA (with --valid-fasta and --test-fasta: a fixed split)")
    p.add_argument("--valid-fasta", help="validation FASTA")
    p.add_argument("--test-fasta", help="test FASTA")
    p.add_argument("--labels", required=True, help="TSV: header 'id' then class names; one 0/1 row per record")
    p.add_argument("--out", required=True, help="output HDF5 file")
    p.add_argument("--split", type=_fractions, default=(0.7, 0.1, 0.2), help="train,valid,test fractions")
    p.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    p.add_argument("--ambiguous", choices=["uniform", "zeros"], default="uniform",
                   help="IUPAC codes such as N: spread over the bases they stand for, or all zeros (default uniform)")
    p.add_argument("--length-mode", choices=["error", "pad", "crop"], default="error",
                   help="unequal lengths: reject, or centre-pad/crop to --length (default error)")
    p.add_argument("--length", type=_positive_int, help="target length for pad/crop (default longest/shortest)")
    p.add_argument("--motif-ids", help="JSON: class -> JASPAR IDs counted as its motif when scoring")
    p.add_argument("--jaspar-release", default=DEFAULT_RELEASE, help="JASPAR release (default JASPAR2016)")
    p.set_defaults(handler=_encode)

    p = sub.add_parser("port", help="port a TF1 checkpoint of the authors' released code to a .keras model")
    p.add_argument("--checkpoint", required=True, help="checkpoint prefix (cnn_25_best.ckpt) or its .index file")
    p.add_argument("--arch", required=True,
                   help="architecture it is of: a registry name (cnn-25) or the released code's (cnn_25)")
    p.add_argument("--out", required=True, help="the .keras model to write")
    p.add_argument("--length", type=_positive_int, default=200, help="sequence length it was trained on (default 200)")
    p.set_defaults(handler=_port, uses_keras=True)
    return parser


def _import_keras_quietly() -> None:
    """Import Keras with its backend's native start-up lines (TensorFlow, CUDA) kept off the terminal."""
    # 3, not 2: on every CPU machine TensorFlow logs a cuInit ERROR when training starts. --verbose (or the
    # variable set by the user) shows everything.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import keras  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def _ending_on_signals() -> Iterator[types.SimpleNamespace]:
    """While the block runs, SIGINT and SIGTERM end the process at once, cleanly.

    The handler raises nothing into the code it lands in (an exception there can be
    swallowed, as in a ``__del__``, or mangled, as in compiled numba code): it
    removes the temporaries being written, flushes the output, prints the yielded
    object's ``note`` on standard error (as it was on entry, even if file descriptor
    2 is redirected meanwhile) and exits with status 128 + the signal's number: 130
    for SIGINT, 143 for SIGTERM. Nothing half-written remains, since final names
    are only made by a rename. Signals that the parent process set to be ignored
    stay ignored; outside the main thread, where Python cannot set handlers,
    nothing changes. The previous handlers return afterwards.
    """
    ending = types.SimpleNamespace(note="keras-motifs: interrupted")
    if threading.current_thread() is not threading.main_thread():
        yield ending
        return
    stderr = os.dup(2)

    def end(signum: int, frame) -> None:
        try:
            discard_temporaries()
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):  # a closed pipe, or a write that this signal interrupted
                    stream.flush()
            os.write(stderr, f"{ending.note}\n".encode())
        finally:
            os._exit(128 + signum)

    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        for signum, handler in previous.items():
            if handler is not signal.SIG_IGN:
                signal.signal(signum, end)
        yield ending
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        os.close(stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the command-line tool; return its exit status. SIGINT and SIGTERM end the process (exit 130, 143)."""
    with _ending_on_signals() as ending:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command == "run":
            ending.note += "; run the same command again to continue"
        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(name)s: %(message)s"
        )
        logging.getLogger("keras_motifs").setLevel(logging.INFO)
        if args.threads:
            os.environ.update(thread_environment(args.threads))
        for name, value in GPU_SHARING_VARIABLES.items():  # processes on one GPU share its memory
            os.environ.setdefault(name, value)
        try:
            if getattr(args, "uses_keras", False) and not args.verbose:
                _import_keras_quietly()
            if getattr(args, "imports", None):
                from keras_motifs.usercode import import_user_code

                import_user_code(args.imports)
            args.handler(args)
        except KerasMotifsError as err:
            print(f"keras-motifs: error: {err}", file=sys.stderr)
            return 2
        except OSError as err:  # a disk or permission problem away from the outputs: one line, no traceback
            where = f"{err.filename}: " if err.filename else ""
            print(f"keras-motifs: error: {where}{os_error_reason(err)}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
