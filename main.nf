#!/usr/bin/env nextflow
/*
 * keras-motifs: Koo & Eddy (2019), CNN filters as motifs, as a Nextflow pipeline.
 *
 * Data prep once (SIMULATE, or --data), one GPU task per architecture x trial (TRAIN),
 * then per run and per conv layer: FILTERS -> TOMTOM -> SCORE and IMPORTANCE, and one REPORT.
 * Every process is a thin call of the keras-motifs CLI (or MEME's tomtom): no science here.
 * Run folders follow docs/design.md; the report is the one `keras-motifs run` writes.
 */

include { validateParameters } from 'plugin/nf-schema'

include { SIMULATE        } from './nextflow/modules/simulate'
include { JASPAR          } from './nextflow/modules/jaspar'
include { TRAIN           } from './nextflow/modules/train'
include { FILTERS         } from './nextflow/modules/filters'
include { TOMTOM          } from './nextflow/modules/tomtom'
include { TOMTOM_MEMELITE } from './nextflow/modules/tomtom_memelite'
include { SCORE           } from './nextflow/modules/score'
include { IMPORTANCE      } from './nextflow/modules/importance'
include { REPORT          } from './nextflow/modules/report'

workflow {
    // Missing or mistyped params stop the run here, before any task, with nf-schema's message.
    validateParameters()

    ch_versions = channel.empty()

    // Dataset: simulated once, or the user's HDF5 (docs/design.md layout).
    if (params.data) {
        ch_data = channel.value(file(params.data, checkIfExists: true))
    }
    else {
        SIMULATE(channel.value([id: "synthetic_${params.num_seqs}_seed${params.seed}"]))
        ch_data = SIMULATE.out.h5.map { _meta, h5 -> h5 }.first()
        ch_versions = ch_versions.mix(SIMULATE.out.versions)
    }

    // The JASPAR database Tomtom compares against, written once.
    JASPAR(channel.value(params.jaspar_release))
    ch_db = JASPAR.out.meme.first()
    ch_versions = ch_versions.mix(JASPAR.out.versions)

    // One training task per architecture x trial; trial t trains with seed (--seed + t).
    def archs = params.archs.toString().tokenize(',')*.trim().findAll { name -> name }
    ch_runs = channel.fromList(archs)
        .combine(channel.fromList((0..<params.trials).toList()))
        .map { arch, trial -> [id: "${arch}_trial${trial}", arch: arch, trial: trial, seed: params.seed + trial] }

    TRAIN(ch_runs.combine(ch_data))
    ch_versions = ch_versions.mix(TRAIN.out.versions)

    FILTERS(TRAIN.out.model.combine(ch_data))
    ch_versions = ch_versions.mix(FILTERS.out.versions)

    // One Tomtom and one score per run and conv layer: <layer>.meme -> meta.layer.
    ch_layers = FILTERS.out.meme
        .transpose()
        .map { meta, meme -> [meta + [layer: meme.name - ~/\.meme$/], meme] }

    if (params.engine == 'meme') {
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
    SCORE(ch_tomtom.tsv.join(ch_filter_tables), ch_data, ch_db)
    ch_versions = ch_versions.mix(SCORE.out.versions)

    // Each filter of each scored layer ablated on the test split: which filters the model uses, per class.
    ch_models = TRAIN.out.model.map { meta, model -> [meta.id, model] }
    ch_importance = ch_layers
        .map { meta, _meme -> [meta.id, meta] }
        .combine(ch_models, by: 0)
        .map { _id, meta, model -> [meta, model] }
    IMPORTANCE(ch_importance, ch_data)
    ch_versions = ch_versions.mix(IMPORTANCE.out.versions)

    // Every piece of every run, and runs trained elsewhere, into one report.
    ch_parts = TRAIN.out.run
        .mix(FILTERS.out.run, ch_tomtom.run, SCORE.out.run, IMPORTANCE.out.run)
        .map { _meta, dir -> dir }
        .collect()
        .ifEmpty([])
    ch_external = params.runs
        ? channel.fromPath(params.runs, type: 'dir', checkIfExists: true).collect()
        : channel.value([])

    REPORT(ch_parts, ch_external)
    ch_versions = ch_versions.mix(REPORT.out.versions)

    // One versions.yml for the whole run: each task's block once.
    ch_versions
        .unique { versions -> versions.text }
        .collectFile(name: 'versions.yml', storeDir: "${params.outdir}/pipeline_info", sort: true, newLine: true)
}
