// MEME suite Tomtom, the paper's engine, run from the MEME container (no keras-motifs in it).
// The command is keras_motifs.motifs.tomtom.meme_tomtom_command's, flag for flag (the paper's: E-value
// threshold, Euclidean distance, minimum overlap 1, tab-separated text to stdout);
// tests/test_rehearsal.py renders this script and checks that the two agree.
// The Docker image is named with its registry (quay.io, where BioContainers publishes): without
// one, Docker, AWS Batch and Google Batch look on Docker Hub, which has no such tag.
process TOMTOM {
    tag "${meta.id}:${meta.layer}"
    label 'process_single'
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/meme:5.5.5--pl5321hda358d9_0' :
        'quay.io/biocontainers/meme:5.5.5--pl5321hda358d9_0' }"

    input:
    tuple val(meta), path(query)
    path(database)

    output:
    tuple val(meta), path("runs")                                                                  , emit: run
    tuple val(meta), path("runs/${meta.arch}/trial${meta.trial}/motifs/${meta.layer}.tomtom.tsv") , emit: tsv
    path "versions.yml"                                                                            , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    mkdir -p runs/${meta.arch}/trial${meta.trial}/motifs
    if grep -q '^MOTIF' ${query}; then
        tomtom \\
            -no-ssc \\
            -verbosity 1 \\
            -text \\
            -min-overlap 1 \\
            -dist ed \\
            -evalue \\
            ${args} \\
            ${query} \\
            ${database} \\
            > runs/${meta.arch}/trial${meta.trial}/motifs/${meta.layer}.tomtom.tsv
    else
        # No filter of this layer activated on the test set, so FILTERS wrote no motif, and tomtom
        # refuses a query file without one: the table is Tomtom's header alone, as
        # `keras-motifs tomtom --allow-empty` writes it for TOMTOM_MEMELITE.
        printf '%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\n' \\
            Query_ID Target_ID Optimal_offset p-value E-value q-value Overlap Query_consensus Target_consensus Orientation \\
            > runs/${meta.arch}/trial${meta.trial}/motifs/${meta.layer}.tomtom.tsv
    fi

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        meme: \$(tomtom -version 2>&1)
    END_VERSIONS
    """

    stub:
    """
    mkdir -p runs/${meta.arch}/trial${meta.trial}/motifs
    touch runs/${meta.arch}/trial${meta.trial}/motifs/${meta.layer}.tomtom.tsv

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        meme: stub
    END_VERSIONS
    """
}
