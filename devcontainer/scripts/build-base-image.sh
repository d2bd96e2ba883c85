#!/usr/bin/env bash
# Build the base image locally when no registry can be pulled from:
#   debootstrap --variant=minbase bookworm DIR  →  tar | docker import  →  expenv-base:bookworm
# Cached: the image carries a label with the hash of this recipe; an image with that label is
# reused (and re-tagged) instead of rebuilt. A build that fails anywhere leaves no broken image
# tagged: the rootfs goes to a temporary directory, the import to a temporary tag, and the real
# tag moves only after the image has been checked (python3 -m venv works in it).
#
# Environment: EXPENV_BASE_TAG (default expenv-base:bookworm), EXPENV_DEBIAN_MIRROR (default
# http://deb.debian.org/debian), DEBOOTSTRAP (the debootstrap command, default debootstrap),
# EXPENV_BASE_FORCE=1 (rebuild even when cached). Prints the image id on stdout.
set -euo pipefail

tag=${EXPENV_BASE_TAG:-expenv-base:bookworm}
suite=bookworm
variant=minbase
include=python3,python3-venv,git,ca-certificates
mirror=${EXPENV_DEBIAN_MIRROR:-http://deb.debian.org/debian}
debootstrap_cmd=${DEBOOTSTRAP:-debootstrap}
label=org.expenv.base-recipe

say() { echo "expenv base image: $*" >&2; }

# The recipe is what decides the image's content: this script, the suite, variant and packages.
# (The mirror is transport, not content, so changing it does not rebuild.)
recipe=$( { cat "${BASH_SOURCE[0]}"; echo "$suite $variant $include"; } | sha256sum | cut -c1-16)

if ! docker info >/dev/null 2>&1; then
  say "no Docker engine answers; run \`bash devcontainer/scripts/ensure-docker.sh\` (or \`make docker\`)"
  exit 1
fi

if [ "${EXPENV_BASE_FORCE:-0}" != 1 ]; then
  # Images built FROM the base inherit its label: the base itself is the one with a single layer.
  cached=""
  for id in $(docker images -q --no-trunc --filter "label=$label=$recipe"); do
    if [ "$(docker image inspect --format '{{len .RootFS.Layers}}' "$id")" = 1 ]; then cached=$id; break; fi
  done
  if [ -n "$cached" ]; then
    docker tag "$cached" "$tag"
    say "cached ($tag, recipe $recipe)"
    echo "$cached"
    exit 0
  fi
fi

if ! command -v "$debootstrap_cmd" >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing debootstrap"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  else
    say "debootstrap is missing; install it (sudo apt-get install debootstrap) or run as root"
    exit 1
  fi
fi
if [ "$(id -u)" != 0 ]; then
  say "debootstrap needs root; run this script as root (e.g. sudo make images)"
  exit 1
fi

workdir=$(mktemp -d "${TMPDIR:-/tmp}/expenv-base.XXXXXX")
tmp_tag="expenv-base-build:$(basename "$workdir" | tr 'A-Z.' 'a-z-')"
cleanup() {
  rc=$?
  docker image rm -f "$tmp_tag" >/dev/null 2>&1 || true
  rm -rf "$workdir"
  [ $rc = 0 ] || say "build failed; $tag was not changed"
}
trap cleanup EXIT

rootfs="$workdir/rootfs"
say "debootstrap --variant=$variant $suite from $mirror (a minute or two)"
"$debootstrap_cmd" --variant="$variant" --include="$include" "$suite" "$rootfs" "$mirror" >"$workdir/debootstrap.log" 2>&1 || {
  tail -n 20 "$workdir/debootstrap.log" >&2
  exit 1
}
# Keep the image small and free of the build machine's apt state.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/debootstrap 2>/dev/null || true

say "importing"
tar -C "$rootfs" -c . | docker import \
  --change "LABEL $label=$recipe" \
  --change "LABEL org.opencontainers.image.description=\"Debian $suite $variant with $include (expenv)\"" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  - "$tmp_tag" >/dev/null

# The check: an image that cannot make a venv is not a base for the production image.
docker run --rm --network none "$tmp_tag" python3 -c 'import venv, ensurepip, ssl; print("ok")' >/dev/null || {
  say "the imported image cannot run python3 -m venv"
  exit 1
}

id=$(docker images -q --no-trunc "$tmp_tag" | head -n1)
docker tag "$tmp_tag" "$tag"
say "built $tag ($id, recipe $recipe)"
echo "$id"
