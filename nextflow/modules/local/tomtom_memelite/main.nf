// Tomtom through memelite (numba, in-process), the fast option: --engine memelite.
process TOMTOM_MEMELITE {
    tag "${meta.id}:${meta.layer}"
    label 'process_single'

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
    keras-motifs tomtom \\
        --engine memelite \\
        --allow-empty \\
        --query ${query} \\
        --db ${db} \\
        --out ${prefix}/motifs/${meta.layer}.tomtom.tsv \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: \$(python -c "from importlib.metadata import version; print(version('keras-motifs'))")
        memelite: \$(python -c "from importlib.metadata import version; print(version('memelite'))")
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    mkdir -p ${prefix}/motifs
    touch ${prefix}/motifs/${meta.layer}.tomtom.tsv

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: stub
        memelite: stub
    END_VERSIONS
    """
}
