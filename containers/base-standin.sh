#!/usr/bin/env bash
# A local stand-in for python:3.11-slim-bookworm, for machines that reach Debian's package
# archive and PyPI but no image registry (containers/rehearse.sh builds the Dockerfile on it
# with `podman build --from`).
#
# What the Dockerfile takes from its base, and where the stand-in gets it:
#   - Debian bookworm with apt (the Dockerfile installs procps): debootstrap, variant minbase;
#   - python/python3 on PATH, pip/pip3, `pip install` of wheels as root into the system:
#     Debian's python3.11 (3.11.2, where the official image builds CPython 3.11.x itself into
#     /usr/local) and python3-pip, with Debian's PEP 668 marker removed as the official image
#     has none, and python/pip links in /usr/local/bin as the official image has them;
#   - ca-certificates, netbase, tzdata (the official image's runtime packages);
#   - the official image's environment where it matters (PATH, LANG, PYTHON_VERSION) and CMD.
#
# Usage: containers/base-standin.sh IMAGE_NAME
# Builds nothing when IMAGE_NAME already exists in podman's local store. Needs root,
# debootstrap and podman.
set -euo pipefail

name=${1:?usage: base-standin.sh IMAGE_NAME}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if podman image exists "${name}"; then
    echo "base ${name}: exists, reused"
    exit 0
fi

workdir=$(mktemp -d)
trap 'rm -rf "${workdir}"' EXIT
rootfs=${workdir}/rootfs

debootstrap --variant=minbase \
    --include=python3.11,python3-pip,ca-certificates,netbase,tzdata \
    bookworm "${rootfs}" "${mirror}" > "${workdir}/debootstrap.log" 2>&1 || {
    tail -n 30 "${workdir}/debootstrap.log" >&2
    echo "base-standin.sh: debootstrap of bookworm from ${mirror} failed (log above)" >&2
    exit 1
}

python_version=$(chroot "${rootfs}" python3.11 -c 'import platform; print(platform.python_version())')
rm -f "${rootfs}"/usr/lib/python3.*/EXTERNALLY-MANAGED
for link in python:python3.11 python3:python3.11 pip:pip3 pip3:pip3; do
    ln -sf "/usr/bin/${link#*:}" "${rootfs}/usr/local/bin/${link%%:*}"
done
chroot "${rootfs}" python --version > /dev/null
chroot "${rootfs}" pip --version > /dev/null
rm -rf "${rootfs}"/var/lib/apt/lists/* "${rootfs}"/var/cache/apt/*.bin "${rootfs}"/var/cache/apt/archives/*.deb

tar --numeric-owner -C "${rootfs}" -c . | podman import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change "ENV PYTHON_VERSION=${python_version}" \
    --change 'CMD ["python3"]' \
    --message "stand-in for python:3.11-slim-bookworm: Debian bookworm, Debian's Python ${python_version}" \
    --quiet - "${name}" > /dev/null
echo "base ${name}: built (Debian bookworm, Python ${python_version})"
