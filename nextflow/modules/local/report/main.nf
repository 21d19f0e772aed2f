// One report over every run. Each task upstream wrote its piece of a run in the published
// layout, runs/<arch>/trial<k>/... (keras_motifs.io.runfolder); the pieces (one `runs` folder per
// task, staged as part<N>/runs) are merged here into that layout. Runs trained elsewhere
// (--runs) are read where they are staged. The runs the pipeline started come as their names, so
// that a run whose step failed (errorStrategy 'ignore') is named in the report, not just left out.
process REPORT {
    label 'process_low'

    input:
    path(parts, stageAs: 'part?/*')
    path(external, stageAs: 'external?/*')
    val(expected)

    output:
    path "report"      , emit: report
    path "versions.yml", emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    // Every run the pipeline started (runs/<arch>/trial<k>): one whose step failed gets a note in the report.
    def expect = expected ? "--expect ${expected.join(' ')}" : ''
    """
    shopt -s nullglob  # no --runs: no external*/* folders
    mkdir -p runs
    for piece in part*/runs; do
        cp -RL "\$piece/." runs/
    done

    folders=(runs/*/* external*/*)
    if [[ \${#folders[@]} -eq 0 ]]; then
        echo "REPORT: no run folder to report: every training failed (Nextflow lists the ignored tasks)" >&2
        exit 1
    fi
    keras-motifs --threads ${task.cpus} report \\
        --runs "\${folders[@]}" \\
        --out report \\
        ${expect} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: \$(python -c "from importlib.metadata import version; print(version('keras-motifs'))")
    END_VERSIONS
    """

    stub:
    """
    mkdir -p report
    touch report/report.html

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: stub
    END_VERSIONS
    """
}
