// The paper's synthetic dataset, simulated once (keras-motifs simulate); absent with --data.
process SIMULATE {
    tag "${meta.id}"
    label 'process_single'

    input:
    val(meta)

    output:
    tuple val(meta), path("${prefix}.h5"), emit: h5
    path "versions.yml"                   , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    keras-motifs --threads ${task.cpus} simulate \\
        --out ${prefix}.h5 \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: \$(python -c "from importlib.metadata import version; print(version('keras-motifs'))")
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.h5

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: stub
    END_VERSIONS
    """
}
