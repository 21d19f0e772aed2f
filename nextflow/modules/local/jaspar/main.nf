process JASPAR {
    tag "${release}"
    label 'process_single'

    input:
    val(release)

    output:
    path "${release}.meme", emit: meme
    path "versions.yml"   , emit: versions

    script:
    """
    keras-motifs jaspar \\
        --release ${release} \\
        --out ${release}.meme

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: \$(python -c "from importlib.metadata import version; print(version('keras-motifs'))")
    END_VERSIONS
    """

    stub:
    """
    touch ${release}.meme

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: stub
    END_VERSIONS
    """
}
