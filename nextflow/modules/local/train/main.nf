// One architecture x trial trained into its run folder, runs/<arch>/trial<k>/ (keras_motifs.io.runfolder).
process TRAIN {
    tag "${meta.id}"
    label 'process_gpu'

    input:
    tuple val(meta), path(data)

    output:
    tuple val(meta), path("runs")                                                    , emit: run
    tuple val(meta), path("runs/${meta.arch}/trial${meta.trial}/model.keras")       , emit: model
    tuple val(meta), path("runs/${meta.arch}/trial${meta.trial}/config.json")       , emit: config
    tuple val(meta), path("runs/${meta.arch}/trial${meta.trial}/history.csv")       , emit: history
    tuple val(meta), path("runs/${meta.arch}/trial${meta.trial}/metrics.json")      , emit: metrics
    path "versions.yml"                                                              , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    keras-motifs --threads ${task.cpus} train \\
        --data ${data} \\
        --arch ${meta.arch} \\
        --trial ${meta.trial} \\
        --seed ${meta.seed} \\
        --out runs/${meta.arch}/trial${meta.trial} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: \$(python -c "from importlib.metadata import version; print(version('keras-motifs'))")
        keras: \$(python -c "from importlib.metadata import version; print(version('keras'))")
        tensorflow: \$(python -c "from importlib.metadata import version; print(version('tensorflow'))")
    END_VERSIONS
    """

    stub:
    """
    mkdir -p runs/${meta.arch}/trial${meta.trial}
    touch runs/${meta.arch}/trial${meta.trial}/model.keras
    touch runs/${meta.arch}/trial${meta.trial}/config.json
    touch runs/${meta.arch}/trial${meta.trial}/history.csv
    touch runs/${meta.arch}/trial${meta.trial}/metrics.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: stub
        keras: stub
        tensorflow: stub
    END_VERSIONS
    """
}
