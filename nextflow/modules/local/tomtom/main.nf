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
    tuple val(meta), path("${prefix}/motifs/${meta.layer}.tomtom.tsv"), emit: tsv
    tuple val(meta), path("${prefix}")                                 , emit: run
    path "versions.yml"                                                , emit: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    mkdir -p ${prefix}/motifs
    tomtom \\
        -no-ssc \\
        -verbosity 1 \\
        -text \\
        -evalue \\
        ${args} \\
        ${query} \\
        ${db} \\
        > ${prefix}/motifs/${meta.layer}.tomtom.tsv

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        meme: \$(tomtom -version 2>&1)
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    mkdir -p ${prefix}/motifs
    touch ${prefix}/motifs/${meta.layer}.tomtom.tsv

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        meme: stub
    END_VERSIONS
    """
}
