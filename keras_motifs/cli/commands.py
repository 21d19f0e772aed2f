"""The ``keras-motifs`` subcommands: thin front doors to the package's functions.

Each takes the parsed arguments, calls one function of the package (imported when the
command runs, so that the command line starts at once) and prints one line of what it wrote.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from keras_motifs.errors import KerasMotifsError


def simulate_command(args) -> None:
    from keras_motifs.data.synthetic import simulate
    from keras_motifs.data.writer import write_dataset

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


def train_command(args) -> None:
    from keras_motifs.data.reader import load_dataset
    from keras_motifs.defaults import Protocol
    from keras_motifs.training import train_run, training_device

    spec = _resolve_arch(args.arch)
    training_device(args.require_gpu)  # a missing GPU fails before the dataset is read
    dataset = load_dataset(args.data)
    protocol = Protocol(epochs=args.epochs, patience=args.patience, lr=args.lr, batch_size=args.batch_size,
                        monitor=args.monitor, min_delta=args.min_delta, lr_patience=args.lr_patience,
                        lr_factor=args.lr_factor)
    metrics = train_run(
        dataset, spec, args.out, protocol, seed=args.seed, trial=args.trial, overwrite=args.overwrite, verbose=2,
        callback_every=args.callback_every, jaspar_release=args.jaspar_release, engine=args.engine,
        require_gpu=args.require_gpu,
    )
    auroc, aupr = (f"{v:.3f}" if v is not None else "n/a" for v in (metrics["mean_auroc"], metrics["mean_aupr"]))
    print(f"wrote {args.out}: test mean AUROC {auroc}, mean AUPR {aupr}")


def describe_command(args) -> None:
    if args.model is not None:
        from keras_motifs.filters import load_model
        from keras_motifs.probe.describe import describe_model

        print(describe_model(load_model(args.model), length=args.length).summary())
        return
    from keras_motifs.models import receptive_fields

    print(receptive_fields(_resolve_arch(args.arch), input_length=args.length).summary())


def filters_command(args) -> None:
    from keras_motifs.filters import write_layer_motifs

    for meme_path in write_layer_motifs(
        args.model, args.data, layers=args.layer, split=args.split, method=args.method,
        out=args.out, out_dir=args.out_dir, window=args.window,
    ):
        print(f"wrote {meme_path}")


def tomtom_command(args) -> None:
    from keras_motifs.motifs.jaspar import load_database
    from keras_motifs.motifs.meme import read_meme
    from keras_motifs.motifs.tomtom import tomtom
    from keras_motifs.motifs.tomtom_table import write_tomtom_tsv

    query = read_meme(args.query, allow_empty=args.allow_empty)
    table = tomtom(query, load_database(args.database), engine=args.engine, thresh=args.evalue_threshold,
                   min_overlap=args.min_overlap, dist=args.dist)
    write_tomtom_tsv(table, args.out)
    print(f"wrote {args.out}: {len(table)} hits for {table['Query_ID'].nunique()} query motifs")


def score_command(args) -> None:
    from keras_motifs.data.ground_truth import resolve_ground_truth
    from keras_motifs.motifs.scoring import score_files

    score = score_files(args.tomtom, args.filters, args.out, ground_truth=resolve_ground_truth(args.ground_truth),
                        evalue_threshold=args.evalue_threshold, database=args.database)
    text = f"wrote {args.out}: {score['match_any_frac']:.3f} of {score['num_filters']} filters match the database"
    if score["match_gt_frac"] is not None:
        text += f", {score['match_gt_frac']:.3f} a ground-truth motif"
    print(text)


def ground_truth_command(args) -> None:
    from keras_motifs.data.ground_truth import write_ground_truth

    mapping = write_ground_truth(args.data, args.out)
    print(f"wrote {args.out}: JASPAR IDs of {len(mapping)} classes")


def importance_command(args) -> None:
    from keras_motifs.importance import write_importance

    table = write_importance(args.model, args.data, args.out, layer=args.layer, split=args.split,
                             ablation=args.ablation)
    top = table.sort_values("importance", ascending=False).iloc[0]
    print(f"wrote {args.out}: {len(table)} filters of {top['layer']}; most important {top['filter']} "
          f"(loss +{top['importance']:.4f}, mostly {top['top_class']})")


def jaspar_command(args) -> None:
    from keras_motifs.motifs.jaspar import load_jaspar
    from keras_motifs.motifs.meme import write_meme

    motifs = load_jaspar(args.release)
    write_meme(motifs, args.out)
    print(f"wrote {args.out}: {len(motifs)} {args.release} CORE vertebrate matrices")


def report_command(args) -> None:
    from keras_motifs.report.write import write_report

    path = write_report([Path(run) for run in args.runs], Path(args.out), expected_runs=args.expect)
    print(f"wrote {path}")


def run_command(args) -> None:
    from keras_motifs.sweep.run import run_experiment
    from keras_motifs.sweep.settings import resolve_sweep

    sweep = resolve_sweep(
        args.profile, args.config, archs=args.archs, trials=args.trials, epochs=args.epochs,
        patience=args.patience, monitor=args.monitor, lr_patience=args.lr_patience, num_seqs=args.num_seqs,
        data=args.data, engine=args.engine, jaspar_release=args.jaspar_release,
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
    from keras_motifs.io.files import read_json

    return read_json(path, what="motif ID mapping") if path else None


def deepsea_command(args) -> None:
    from keras_motifs.data.deepsea import convert_deepsea

    summary = convert_deepsea(
        args.bundle, args.out, **_classes(args.classes), chunk_size=args.chunk_size,
        class_motif_ids=_motif_ids(args.motif_ids), jaspar_release=args.jaspar_release,
    )
    kept = ", ".join(f"{part['kept']} {split}" for split, part in summary["splits"].items())
    print(f"wrote {args.out}: {kept} sequences of {summary['length']} nt in {summary['seconds']:.0f} s")


def encode_command(args) -> None:
    from keras_motifs.data.encode import encode_fasta

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


def port_command(args) -> None:
    from keras_motifs.released import RELEASED_NAMES, port_checkpoint

    arch = RELEASED_NAMES.get(args.arch, args.arch)
    port_checkpoint(args.checkpoint, arch, args.out, input_length=args.length)
    print(f"wrote {args.out}: {arch} with the weights of {args.checkpoint}")
