#!/usr/bin/env bash
# Installs the expenv extension into code-server and starts it in the background on loopback,
# where this script runs: on this machine (`editor.sh start`) or inside the devcontainer, fed on
# stdin by `editor.sh start-devcontainer`, so that the extension host, the daemon it starts, the
# terminal and the notebook kernels all run on the production image's Python.
#   code-server-start.sh WORKSPACE PORT TOOLS VSIX PYTHON STATE
# TOOLS holds node24/ and code-server/ (ensure-editor.sh); the daemon runs on PYTHON; code-server's
# settings, extensions, log and pid go under STATE, and the password of this start in
# STATE/password (0600): anyone who opens the editor has a terminal, and through it the Docker socket.
set -euo pipefail
workspace=$1 port=$2 tools=$3 vsix=$4 python=$5 state=$6
code_server="$tools/code-server/node_modules/.bin/code-server"
export PATH="$tools/node24/node_modules/node/bin:$PATH"

# a previous editor of this workspace stops first, and lets go of its port
if [ -f "$state/code-server.pid" ] && old=$(cat "$state/code-server.pid") && kill -0 "$old" 2>/dev/null; then
  kill -- -"$old" 2>/dev/null || kill "$old" || true
  for _ in $(seq 1 50); do kill -0 "$old" 2>/dev/null || break; sleep 0.2; done
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "expenv: 127.0.0.1:$port is taken by another program; choose another port (make up EDITOR_PORT=...)" >&2
  exit 1
fi
mkdir -p "$state/user/User" "$state/user/Machine" "$state/extensions"
# code-server's extension host is "remote": machine-scoped settings (expenv.pythonPath) are read
# from Machine/settings.json there, user ones from User/settings.json. Write both.
printf '{\n  "expenv.pythonPath": "%s"\n}\n' "$python" > "$state/user/Machine/settings.json"
cat > "$state/user/User/settings.json" <<JSON
{
  "security.workspace.trust.enabled": false,
  "workbench.startupEditor": "none",
  "telemetry.telemetryLevel": "off",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "python.defaultInterpreterPath": "$python",
  "expenv.pythonPath": "$python"
}
JSON
"$code_server" --install-extension "$vsix" --force \
  --extensions-dir "$state/extensions" --user-data-dir "$state/user" >/dev/null
# A new random password per start, given in the environment (not argv, which `ps` shows) and
# written readable by its owner only, before it exists anywhere else.
password=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
rm -f "$state/password"
(umask 077 && printf '%s\n' "$password" > "$state/password")
PASSWORD="$password" nohup setsid "$code_server" --auth password --bind-addr "127.0.0.1:$port" \
  --disable-telemetry --disable-update-check \
  --extensions-dir "$state/extensions" --user-data-dir "$state/user" "$workspace" \
  >"$state/code-server.log" 2>&1 </dev/null &
echo $! > "$state/code-server.pid"
