#!/usr/bin/env bash
# Benchmark: the README's first command as a new user runs it, for one or more commits, one after
# the other. Each commit gets a new clone of this repository and a new virtual environment
# (memelite's Tomtom compile included, as on a fresh machine); then
#   pip install . && keras-motifs run --out results/quick [RUN_ARGS...]
# with wall times: the install, the run, and each training's seconds and epochs (its
# config.json). With two or more commits, each commit's table.tsv is compared byte for byte with
# the first one's (the same seed should give the same table unless the protocol changed).
# Run on idle cores: bash benchmarks/readme_run.sh [COMMIT ...] [-- RUN_ARGS ...]
# e.g. bash benchmarks/readme_run.sh 6cc5ac2 HEAD   (about half an hour per commit on 2 cores)
set -euo pipefail
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
commits=()
while (($#)) && [[ $1 != -- ]]; do commits+=("$1"); shift; done
(($#)) && shift
((${#commits[@]})) || commits=(HEAD)
work=$(mktemp -d "${TMPDIR:-/tmp}/readme_run.XXXXXX")
echo "folders under $work"
first_table=""
for commit in "${commits[@]}"; do
    sha=$(git -C "$repo" rev-parse --short "$commit^{commit}")
    dir="$work/$sha"
    git clone -q "$repo" "$dir/repo" && git -C "$dir/repo" checkout -q "$sha"
    python3.11 -m venv "$dir/venv"
    (
        cd "$dir/repo"
        unset PYTHONPATH
        # shellcheck disable=SC1091
        . "$dir/venv/bin/activate"
        start=$(date +%s)
        pip install -q . >"$dir/install.log" 2>&1 || { tail -5 "$dir/install.log"; exit 1; }
        installed=$(date +%s)
        keras-motifs run --out results/quick "$@" >"$dir/run.log" 2>&1 || { tail -5 "$dir/run.log"; exit 1; }
        ran=$(date +%s)
        echo "$sha: install $((installed - start)) s, run $((ran - installed)) s ($(((ran - installed) / 60)) min $(((ran - installed) % 60)) s)"
        python - results/quick <<'EOF'
import json
import sys
from pathlib import Path

for config in sorted(Path(sys.argv[1]).glob("runs/*/trial*/config.json")):
    values = json.loads(config.read_text())
    print(f"  {values['arch']:<10} trained {values['fit_seconds']:7.1f} s, {values['epochs_run']} epochs "
          f"(best {values['best_epoch']})")
EOF
    )
    table="$dir/repo/results/quick/table.tsv"
    if [[ -z $first_table ]]; then
        first_table=$table
    elif cmp -s "$first_table" "$table"; then
        echo "  table.tsv: byte-identical to ${commits[0]}'s"
    else
        echo "  table.tsv: differs from ${commits[0]}'s"
        diff "$first_table" "$table" || true
    fi
done
