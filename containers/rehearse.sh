#!/usr/bin/env bash
# The keras-motifs image built and run for real with podman, on a machine without Docker,
# Apptainer or Nextflow: builds containers/Dockerfile on a local stand-in for its base
# (containers/base-standin.sh), then runs the module rehearsal (tests/rehearsal.py: every
# module's script, rendered as Nextflow renders it, chained on a tiny dataset) with each task
# inside the image, twice:
#
#   docker     as Nextflow's docker profile runs a task: the work folder bound at the same
#              path, the profile's docker.runOptions (-u $(id -u):$(id -g)) as they are;
#   apptainer  as Nextflow runs a task under the apptainer (or singularity) profile: a
#              read-only image, a user that is not root and owns the work folder, no home
#              (HOME names a folder that does not exist, as with --no-home), nothing from the
#              host's environment, the work folder bound, /tmp a writable host folder (as
#              Apptainer binds the host's /tmp), plus the profile's apptainer.runOptions
#              translated to podman's flags (an option with no podman equivalent stops it).
#
# One line per case; exits non-zero if the build or a case fails. TOMTOM (MEME's image) is
# skipped: only the keras-motifs image is rehearsed. Not part of CI: the image is ~8 GB.
#
# Usage (from anywhere; needs root, podman, runc, debootstrap, Java 17 and the package's
# test requirements on the host, and network access to Debian's archive and PyPI):
#   bash containers/rehearse.sh
# Environment: REHEARSE_BASE, REHEARSE_IMAGE (local image names), REHEARSE_KEEP=1 keeps the
# work folders, REHEARSE_CASES="docker apptainer" (the cases to run).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "${repo}"

base=${REHEARSE_BASE:-localhost/keras-motifs-base:bookworm-python3.11}
image=${REHEARSE_IMAGE:-localhost/keras-motifs:rehearse}
cases=${REHEARSE_CASES:-docker apptainer}
apptainer_user=12345:12345  # any user that is not root, as on a cluster

scratch=$(mktemp -d "${TMPDIR:-/tmp}/keras-motifs-rehearse.XXXXXX")
# shellcheck disable=SC2329  # called by the EXIT trap
cleanup() {
    if [[ "${REHEARSE_KEEP:-0}" == 1 ]]; then
        echo "work folders kept in ${scratch}"
    else
        rm -rf "${scratch}"
    fi
}
trap cleanup EXIT

# runc refuses the default rlimits inside some (nested) machines: no default ulimits.
if [[ -z "${CONTAINERS_CONF:-}" ]]; then
    printf '[containers]\ndefault_ulimits = []\n' > "${scratch}/containers.conf"
    export CONTAINERS_CONF=${scratch}/containers.conf
fi
podman=(podman --runtime runc)

# --- the base and the image -------------------------------------------------------------------
bash containers/base-standin.sh "${base}"

ca_bundle=/etc/ssl/certs/ca-certificates.crt  # pip inside the build trusts what the host trusts
build_volumes=()
[[ -f "${ca_bundle}" ]] && build_volumes=(-v "${ca_bundle}:${ca_bundle}:ro")
started=${SECONDS}
if ! "${podman[@]}" build --from "${base}" --network host "${build_volumes[@]}" \
        -f containers/Dockerfile -t "${image}" . > "${scratch}/build.log" 2>&1; then
    tail -n 40 "${scratch}/build.log" >&2
    echo "build ${image}: FAILED (log above)"
    exit 1
fi
size=$("${podman[@]}" image inspect --format '{{.Size}}' "${image}")
printf 'build %s: ok in %d s, %.2f GB\n' "${image}" $((SECONDS - started)) \
    "$(echo "${size}" | awk '{print $1 / 1e9}')"

# --- the profiles' runOptions, as Nextflow's config evaluates them (tests/nextflow_config.py) ---
# Two lines: the engine's runOptions under -profile test,PROFILE, and its envWhitelist as
# podman flags (Nextflow passes each of those variables that is set where the task starts).
engine_settings() {  # PROFILE
    python3 - "$1" <<'PY'
import shlex
import sys
sys.path.insert(0, "tests")
from nextflow_config import process_labels, task_settings
settings = task_settings(["test", sys.argv[1]], "TRAIN", process_labels("TRAIN"))
whitelist = settings["engineOptions"].get("envWhitelist") or []
if isinstance(whitelist, str):
    whitelist = [name.strip() for name in whitelist.split(",") if name.strip()]
print(settings["runOptions"] or "")
print(" ".join(f"--env {shlex.quote(name)}" for name in whitelist))
PY
}

# Apptainer's runOptions as podman flags, NUL-separated; `--read-only` unless --writable-tmpfs.
# An option without a podman equivalent here stops the case: it is not rehearsed, not guessed.
apptainer_as_podman() {  # RUN_OPTIONS HOST_TMP
    python3 - "$1" "$2" <<'PY'
import shlex
import sys

options, host_tmp = shlex.split(sys.argv[1]), sys.argv[2]
flags, read_only, tmp = [], True, ["-v", f"{host_tmp}:/tmp"]
while options:
    option = options.pop(0)
    name, _, value = option.partition("=")
    if name in ("-B", "--bind", "--env", "--env-file") and not value:
        value = options.pop(0) if options else ""
    if name in ("--no-home", "--cleanenv", "-e", "--pid", "-p"):
        continue  # what the rehearsal does anyway: podman passes no host environment, has its own pids
    if name == "--writable-tmpfs":
        read_only = False
    elif name in ("-B", "--bind"):
        for spec in value.split(","):
            flags += ["-v", spec if ":" in spec else f"{spec}:{spec}"]
    elif name in ("--env", "--env-file"):
        flags += [name, value]
    elif name in ("-c", "--contain", "-C", "--containall"):
        tmp = ["--tmpfs", "/tmp"]  # a /tmp of its own instead of the host's
    else:
        sys.exit(f"rehearse.sh: apptainer runOptions {option!r} has no podman equivalent here: not rehearsed")
sys.stdout.write("\0".join((["--read-only"] if read_only else []) + tmp + flags) + "\0")
PY
}

# --- the rehearsal, once per case ------------------------------------------------------------------
launcher() {  # CASE: the template tests/rehearsal.py runs each task with
    local settings options passed flags host_tmp
    case "$1" in
        docker)
            # As Nextflow's .command.run: the runOptions pasted in, expanded by the shell.
            settings=$(engine_settings docker) || return 1
            options=$(sed -n 1p <<< "${settings}")
            passed=$(sed -n 2p <<< "${settings}")
            echo "${podman[*]} run --rm --network host ${passed} -v {root}:{root} -w {workdir}" \
                "${options} ${image} {command}"
            ;;
        apptainer)
            host_tmp=${scratch}/apptainer-tmp
            mkdir -p "${host_tmp}"
            chmod 1777 "${host_tmp}"
            settings=$(engine_settings apptainer) || return 1
            options=$(sed -n 1p <<< "${settings}")
            passed=$(sed -n 2p <<< "${settings}")
            mapfile -d '' -t flags < <(apptainer_as_podman "${options}" "${host_tmp}")
            [[ ${#flags[@]} -gt 0 ]] || return 1
            # The user who runs Nextflow owns the work dir; here the rehearsal writes it as root,
            # so each task's folder is handed to that user before the task runs.
            echo "chown ${apptainer_user} {workdir} && ${podman[*]} run --rm --network host ${passed}" \
                "--user ${apptainer_user} --env HOME=/home/nextflow-user -v {root}:{root} -w {workdir}" \
                "$(printf '%q ' "${flags[@]}")${image} {command}"
            ;;
        *)
            echo "rehearse.sh: unknown case ${1} (docker, apptainer)" >&2
            return 1
            ;;
    esac
}

status=0
for case_name in ${cases}; do
    log=${scratch}/${case_name}.log
    started=${SECONDS}
    if template=$(launcher "${case_name}") \
        && python3 tests/rehearsal.py --work "${scratch}/${case_name}" --profile "test,${case_name}" \
            --skip TOMTOM --launcher "${template}" > "${log}" 2>&1; then
        result=ok
    else
        result=FAILED
        status=1
    fi
    tasks=$(grep -cE ' ok +[0-9.]+ s' "${log}" 2>/dev/null || true)
    echo "${case_name}: ${result}, ${tasks} tasks ok in $((SECONDS - started)) s"
    if [[ "${result}" != ok ]]; then
        sed 's/^/    /' "${log}" >&2
    fi
done
# keras-motifs removes its writable copy of the numba cache when a task's process exits.
if [[ -d "${scratch}/apptainer-tmp" ]]; then
    left=$(find "${scratch}/apptainer-tmp" -maxdepth 1 -name 'keras-motifs-numba-cache-*')
    if [[ -n "${left}" ]]; then
        echo "apptainer: numba cache copies left in /tmp: ${left}"
        status=1
    fi
fi
exit "${status}"
