"""The ``keras-motifs`` argument parser: every subcommand and its options."""

from __future__ import annotations

import argparse

from keras_motifs import __version__, defaults
from keras_motifs.cli import commands
from keras_motifs.cli.arguments import (
    add_former_name,
    add_import_option,
    fraction,
    fractions,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    run_name,
)
from keras_motifs.defaults import PAPER


def _add_simulate(sub) -> None:
    """``keras-motifs simulate``."""
    p = sub.add_parser("simulate", help="make the paper's synthetic dataset")
    p.add_argument("--out", required=True, help="output HDF5 file")
    p.add_argument("--num-seqs", type=positive_int, default=defaults.NUM_SEQS,
                   help=f"number of sequences (default {defaults.NUM_SEQS})")
    p.add_argument("--length", type=positive_int, default=defaults.LENGTH,
                   help=f"sequence length (default {defaults.LENGTH})")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    p.add_argument("--jaspar-release", default=defaults.JASPAR_RELEASE, help="JASPAR release (default JASPAR2016)")
    p.add_argument("--tfs", nargs="+", metavar="ID_OR_NAME", help="JASPAR IDs or TF names (default: the paper's 12)")
    p.set_defaults(handler=commands.simulate_command)


def _add_train(sub) -> None:
    """``keras-motifs train``."""
    p = sub.add_parser("train", help="train one architecture; write a run folder")
    p.add_argument("--data", required=True, help="dataset HDF5 file")
    p.add_argument("--arch", required=True, help="architecture name (see 'describe') or spec JSON file")
    p.add_argument("--out", required=True, help="run folder to create")
    p.add_argument("--epochs", type=positive_int, default=PAPER.epochs,
                   help=f"maximum epochs (default {PAPER.epochs}, the paper's)")
    p.add_argument("--patience", type=non_negative_int, default=PAPER.patience,
                   help=f"early-stopping patience (default {PAPER.patience})")
    p.add_argument("--lr", type=positive_float, default=PAPER.lr,
                   help=f"Adam learning rate (default {PAPER.lr:g}, the paper's; its released code ran 1e-3)")
    p.add_argument("--batch-size", type=positive_int, default=PAPER.batch_size,
                   help=f"batch size (default {PAPER.batch_size})")
    p.add_argument("--monitor", choices=list(defaults.MONITORS), default=PAPER.monitor,
                   help=f"what early stopping watches (default {PAPER.monitor}, the paper's)")
    p.add_argument("--min-delta", type=non_negative_float, default=PAPER.min_delta,
                   help="smallest change of --monitor that counts as an improvement (default 0)")
    p.add_argument("--lr-patience", type=non_negative_int, default=PAPER.lr_patience,
                   help="epochs without improvement before the learning rate is cut "
                        "(default 0: constant, the paper's)")
    p.add_argument("--lr-factor", type=fraction, default=PAPER.lr_factor,
                   help=f"what each cut multiplies the learning rate by (default {PAPER.lr_factor})")
    p.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    p.add_argument("--trial", type=non_negative_int, default=0, help="trial number to record (default 0)")
    group = p.add_mutually_exclusive_group()
    every = group.add_argument("--callback-every", type=positive_int, default=1, metavar="N",
                               help="score first-layer filters against JASPAR every N epochs (default 1)")
    add_former_name(group, "--motif-callback-every", every)
    group.add_argument("--no-motif-callback", dest="callback_every", action="store_const", const=0,
                       help="do not score filters during training")
    p.add_argument("--jaspar-release", default=defaults.JASPAR_RELEASE, help="JASPAR release (default JASPAR2016)")
    p.add_argument("--engine", choices=list(defaults.ENGINES), default=defaults.ENGINE,
                   help=f"Tomtom engine of the motif callback (default {defaults.ENGINE})")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    p.add_argument("--require-gpu", action="store_true",
                   help="fail at once when the backend sees no GPU (config.json records the device either way)")
    p.set_defaults(handler=commands.train_command, uses_keras=True)


def _add_describe(sub) -> None:
    """``keras-motifs describe``."""
    p = sub.add_parser("describe", help="receptive fields: the pooling bottleneck of an architecture, or each "
                                        "layer of a saved model measured, and which layers can be read as motifs")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--arch", help="architecture name or spec JSON file")
    what.add_argument("--model", help="a saved Keras model (.keras): every layer's measured receptive field")
    p.add_argument("--length", type=positive_int, default=200,
                   help="input length of --arch, or of a --model that takes any length (default 200)")
    add_import_option(p)
    p.set_defaults(handler=commands.describe_command, uses_keras=True)


def _add_filters(sub) -> None:
    """``keras-motifs filters``."""
    p = sub.add_parser("filters", help="extract filters of a trained model as PPMs (MEME format)")
    p.add_argument("--model", required=True, help="a saved Keras model (.keras)")
    p.add_argument("--data", required=True, help="dataset HDF5 file whose sequences drive the filters")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--out", help="MEME file for one layer (a per-filter .tsv is written beside it)")
    out.add_argument("--out-dir", help="folder for <layer>.meme and <layer>.filters.tsv of each layer")
    p.add_argument("--layer", action="append",
                   help="layer path (stem/conv1), unique name, index, or 'all' "
                        "(repeatable; default: the first convolution)")
    p.add_argument("--split", choices=list(defaults.SPLITS), default="test", help="sequences (default test)")
    p.add_argument("--method", choices=list(defaults.EXTRACTION_METHODS), default="code",
                   help="'code': released code's 0.5 x max, activation-weighted; 'paper': 0.7 x max, one window "
                        "per sequence (default code)")
    p.add_argument("--window", type=positive_int,
                   help=f"align this many positions per filter, placed as the released code placed them "
                        f"({defaults.RELEASED_WINDOW} there, for every model); default: the layer's receptive field")
    add_import_option(p)
    p.set_defaults(handler=commands.filters_command, uses_keras=True)


def _add_database(p: argparse.ArgumentParser, description: str) -> None:
    """``--database`` (formerly ``--db``) of ``tomtom`` and ``score``."""
    add_former_name(p, "--db", p.add_argument("--database", default=defaults.JASPAR_RELEASE, help=description))


def _add_evalue_threshold(p: argparse.ArgumentParser) -> None:
    """``--evalue-threshold`` (formerly ``--thresh``) of ``tomtom`` and ``score``."""
    add_former_name(p, "--thresh", p.add_argument(
        "--evalue-threshold", type=positive_float, default=defaults.EVALUE_THRESHOLD, metavar="E",
        help=f"E-value threshold of a match (default {defaults.EVALUE_THRESHOLD})"))


def _add_tomtom(sub) -> None:
    """``keras-motifs tomtom``."""
    p = sub.add_parser("tomtom", help="compare motifs with a database by Tomtom")
    p.add_argument("--query", required=True, help="query motifs (MEME format)")
    p.add_argument("--out", required=True, help="output tsv (Tomtom's columns)")
    _add_database(p, "JASPAR release name or a MEME file (default JASPAR2016)")
    p.add_argument("--engine", choices=list(defaults.ENGINES), default=defaults.ENGINE,
                   help=f"Tomtom engine (default {defaults.ENGINE})")
    _add_evalue_threshold(p)
    p.add_argument("--min-overlap", type=positive_int, default=1, help="minimum overlap, meme engine only (default 1)")
    p.add_argument("--dist", default="ed", help="column distance, meme engine only; memelite: ed (default ed)")
    p.add_argument("--allow-empty", action="store_true",
                   help="accept a query file without motifs (a layer whose filters never activated): "
                        "write an empty table instead of failing")
    p.set_defaults(handler=commands.tomtom_command)


def _add_score(sub) -> None:
    """``keras-motifs score``."""
    p = sub.add_parser("score", help="match fractions of filters from a Tomtom table")
    p.add_argument("--tomtom", required=True, help="Tomtom tsv")
    p.add_argument("--filters", required=True,
                   help="the layer's .filters.tsv (every filter, also empty ones) or its MEME file")
    p.add_argument("--out", required=True, help="output JSON")
    p.add_argument("--ground-truth", default="synthetic",
                   help="'synthetic' (the paper's 12 TFs), a dataset .h5, or a JSON TF -> JASPAR IDs "
                        "(e.g. from ground-truth) (default synthetic)")
    _add_database(p, "JASPAR release or MEME file naming the targets (default JASPAR2016)")
    _add_evalue_threshold(p)
    p.set_defaults(handler=commands.score_command)


def _add_ground_truth(sub) -> None:
    """``keras-motifs ground-truth``."""
    p = sub.add_parser("ground-truth", help="write a dataset's class -> JASPAR IDs mapping as JSON, for score")
    p.add_argument("--data", required=True, help="dataset HDF5 file")
    p.add_argument("--out", required=True, help="output JSON (an empty object when no class has motif IDs)")
    p.set_defaults(handler=commands.ground_truth_command)


def _add_importance(sub) -> None:
    """``keras-motifs importance``."""
    p = sub.add_parser("importance", help="filter importance: each filter of a layer ablated, loss and AUROC "
                                          "per class")
    p.add_argument("--model", required=True, help="a saved Keras model (.keras)")
    p.add_argument("--data", required=True, help="dataset HDF5 file with the labels")
    p.add_argument("--out", required=True, help="output TSV, one row per filter")
    p.add_argument("--layer", help="layer path, unique name or index (default: the first convolution)")
    p.add_argument("--split", choices=list(defaults.SPLITS), default="test", help="sequences (default test)")
    p.add_argument("--ablation", choices=["mean", "zero"], default="mean",
                   help="replace a filter's activations by their mean over the data, or by zero (default mean)")
    add_import_option(p)
    p.set_defaults(handler=commands.importance_command, uses_keras=True)


def _add_jaspar(sub) -> None:
    """``keras-motifs jaspar``."""
    p = sub.add_parser("jaspar", help="write JASPAR CORE vertebrates of a release as a MEME file")
    p.add_argument("--release", default=defaults.JASPAR_RELEASE, help="JASPAR release (default JASPAR2016)")
    p.add_argument("--out", required=True, help="output MEME file")
    p.set_defaults(handler=commands.jaspar_command)


def _add_report(sub) -> None:
    """``keras-motifs report``."""
    p = sub.add_parser("report", help="write the report (table, logos, plots, HTML) from run folders")
    p.add_argument("--runs", nargs="+", required=True, help="trained-run folders")
    p.add_argument("--out", required=True, help="report folder")
    p.add_argument("--expect", nargs="+", type=run_name, default=[], metavar="ARCH/trialK",
                   help="runs meant to be in the report (runs/<arch>/trial<k> names): each one missing gets a note")
    p.set_defaults(handler=commands.report_command)


def _add_run(sub) -> None:
    """``keras-motifs run``."""
    p = sub.add_parser("run", help="reproduce the paper's experiment end to end and write a report")
    p.add_argument("--out", required=True, help="experiment folder (re-run to resume)")
    p.add_argument("--profile", choices=["quick", "paper"], default="quick", help="preset sweep (default quick)")
    p.add_argument("--config", help="YAML sweep file with the same keys as these options")
    p.add_argument("--archs", help="comma-separated architecture names")
    p.add_argument("--trials", type=positive_int, help="trials per architecture")
    p.add_argument("--epochs", type=positive_int, help="maximum epochs")
    p.add_argument("--patience", type=non_negative_int, help="early-stopping patience")
    p.add_argument("--monitor", choices=list(defaults.MONITORS), help="what early stopping watches")
    p.add_argument("--lr-patience", type=non_negative_int,
                   help="epochs without improvement before the learning rate is cut (0: never)")
    p.add_argument("--num-seqs", type=positive_int, help="synthetic sequences")
    p.add_argument("--data", help="use this dataset instead of simulating")
    p.add_argument("--engine", choices=list(defaults.ENGINES), help="Tomtom engine")
    p.add_argument("--jaspar-release", help="JASPAR release")
    p.add_argument("--seed", type=non_negative_int, help="base random seed")
    p.add_argument("--window", type=positive_int,
                   help=f"positions aligned per filter (profile paper: {defaults.RELEASED_WINDOW}, the released "
                        "code's; quick: each layer's receptive field)")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="runs trained and analysed at once, each in its own process with an equal share of the "
                        "cores, sharing the GPU (default 1: one after another, in this process)")
    p.set_defaults(handler=commands.run_command, uses_keras=True)


def _add_deepsea(sub) -> None:
    """``keras-motifs deepsea``."""
    p = sub.add_parser("deepsea", help="convert DeepSEA's training bundle to the 12-TF in vivo dataset")
    p.add_argument("--bundle", required=True, help="folder or .tar.gz with train.mat, valid.mat, test.mat")
    p.add_argument("--out", required=True, help="output HDF5 file")
    p.add_argument("--classes", nargs="+", metavar="NAME=INDEX",
                   help="DeepSEA label columns to keep, e.g. CTCF=123 (default: the paper's 12 TFs)")
    p.add_argument("--chunk-size", type=positive_int, default=8192, help="train.mat rows read at a time (default 8192)")
    p.add_argument("--motif-ids", help="JSON: class -> JASPAR IDs counted as its motif (default: the paper's)")
    p.add_argument("--jaspar-release", default=defaults.JASPAR_RELEASE, help="JASPAR release (default JASPAR2016)")
    p.set_defaults(handler=commands.deepsea_command)


def _add_encode(sub) -> None:
    """``keras-motifs encode``."""
    p = sub.add_parser("encode", help="encode labelled FASTA sequences as a dataset")
    p.add_argument("--fasta", help="one FASTA file, split at random by --split")
    p.add_argument("--train-fasta", help="train FASTA (with --valid-fasta and --test-fasta: a fixed split)")
    p.add_argument("--valid-fasta", help="validation FASTA")
    p.add_argument("--test-fasta", help="test FASTA")
    p.add_argument("--labels", required=True, help="TSV: header 'id' then class names; one 0/1 row per record")
    p.add_argument("--out", required=True, help="output HDF5 file")
    p.add_argument("--split", type=fractions, default=(0.7, 0.1, 0.2), help="train,valid,test fractions")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of the split (default 0)")
    p.add_argument("--ambiguous", choices=["uniform", "zeros"], default="uniform",
                   help="IUPAC codes such as N: spread over the bases they stand for, or all zeros (default uniform)")
    p.add_argument("--length-mode", choices=["error", "pad", "crop"], default="error",
                   help="unequal lengths: reject, or centre-pad/crop to --length (default error)")
    p.add_argument("--length", type=positive_int, help="target length for pad/crop (default longest/shortest)")
    p.add_argument("--motif-ids", help="JSON: class -> JASPAR IDs counted as its motif when scoring")
    p.add_argument("--jaspar-release", default=defaults.JASPAR_RELEASE, help="JASPAR release (default JASPAR2016)")
    p.set_defaults(handler=commands.encode_command)


def _add_port(sub) -> None:
    """``keras-motifs port``."""
    p = sub.add_parser("port", help="port a TF1 checkpoint of the authors' released code to a .keras model")
    p.add_argument("--checkpoint", required=True, help="checkpoint prefix (cnn_25_best.ckpt) or its .index file")
    p.add_argument("--arch", required=True,
                   help="architecture it is of: a registry name (cnn-25) or the released code's (cnn_25)")
    p.add_argument("--out", required=True, help="the .keras model to write")
    p.add_argument("--length", type=positive_int, default=200, help="sequence length it was trained on (default 200)")
    p.set_defaults(handler=commands.port_command, uses_keras=True)


#: Each subcommand's parser, in the order ``--help`` lists them.
SUBCOMMANDS = (
    _add_simulate,
    _add_train,
    _add_describe,
    _add_filters,
    _add_tomtom,
    _add_score,
    _add_ground_truth,
    _add_importance,
    _add_jaspar,
    _add_report,
    _add_run,
    _add_deepsea,
    _add_encode,
    _add_port,
)


def build_parser() -> argparse.ArgumentParser:
    """Return the ``keras-motifs`` argument parser (subcommands and their options)."""
    parser = argparse.ArgumentParser(
        prog="keras-motifs",
        description="CNNs for regulatory DNA whose filters you can read as motifs (Koo & Eddy 2019).",
    )
    parser.add_argument("--version", action="version", version=f"keras-motifs {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    parser.add_argument("--threads", type=positive_int,
                        help="threads per pool of TensorFlow, BLAS and numba (default: one per core this process "
                             "may use); the pipeline passes each task's cpus")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(sub)
    return parser
