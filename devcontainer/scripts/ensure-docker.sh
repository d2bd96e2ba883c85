#!/usr/bin/env bash
# Make a Docker engine answer: reuse a running one (or DOCKER_HOST), else, as root on Debian,
# install the distribution's docker.io and start dockerd. Without root, say how to fix it.
set -euo pipefail

log=${EXPENV_DOCKERD_LOG:-/var/log/expenv-dockerd.log}

answers() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null && answers; then
  exit 0
fi
if [ -n "${DOCKER_HOST:-}" ]; then
  echo "expenv: DOCKER_HOST=$DOCKER_HOST does not answer; start that engine or unset DOCKER_HOST" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  cat >&2 <<'MSG'
expenv: no Docker engine answers and this user may not install one.
  fix: ask an administrator to install docker.io (or Docker Engine) and add you to the docker group,
       or run a rootless engine and export DOCKER_HOST=unix://$XDG_RUNTIME_DIR/docker.sock
MSG
  exit 1
fi
if ! command -v dockerd >/dev/null; then
  echo "expenv: installing Debian's docker.io" >&2
  bash "$(dirname "$0")/apt-install.sh" --no-install-recommends docker.io iptables ca-certificates
fi
# Whether PID is a live (not zombie) process named NAME: a killed engine whose parent has not reaped
# it yet still shows in pgrep and /proc.
live() { read -r _ comm state _ 2>/dev/null <"/proc/$1/stat" && [ "$comm" = "($2)" ] && [ "$state" != Z ]; }
dockerd_runs() {
  local pid
  for pid in $(pgrep -x dockerd); do live "$pid" dockerd && return 0; done
  return 1
}
if ! dockerd_runs; then
  # A machine restored from a snapshot (or after a crash) keeps the pid file of a dockerd that no
  # longer runs, and a new dockerd refuses to start over it ("pid file found"): clear a stale one.
  for pidfile in ${EXPENV_DOCKERD_PIDFILES:-/var/run/docker.pid /run/docker/containerd/containerd.pid}; do
    if [ -f "$pidfile" ]; then
      pid=$(cat "$pidfile" 2>/dev/null || true)
      if ! live "${pid:-0}" dockerd && ! live "${pid:-0}" containerd; then
        echo "expenv: removing the stale $pidfile (pid ${pid:-none} is not a running engine)" >&2
        rm -f "$pidfile"
      fi
    fi
  done
  echo "expenv: starting dockerd (log: $log)" >&2
  nohup dockerd >"$log" 2>&1 &
fi
for _ in $(seq 1 60); do
  if answers; then exit 0; fi
  sleep 1
done
echo "expenv: dockerd did not answer within 60 s; last lines of $log:" >&2
tail -n 20 "$log" >&2 || true
exit 1
