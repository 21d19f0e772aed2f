// The dataset's class -> JASPAR IDs mapping as a small JSON, written once, so that SCORE tasks
// stage a few hundred bytes instead of the dataset.
process GROUND_TRUTH {
    tag "${data.name}"
    label 'process_single'

    input:
    path(data)

    output:
    path "ground_truth.json", emit: json
    path "versions.yml"     , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    keras-motifs --threads ${task.cpus} ground-truth \\
        --data ${data} \\
        --out ground_truth.json \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: \$(python -c "from importlib.metadata import version; print(version('keras-motifs'))")
    END_VERSIONS
    """

    stub:
    """
    touch ground_truth.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: stub
    END_VERSIONS
    """
}
