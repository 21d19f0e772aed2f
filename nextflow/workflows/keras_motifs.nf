/*
 * KERAS_MOTIFS: the experiment of `keras-motifs run`, one task per step.
 *
 * Data prep once (SIMULATE, or --data), one GPU task per architecture x trial (TRAIN), then
 * per run and per conv layer: FILTERS -> TOMTOM -> SCORE and IMPORTANCE, and one REPORT.
 * Every process is a thin call of the keras-motifs CLI (or MEME's tomtom): no science here.
 * Each task writes its piece of a run folder in the layout `keras-motifs run` writes,
 * runs/<arch>/trial<k>/ (keras_motifs.io.runfolder), and conf/modules.config publishes it under
 * --outdir as soon as the task ends, so a later failure loses nothing already computed.
 */

include { SIMULATE        } from '../modules/local/simulate'
include { JASPAR          } from '../modules/local/jaspar'
include { GROUND_TRUTH    } from '../modules/local/ground_truth'
include { TRAIN           } from '../modules/local/train'
include { FILTERS         } from '../modules/local/filters'
include { TOMTOM          } from '../modules/local/tomtom'
include { TOMTOM_MEMELITE } from '../modules/local/tomtom_memelite'
include { SCORE           } from '../modules/local/score'
include { IMPORTANCE      } from '../modules/local/importance'
include { REPORT          } from '../modules/local/report'

workflow KERAS_MOTIFS {
    take:
    data           // the user's dataset (HDF5), or null: simulate num_seqs sequences with seed
    num_seqs       // int
    seed           // int: the simulation's, and trial t trains with seed + t
    archs          // list of architecture names
    trials         // int: trials per architecture
    jaspar_release // e.g. 'JASPAR2016'
    engine         // 'meme' (MEME suite tomtom) or 'memelite'
    external_runs  // glob of run folders trained elsewhere, to add to the report, or null

    main:
    ch_versions = channel.empty()

    // Dataset: simulated once, or the user's HDF5 (docs/design.md layout).
    if (data) {
        ch_data = channel.value(file(data, checkIfExists: true))
    }
    else {
        SIMULATE(channel.value([id: "synthetic_${num_seqs}_seed${seed}"]))
        ch_data = SIMULATE.out.h5.map { _meta, h5 -> h5 }.first()
        ch_versions = ch_versions.mix(SIMULATE.out.versions)
    }

    // The JASPAR database Tomtom compares against, and the classes' JASPAR IDs, written once.
    JASPAR(channel.value(jaspar_release))
    ch_db = JASPAR.out.meme.first()
    ch_versions = ch_versions.mix(JASPAR.out.versions)

    GROUND_TRUTH(ch_data)
    ch_ground_truth = GROUND_TRUTH.out.json.first()
    ch_versions = ch_versions.mix(GROUND_TRUTH.out.versions)

    // One training task per architecture x trial; trial t trains with seed (--seed + t).
    ch_runs = channel.fromList(archs)
        .combine(channel.fromList((0..<trials).toList()))
        .map { arch, trial -> [id: "${arch}_trial${trial}", arch: arch, trial: trial, seed: seed + trial] }

    TRAIN(ch_runs.combine(ch_data))
    ch_versions = ch_versions.mix(TRAIN.out.versions)

    FILTERS(TRAIN.out.model.combine(ch_data))
    ch_versions = ch_versions.mix(FILTERS.out.versions)

    // One Tomtom and one score per run and conv layer: <layer>.meme -> meta.layer.
    ch_layers = FILTERS.out.meme
        .transpose()
        .map { meta, meme -> [meta + [layer: meme.name - ~/\.meme$/], meme] }

    if (engine == 'meme') {
        TOMTOM(ch_layers, ch_db)
        ch_tomtom = TOMTOM.out
    }
    else {
        TOMTOM_MEMELITE(ch_layers, ch_db)
        ch_tomtom = TOMTOM_MEMELITE.out
    }
    ch_versions = ch_versions.mix(ch_tomtom.versions)

    // Scores divide by every filter, also those that never activated: the .filters.tsv lists them all.
    ch_filter_tables = FILTERS.out.filters
        .transpose()
        .map { meta, table -> [meta + [layer: table.name - ~/\.filters\.tsv$/], table] }
    SCORE(ch_tomtom.tsv.join(ch_filter_tables), ch_ground_truth, ch_db)
    ch_versions = ch_versions.mix(SCORE.out.versions)

    // Each filter of each scored layer ablated on the test split: which filters the model uses, per class.
    ch_models = TRAIN.out.model.map { meta, model -> [meta.id, model] }
    ch_importance = ch_layers
        .map { meta, _meme -> [meta.id, meta] }
        .combine(ch_models, by: 0)
        .map { _id, meta, model -> [meta, model] }
    IMPORTANCE(ch_importance, ch_data)
    ch_versions = ch_versions.mix(IMPORTANCE.out.versions)

    // Every task's piece of every run (runs/<arch>/trial<k>/...), and runs trained elsewhere, into one report.
    ch_parts = TRAIN.out.run
        .mix(FILTERS.out.run, ch_tomtom.run, SCORE.out.run, IMPORTANCE.out.run)
        .map { _meta, dir -> dir }
        .collect()
        .ifEmpty([])
    ch_external = external_runs
        ? channel.fromPath(external_runs, type: 'dir', checkIfExists: true).collect()
        : channel.value([])

    // Every run started, by name: the report notes each one whose step failed (and was ignored).
    ch_expected = ch_runs.map { meta -> "${meta.arch}/trial${meta.trial}" }.collect().ifEmpty([])

    REPORT(ch_parts, ch_external, ch_expected)
    ch_versions = ch_versions.mix(REPORT.out.versions)

    emit:
    report   = REPORT.out.report
    versions = ch_versions
}
