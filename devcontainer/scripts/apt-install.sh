#!/usr/bin/env bash
# apt-get install "$@" (packages and apt-get options), as root, one expenv install at a time.
# `make test` runs its setup steps in parallel, and apt-get refuses (rather than waits) while
# another apt-get holds the package lists or dpkg. The package lists are refreshed once per boot
# (a stamp under /run), again if an install fails on them.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
stamp=/run/lock/expenv-apt-updated
mkdir -p /run/lock
exec 9>/run/lock/expenv-apt.lock
flock 9
if [ ! -e "$stamp" ]; then
  apt-get update -qq
  touch "$stamp"
fi
apt-get install -y -qq "$@" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$@" >/dev/null; }
