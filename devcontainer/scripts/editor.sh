#!/usr/bin/env bash
# The browser editor of `make up`: code-server (VS Code, on node 24) on loopback, with the expenv
# extension installed, opened on a workspace. State under WORKSPACE/.expenv/editor.
#   editor.sh start WORKSPACE [PORT]   prints the URL
#   editor.sh stop WORKSPACE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
action=${1:?start|stop}
workspace=$(cd "${2:?workspace folder}" && pwd)
state="$workspace/.expenv/editor"
pidfile="$state/code-server.pid"

stop() {
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill -- -"$(cat "$pidfile")" 2>/dev/null || kill "$(cat "$pidfile")"
  fi
  rm -f "$pidfile"
}

if [ "$action" = stop ]; then stop; exit 0; fi

tools=$(bash "$here/ensure-editor.sh" | tail -n 1)
node24="$tools/node24/node_modules/node/bin"
code_server="$tools/code-server/node_modules/.bin/code-server"
vsix=$(ls "$repo"/vscode-extension/expenv-*.vsix | tail -n 1)
port=${3:-${EXPENV_EDITOR_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}}
python=${EXPENV_PYTHON:-$repo/.venv/bin/python}

stop
mkdir -p "$state/user/User" "$state/user/Machine" "$state/extensions"
# code-server's extension host is "remote": machine-scoped settings (expenv.pythonPath) are read
# from Machine/settings.json there, user ones from User/settings.json. Write both.
cat > "$state/user/Machine/settings.json" <<JSON
{
  "expenv.pythonPath": "$python"
}
JSON
cat > "$state/user/User/settings.json" <<JSON
{
  "security.workspace.trust.enabled": false,
  "workbench.startupEditor": "none",
  "telemetry.telemetryLevel": "off",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "expenv.pythonPath": "$python"
}
JSON
PATH="$node24:$PATH" "$code_server" --install-extension "$vsix" --force \
  --extensions-dir "$state/extensions" --user-data-dir "$state/user" >/dev/null
PATH="$node24:$PATH" setsid "$code_server" --auth none --bind-addr "127.0.0.1:$port" \
  --disable-telemetry --disable-update-check \
  --extensions-dir "$state/extensions" --user-data-dir "$state/user" "$workspace" \
  >"$state/code-server.log" 2>&1 &
echo $! > "$pidfile"
for _ in $(seq 1 60); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then
    echo "http://127.0.0.1:$port/?folder=$workspace"
    exit 0
  fi
  sleep 1
done
echo "expenv: code-server did not answer on 127.0.0.1:$port; see $state/code-server.log" >&2
stop
exit 1
