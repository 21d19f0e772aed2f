process TRAIN {
    tag "${meta.id}"
    label 'process_gpu'

    input:
    tuple val(meta), path(data)

    output:
    tuple val(meta), path("${prefix}")                , emit: run
    tuple val(meta), path("${prefix}/model.keras")    , emit: model
    tuple val(meta), path("${prefix}/config.json")    , emit: config
    tuple val(meta), path("${prefix}/history.csv")    , emit: history
    tuple val(meta), path("${prefix}/metrics.json")   , emit: metrics
    path "versions.yml"                               , emit: versions

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    keras-motifs train \\
        --data ${data} \\
        --arch ${meta.arch} \\
        --trial ${meta.trial} \\
        --seed ${meta.seed} \\
        --out ${prefix} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: \$(python -c "from importlib.metadata import version; print(version('keras-motifs'))")
        keras: \$(python -c "import keras; print(keras.__version__)")
        tensorflow: \$(python -c "import tensorflow as tf; print(tf.__version__)")
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    mkdir -p ${prefix}
    touch ${prefix}/model.keras
    touch ${prefix}/config.json
    touch ${prefix}/history.csv
    touch ${prefix}/metrics.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: stub
        keras: stub
        tensorflow: stub
    END_VERSIONS
    """
}
