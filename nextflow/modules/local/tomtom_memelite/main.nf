// Tomtom through memelite (numba, in-process), the fast option: --engine memelite.
process TOMTOM_MEMELITE {
    tag "${meta.id}:${meta.layer}"
    label 'process_single'

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
    keras-motifs --threads ${task.cpus} tomtom \\
        --engine memelite \\
        --allow-empty \\
        --query ${query} \\
        --database ${database} \\
        --out runs/${meta.arch}/trial${meta.trial}/motifs/${meta.layer}.tomtom.tsv \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: \$(python -c "from importlib.metadata import version; print(version('keras-motifs'))")
        memelite: \$(python -c "from importlib.metadata import version; print(version('memelite'))")
    END_VERSIONS
    """

    stub:
    """
    mkdir -p runs/${meta.arch}/trial${meta.trial}/motifs
    touch runs/${meta.arch}/trial${meta.trial}/motifs/${meta.layer}.tomtom.tsv

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: stub
        memelite: stub
    END_VERSIONS
    """
}
