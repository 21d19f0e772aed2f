#!/usr/bin/env nextflow
/*
 * keras-motifs: Koo & Eddy (2019), CNN filters as motifs, as a Nextflow pipeline.
 *
 * The entry workflow checks the params and runs KERAS_MOTIFS (nextflow/workflows/), whose
 * processes are nf-core-style modules under nextflow/modules/local/<name>/ with their
 * ext.args and publishDir in conf/modules.config. docs/pipeline.md tells how to run it.
 */

include { validateParameters } from 'plugin/nf-schema'
include { KERAS_MOTIFS       } from './nextflow/workflows/keras_motifs'

workflow {
    // Missing or mistyped params stop the run here, before any task, with nf-schema's message.
    validateParameters()

    KERAS_MOTIFS(
        params.data,
        params.num_seqs,
        params.seed,
        params.archs.toString().tokenize(',')*.trim().findAll { name -> name },
        params.trials,
        params.jaspar_release,
        params.engine,
        params.runs,
    )

    // One versions.yml for the whole run: each task's block once.
    KERAS_MOTIFS.out.versions
        .unique { versions -> versions.text }
        .collectFile(name: 'versions.yml', storeDir: "${params.outdir}/pipeline_info", sort: true, newLine: true)
}
