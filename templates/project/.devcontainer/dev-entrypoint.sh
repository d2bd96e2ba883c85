#!/bin/sh
# Devcontainer start (as root): let the dev user reach the host's Docker socket
# (docker-outside-of-docker). The socket's group on the host decides which group that is;
# note that access to the socket is root on the host.
set -u
user=${EXPENV_DEV_USER:-app}
sock=/var/run/docker.sock
if [ "$(id -u)" = 0 ] && [ -S "$sock" ] && id "$user" >/dev/null 2>&1; then
  gid=$(stat -c %g "$sock")
  group=$(getent group "$gid" | cut -d: -f1)
  if [ -z "$group" ]; then
    group=docker-host
    groupadd --gid "$gid" "$group" 2>/dev/null || group=$(getent group "$gid" | cut -d: -f1)
  fi
  [ -n "$group" ] && usermod -aG "$group" "$user" 2>/dev/null || true
fi
[ $# -gt 0 ] && exec "$@"
exit 0
