// Filter importance: each filter of one conv layer ablated on the test split, per class.
process IMPORTANCE {
    tag "${meta.id}:${meta.layer}"
    label 'process_low'

    input:
    tuple val(meta), path(model)
    path(data)

    output:
    tuple val(meta), path("runs")                                                                      , emit: run
    tuple val(meta), path("runs/${meta.arch}/trial${meta.trial}/motifs/${meta.layer}.importance.tsv") , emit: tsv
    path "versions.yml"                                                                                , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    // A nested layer's path (stem/conv1) is written stem.conv1 in file names.
    def layer = meta.layer.replace('.', '/')
    """
    mkdir -p runs/${meta.arch}/trial${meta.trial}/motifs
    keras-motifs --threads ${task.cpus} importance \\
        --model ${model} \\
        --data ${data} \\
        --layer ${layer} \\
        --out runs/${meta.arch}/trial${meta.trial}/motifs/${meta.layer}.importance.tsv \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: \$(python -c "from importlib.metadata import version; print(version('keras-motifs'))")
        keras: \$(python -c "from importlib.metadata import version; print(version('keras'))")
    END_VERSIONS
    """

    stub:
    """
    mkdir -p runs/${meta.arch}/trial${meta.trial}/motifs
    touch runs/${meta.arch}/trial${meta.trial}/motifs/${meta.layer}.importance.tsv

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: stub
        keras: stub
    END_VERSIONS
    """
}
