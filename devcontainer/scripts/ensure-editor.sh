#!/usr/bin/env bash
# The browser editor for `make up` and the editor tests: code-server on node 24, and Debian's
# chromium for Playwright (which cannot download its own browser here). Installed once under
# $EXPENV_TOOLS (default .expenv/tools); reruns are no-ops.
set -euo pipefail
tools=${EXPENV_TOOLS:-$(cd "$(dirname "$0")/../.." && pwd)/.expenv/tools}
mkdir -p "$tools"

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "expenv: missing ${need_apt[*]}; install them with apt-get (needs root)" >&2
    exit 1
  fi
  bash "$(dirname "$0")/apt-install.sh" --no-install-recommends "${need_apt[@]}"
fi

cd "$tools"
if [ ! -x node24/node_modules/node/bin/node ]; then
  mkdir -p node24 && (cd node24 && npm install --no-audit --no-fund --silent node@24 >/dev/null)
fi
node24="$tools/node24/node_modules/node/bin"
if [ ! -x code-server/node_modules/.bin/code-server ]; then
  mkdir -p code-server
  (cd code-server && PATH="$node24:$PATH" npm install --no-audit --no-fund --silent code-server >/dev/null)
fi
if [ ! -d playwright/node_modules/playwright-core ]; then
  mkdir -p playwright && (cd playwright && npm install --no-audit --no-fund --silent playwright-core >/dev/null)
fi
echo "$tools"
