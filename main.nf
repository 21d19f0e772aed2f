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

/*
 * A param the workflow computes with, as an Integer. Nextflow types command-line values
 * differently by version: 24.10-25.10 make `--trials 3` an Integer (but leave `--lr 1e-3` a
 * String), 26.x's strict syntax leaves every value a String, and then `0..<'3'` is a range of
 * characters and `'1' + 0` is '10'. nextflow_schema.json accepts either form.
 */
def integerParam(String name, value) {
    if (value instanceof Integer) {
        return value
    }
    def text = value.toString().trim()
    if (!text.isInteger()) {
        error("--${name} must be a whole number, got '${value}'")
    }
    return text.toInteger()
}

workflow {
    // Missing or mistyped params stop the run here, before any task, with nf-schema's message.
    validateParameters()

    def archs = params.archs.toString().tokenize(',')*.trim().findAll { name -> name }
    if (!archs && !params.runs) {
        error("Nothing to report: --archs is empty and no --runs were given (give architectures to train, or run folders to report)")
    }

    KERAS_MOTIFS(
        params.data,
        integerParam('num_seqs', params.num_seqs),
        integerParam('seed', params.seed),
        archs,
        integerParam('trials', params.trials),
        params.jaspar_release.toString(),
        params.engine.toString(),
        params.runs,
    )

    // One versions.yml for the whole run: each task's block once.
    KERAS_MOTIFS.out.versions
        .unique { versions -> versions.text }
        .collectFile(name: 'versions.yml', storeDir: "${params.outdir}/pipeline_info", sort: true, newLine: true)
}
