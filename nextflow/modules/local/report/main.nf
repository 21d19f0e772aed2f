// Gathers every task's piece of every run into run folders laid out as in docs/design.md
// (RUN/config.json, model.keras, history.csv, metrics.json, motifs/<layer>.*), then reports.
// Pieces arrive as folders named by run id, each staged into its own numbered directory
// (part1/<id>, part2/<id>, ...) so that pieces of one run never collide; they are merged here.
// Runs trained elsewhere (--runs) are copied in whole, under external<N>_<name>.
process REPORT {
    label 'process_low'

    input:
    path(parts, stageAs: 'part?/*')
    path(external, stageAs: 'external?/*')

    output:
    path "runs"        , emit: runs
    path "report"      , emit: report
    path "versions.yml", emit: versions

    script:
    def args = task.ext.args ?: ''
    """
    mkdir -p runs
    for piece in part*/*; do
        [ -d "\$piece" ] || continue
        mkdir -p "runs/\$(basename "\$piece")"
        cp -RL "\$piece/." "runs/\$(basename "\$piece")/"
    done
    for run in external*/*; do
        [ -d "\$run" ] || continue
        cp -RL "\$run" "runs/\$(dirname "\$run")_\$(basename "\$run")"
    done

    keras-motifs report \\
        --runs runs/* \\
        --out report \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: \$(python -c "from importlib.metadata import version; print(version('keras-motifs'))")
    END_VERSIONS
    """

    stub:
    """
    mkdir -p runs report
    touch report/report.html

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        keras-motifs: stub
    END_VERSIONS
    """
}
