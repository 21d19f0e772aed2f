// Every readable conv layer's filters as motifs, on the test split: runs/<arch>/trial<k>/motifs/.
process FILTERS {
    tag "${meta.id}"
    label 'process_low'

    input:
    tuple val(meta), path(model), path(data)

    output:
    tuple val(meta), path("runs")                                                       , emit: run
    tuple val(meta), path("runs/${meta.arch}/trial${meta.trial}/motifs/*.meme")        , emit: meme
    tuple val(meta), path("runs/${meta.arch}/trial${meta.trial}/motifs/*.filters.tsv") , emit: filters
    path "versions.yml"                                                                 , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    keras-motifs --threads ${task.cpus} filters \\
        --model ${model} \\
        --data ${data} \\
        --out-dir runs/${meta.arch}/trial${meta.trial}/motifs \\
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
    touch runs/${meta.arch}/trial${meta.trial}/motifs/conv1.meme
    touch runs/${meta.arch}/trial${meta.trial}/motifs/conv1.filters.tsv

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: stub
        keras: stub
    END_VERSIONS
    """
}
