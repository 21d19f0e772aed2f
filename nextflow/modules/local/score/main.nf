// Match fractions of one conv layer's filters, from its Tomtom table and the class -> JASPAR IDs
// mapping (GROUND_TRUTH's small JSON, not the dataset).
process SCORE {
    tag "${meta.id}:${meta.layer}"
    label 'process_single'

    input:
    tuple val(meta), path(tomtom), path(filters)
    path(ground_truth)
    path(database)

    output:
    tuple val(meta), path("runs")                                                                 , emit: run
    tuple val(meta), path("runs/${meta.arch}/trial${meta.trial}/motifs/${meta.layer}.score.json") , emit: json
    path "versions.yml"                                                                           , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    mkdir -p runs/${meta.arch}/trial${meta.trial}/motifs
    keras-motifs --threads ${task.cpus} score \\
        --tomtom ${tomtom} \\
        --filters ${filters} \\
        --ground-truth ${ground_truth} \\
        --database ${database} \\
        --out runs/${meta.arch}/trial${meta.trial}/motifs/${meta.layer}.score.json \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: \$(python -c "from importlib.metadata import version; print(version('keras-motifs'))")
    END_VERSIONS
    """

    stub:
    """
    mkdir -p runs/${meta.arch}/trial${meta.trial}/motifs
    touch runs/${meta.arch}/trial${meta.trial}/motifs/${meta.layer}.score.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: stub
    END_VERSIONS
    """
}
