// MEME suite Tomtom, the paper's engine, run from the MEME container (no keras-motifs in it).
// Flags as in the paper: E-value threshold, tab-separated text to stdout.
process TOMTOM {
    tag "${meta.id}:${meta.layer}"
    label 'process_single'
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/meme:5.5.5--pl5321hda358d9_0' :
        'biocontainers/meme:5.5.5--pl5321hda358d9_0' }"

    input:
    tuple val(meta), path(query)
    path(db)

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
    tomtom \\
        -no-ssc \\
        -verbosity 1 \\
        -text \\
        -evalue \\
        ${args} \\
        ${query} \\
        ${db} \\
        > runs/${meta.arch}/trial${meta.trial}/motifs/${meta.layer}.tomtom.tsv

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
