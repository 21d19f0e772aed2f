// Filter importance: each filter of one conv layer ablated on the test split, per class.
process IMPORTANCE {
    tag "${meta.id}:${meta.layer}"
    label 'process_gpu'

    input:
    tuple val(meta), path(model)
    path(data)

    output:
    tuple val(meta), path("${prefix}/motifs/${meta.layer}.importance.tsv"), emit: tsv
    tuple val(meta), path("${prefix}")                                     , emit: run
    path "versions.yml"                                                    , emit: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    // A nested layer's path (stem/conv1) is written stem.conv1 in file names.
    def layer = meta.layer.replace('.', '/')
    """
    mkdir -p ${prefix}/motifs
    keras-motifs importance \\
        --model ${model} \\
        --data ${data} \\
        --layer ${layer} \\
        --out ${prefix}/motifs/${meta.layer}.importance.tsv \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: \$(python -c "from importlib.metadata import version; print(version('keras-motifs'))")
        keras: \$(python -c "import keras; print(keras.__version__)")
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    mkdir -p ${prefix}/motifs
    touch ${prefix}/motifs/${meta.layer}.importance.tsv

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: stub
    END_VERSIONS
    """
}
