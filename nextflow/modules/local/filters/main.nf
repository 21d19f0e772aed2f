process FILTERS {
    tag "${meta.id}"
    label 'process_low'

    input:
    tuple val(meta), path(model), path(data)

    output:
    tuple val(meta), path("${prefix}/motifs/*.meme")       , emit: meme
    tuple val(meta), path("${prefix}/motifs/*.filters.tsv"), emit: filters
    tuple val(meta), path("${prefix}")                     , emit: run
    path "versions.yml"                                    , emit: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    keras-motifs filters \\
        --model ${model} \\
        --data ${data} \\
        --out-dir ${prefix}/motifs \\
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
    touch ${prefix}/motifs/conv1.meme
    touch ${prefix}/motifs/conv1.filters.tsv

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: stub
        keras: stub
    END_VERSIONS
    """
}
