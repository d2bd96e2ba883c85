#!/usr/bin/env bash
# The browser editor: code-server (VS Code, on node 24) on loopback, with the expenv extension
# installed, opened on a workspace. Prints the URL.
#   editor.sh start-devcontainer WORKSPACE [PORT]   `make up`: starts the workspace's devcontainer
#       (the production image plus tools, host networking) with the host's editor tools mounted,
#       and runs code-server inside it: extension host, daemon, terminal and kernels all on the
#       production Python. State under WORKSPACE/.expenv/editor-devcontainer.
#   editor.sh start WORKSPACE [PORT]   code-server on this machine; the daemon runs on
#       $EXPENV_PYTHON (default: the repo's .venv). State under WORKSPACE/.expenv/editor.
#   editor.sh stop WORKSPACE           stops either
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
action=${1:?start|stop}
workspace=$(cd "${2:?workspace folder}" && pwd)
state="$workspace/.expenv/editor"
pidfile="$state/code-server.pid"

devcontainer="$repo/devcontainer/node_modules/.bin/devcontainer"
# where the host's editor tools appear inside the devcontainer
tools_in=/opt/expenv-editor-tools

# `devcontainer up|exec` on the workspace alone (not an enclosing git repository's root): every
# call must say so, or exec looks for the workspace where the git root would have been mounted.
dc() { local verb=$1; shift; "$devcontainer" "$verb" --workspace-folder "$workspace" --mount-workspace-git-root false "$@"; }

stop() {
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill -- -"$(cat "$pidfile")" 2>/dev/null || kill "$(cat "$pidfile")"
  fi
  rm -f "$pidfile"
}

stop_in_devcontainer() {
  local ids
  ids=$(docker ps -q --filter "label=devcontainer.local_folder=$workspace" 2>/dev/null || true)
  [ -n "$ids" ] || return 0
  dc exec bash -c \
    'p=.expenv/editor-devcontainer/code-server.pid; [ -f $p ] && { kill -- -$(cat $p) 2>/dev/null || kill $(cat $p); rm -f $p; }; true' \
    >/dev/null 2>&1 || true
}

wait_for() {  # PORT URL LOG
  for _ in $(seq 1 90); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$1/healthz" 2>/dev/null; then
      echo "$2"
      return 0
    fi
    sleep 1
  done
  echo "expenv: code-server did not answer on 127.0.0.1:$1; see $3" >&2
  return 1
}

if [ "$action" = stop ]; then stop; stop_in_devcontainer; exit 0; fi

tools=$(bash "$here/ensure-editor.sh" | tail -n 1)
vsix=$(ls "$repo"/vscode-extension/expenv-*.vsix | tail -n 1)
port=${3:-${EXPENV_EDITOR_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}}
python=${EXPENV_PYTHON:-$repo/.venv/bin/python}

stop
if [ "$action" = start-devcontainer ]; then
  [ -x "$devcontainer" ] || { echo "expenv: no devcontainer CLI; run make devcontainer-cli" >&2; exit 1; }
  [ -f "$workspace/.devcontainer/devcontainer.json" ] || {
    echo "expenv: $workspace/.devcontainer/devcontainer.json is missing; run expenv images devcontainer" >&2; exit 1; }
  mkdir -p "$tools/vsix" "$workspace/.expenv" && cp "$vsix" "$tools/vsix/expenv.vsix"
  # As root, what was made here (e.g. the MLflow state of `expenv up`) goes to the workspace's
  # owner, the uid of the container's dev user (updateRemoteUserUID), so the daemon can write .expenv/.
  if [ "$(id -u)" = 0 ]; then chown -R --reference="$workspace" "$workspace/.expenv"; fi
  # A devcontainer started without the tools mount (e.g. by a plain `devcontainer up`) is replaced.
  recreate=()
  if [ -n "$(docker ps -q --filter "label=devcontainer.local_folder=$workspace")" ] &&
     ! dc exec test -x "$tools_in/node24/node_modules/node/bin/node" \
       >/dev/null 2>&1; then
    recreate=(--remove-existing-container)
  fi
  # The workspace alone is mounted (not an enclosing git repository's root).
  up=$(dc up --mount "type=bind,source=$tools,target=$tools_in" "${recreate[@]}" 2>"$workspace/.expenv/devcontainer-up.log" \
        | tail -n 1) || true
  remote=$(python3 - "$up" <<'PY'
import json, sys
o = json.loads(sys.argv[1] or "{}")
if o.get("outcome") != "success":
    sys.exit("expenv: devcontainer up failed: %s %s" % (o.get("message", "no result"), o.get("description", "")))
print(o["remoteWorkspaceFolder"])
PY
  ) || { tail -n 20 "$workspace/.expenv/devcontainer-up.log" >&2; exit 1; }
  dc exec bash -s -- "$remote" "$port" "$tools_in" "$tools_in/vsix/expenv.vsix" \
    "${EXPENV_CONTAINER_PYTHON:-/opt/venv/bin/python}" "$remote/.expenv/editor-devcontainer" \
    < "$here/code-server-start.sh" >/dev/null
  wait_for "$port" "http://127.0.0.1:$port/?folder=$remote" \
    "$workspace/.expenv/editor-devcontainer/code-server.log" && exit 0
  stop_in_devcontainer
  exit 1
fi

bash "$here/code-server-start.sh" "$workspace" "$port" "$tools" "$vsix" "$python" "$state"
wait_for "$port" "http://127.0.0.1:$port/?folder=$workspace" "$state/code-server.log" && exit 0
stop
exit 1
