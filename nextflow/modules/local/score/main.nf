process SCORE {
    tag "${meta.id}:${meta.layer}"
    label 'process_single'

    input:
    tuple val(meta), path(tomtom), path(filters)
    path(data)
    path(db)

    output:
    tuple val(meta), path("${prefix}/motifs/${meta.layer}.score.json"), emit: json
    tuple val(meta), path("${prefix}")                                 , emit: run
    path "versions.yml"                                                , emit: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    mkdir -p ${prefix}/motifs
    keras-motifs score \\
        --tomtom ${tomtom} \\
        --filters ${filters} \\
        --ground-truth ${data} \\
        --db ${db} \\
        --out ${prefix}/motifs/${meta.layer}.score.json \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: \$(python -c "from importlib.metadata import version; print(version('keras-motifs'))")
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    mkdir -p ${prefix}/motifs
    touch ${prefix}/motifs/${meta.layer}.score.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: stub
    END_VERSIONS
    """
}
