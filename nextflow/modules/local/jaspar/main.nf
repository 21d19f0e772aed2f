// JASPAR CORE vertebrates of a release as a MEME file, the database Tomtom compares against.
process JASPAR {
    tag "${release}"
    label 'process_single'

    input:
    val(release)

    output:
    path "${release}.meme", emit: meme
    path "versions.yml"   , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    """
    keras-motifs --threads ${task.cpus} jaspar \\
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
