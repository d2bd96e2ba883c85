"""Detached engine processes of the local backend: start, recognise, find and stop them.

Each process starts in its own session, so it outlives the CLI command or daemon that started it,
and carries the cluster's labels in its environment (EXPENV_CLUSTER, EXPENV_WORKSPACE, ...): a
process scan finds clusters the ledger lost, the way docker labels find containers.
A process is recognised by pid *and* start time, so a recycled pid is never taken for ours.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ENV_CLUSTER = "EXPENV_CLUSTER"
ENV_WORKSPACE = "EXPENV_WORKSPACE"
ENV_PROFILE = "EXPENV_PROFILE"
ENV_KIND = "EXPENV_CLUSTER_KIND"
ENV_ROLE = "EXPENV_CLUSTER_ROLE"

# Our own children, polled so that exited ones do not linger as zombies in a long-lived daemon
# (never waitpid(-1): that would steal the exit status of other services' children).
_children: dict[int, subprocess.Popen] = {}


def label_env(workspace: str, cluster_id: str, profile: str, kind: str, role: str) -> dict[str, str]:
    return {ENV_WORKSPACE: workspace, ENV_CLUSTER: cluster_id, ENV_PROFILE: profile, ENV_KIND: kind, ENV_ROLE: role}


def start_detached(argv: list[str], env: dict[str, str], log_path: Path, cwd: Path) -> dict[str, Any]:
    """Start `argv` in a new session with `env` added, at expenv's background priority
    (process_state.background); returns {pid, started, log}."""
    import psutil

    from expenv.services.process_state import background

    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(background(argv), env={**os.environ, **env}, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    _children[proc.pid] = proc
    try:
        started = psutil.Process(proc.pid).create_time()
    except psutil.Error:
        started = 0.0
    return {"pid": proc.pid, "started": started, "log": str(log_path)}


def alive(record: dict[str, Any]) -> bool:
    """The process of `record` still runs (not a zombie, not a recycled pid)."""
    import psutil

    try:
        proc = psutil.Process(int(record["pid"]))
        if record.get("started") and abs(proc.create_time() - record["started"]) > 0.5:
            return False
        return proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.Error, KeyError, ValueError):
        return False


def stop(records: list[dict[str, Any]], grace: float = 10.0, leader_first: float = 0.0) -> None:
    """SIGTERM each process's session (its group, and the groups of its session that an engine
    made for its workers), then SIGKILL what is left after `grace` seconds. Returns once every
    member is gone (a launcher script's JVM, Ray's workers, not only the leader). With
    `leader_first`, the leaders alone get SIGTERM first and that many seconds to stop the rest
    themselves (an engine that shuts down in order, and not when all are signalled at once)."""
    from expenv.services.process_state import session_groups

    live = [r for r in records if alive(r)]
    if leader_first:
        for record in live:
            _signal(int(record["pid"]), signal.SIGTERM)
        live = _wait_sessions(live, leader_first)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for record in live:
            pid = int(record["pid"])
            for group in {pid} | session_groups(pid):
                _signal_group(group, sig)
        live = _wait_sessions(live, grace)
        if not live:
            return


def _wait_sessions(live: list[dict[str, Any]], seconds: float) -> list[dict[str, Any]]:
    """The records whose session still has a live member after at most `seconds`."""
    deadline = time.monotonic() + seconds
    while live and time.monotonic() < deadline:
        time.sleep(0.1)
        live = [r for r in live if _session_alive(int(r["pid"]))]
    return live


def _session_alive(sid: int) -> bool:
    """Members that are only zombies (our own exited children, reaped here, or orphans that init
    has not reaped yet) do not count."""
    from expenv.services.process_state import group_alive, session_groups

    _reap()
    return group_alive(sid) or bool(session_groups(sid))


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)   # the session leader's group: a launcher script and its JVM together
    except ProcessLookupError:
        return
    except PermissionError:
        _signal(pid, sig)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def _reap() -> None:
    for pid, proc in list(_children.items()):
        if proc.poll() is not None:
            del _children[pid]


def labelled(workspace: str) -> dict[str, list[dict[str, Any]]]:
    """Processes carrying this workspace's labels, by cluster id (session leaders only)."""
    import psutil

    found: dict[str, list[dict[str, Any]]] = {}
    me = os.getuid()
    for proc in psutil.process_iter(["pid", "uids", "create_time"]):
        try:
            if proc.info["uids"] and proc.info["uids"].real != me:
                continue
            if os.getsid(proc.pid) != proc.pid:
                continue   # a child of one of ours (the JVM under its launcher script)
            env = proc.environ()
        except (psutil.Error, OSError):
            continue
        if env.get(ENV_WORKSPACE) != workspace or ENV_CLUSTER not in env:
            continue
        if proc.status() == psutil.STATUS_ZOMBIE:
            continue
        found.setdefault(env[ENV_CLUSTER], []).append({
            "pid": proc.pid, "started": proc.info["create_time"], "role": env.get(ENV_ROLE, ""),
            "profile": env.get(ENV_PROFILE, ""), "kind": env.get(ENV_KIND, "")})
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def accepts(port: int) -> bool:
    """Something listens on 127.0.0.1:`port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def wait_for(condition: Callable[[], Any], deadline: float, cancelled: Callable[[], bool], what: str,
             failed: Callable[[], str | None] = lambda: None, interval: float = 0.2) -> Any:
    """Poll `condition` until it returns a truthy value; raise on cancel, failure or deadline."""
    from expenv.domain.clusters import ClusterError
    from expenv.services.clusters.interface import LaunchCancelled

    while True:
        result = condition()
        if result:
            return result
        if cancelled():
            raise LaunchCancelled(f"launch cancelled while waiting for {what}; everything it started was removed")
        problem = failed()
        if problem:
            raise ClusterError(problem)
        if time.monotonic() > deadline:
            raise ClusterError(f"timed out waiting for {what}; everything it started was removed")
        time.sleep(interval)


def log_tail(path: str | Path, lines: int = 12) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])
