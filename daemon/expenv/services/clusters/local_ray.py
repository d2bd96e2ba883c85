"""Local Ray: one head node (`ray start --head --block`) of a Python with Ray: the profile's
`python` option, else this Python when the optional `ray` extra is installed.

Every listener stays on 127.0.0.1. `ray start` turns a loopback `--node-ip-address` into the
host's address (and its gRPC servers then bind every interface), so the node is started through
RAY_START, which keeps 127.0.0.1; the processes the node starts are told to choose loopback too
(RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0, Ray's single-machine mode). The node's ports are chosen
free, and its workers bind ports the kernel picks (`--min/max-worker-port 0`), so several nodes
(local clusters, docker Ray containers on the host network) never reach for the same port.
docker_ray.py starts its containers' nodes with the same arguments.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

from expenv.domain.clusters import ClusterError, ClusterHandle, ClusterProfile
from expenv.services.clusters import processes
from expenv.services.clusters.interface import BackendContext, Cancelled, Progress
from expenv.services.clusters.local import chosen_port, deadline

RAY_FIX = ("Ray is an optional extra: pip install 'expenv[ray]' (or 'ray[default]') in the Python that runs "
           "expenv, or name a Python that has it in the profile: options = { python = \"/path/to/bin/python\" }")
# `python -c RAY_START start ...` is `ray start ...` that keeps 127.0.0.1 as the node's address
# (Ray's own CLI would replace it with the host's, and refuse worker nodes in single-machine mode).
RAY_START = """\
import sys
import ray._private.ray_constants as constants
import ray._private.services as services
constants.ENABLE_RAY_CLUSTER = True
services.get_node_ip_address = lambda address=None: "127.0.0.1"
from ray.scripts.scripts import main
sys.argv[0] = "ray"
main()
"""
# What the node's own processes read: choose loopback; no usage report to Ray's servers; and no
# gRPC fork handlers: the client server forks a server per client while its gRPC threads run, and
# the child aborted in them (ev_epoll1_linux.cc "Check failed", ray-project/ray#63202) at the first
# connection of each cluster here; it execs at once, so it needs none of them.
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0",
           "GRPC_ENABLE_FORK_SUPPORT": "false"}
# `down` signals the head's `ray start --block` alone first: it stops the node's processes in order
# within seconds (signalled all at once, it waits on a GCS already gone until the SIGKILL).
STOP_LEADER_FIRST = 15.0
# Asks a Python for its Ray (without importing it: that takes seconds) and its own version.
VERSION_PROBE = ("import sys\nfrom importlib.metadata import version\n"
                 "print(version('ray'), '%d.%d.%d' % sys.version_info[:3])")


def python_versions(python: str) -> dict[str, Any]:
    """{"python": "3.11.7", "packages": {"ray": "2.60.0"}} of `python`; a clear error without Ray."""
    try:
        found = subprocess.run([python, "-c", VERSION_PROBE], capture_output=True, text=True, timeout=60)
    except OSError as exc:
        raise ClusterError(f"options.python: cannot run {python}: {exc}") from None
    if found.returncode != 0:
        if "PackageNotFoundError" in found.stderr:
            raise ClusterError(f"kind: ray is not installed in {python}; {RAY_FIX}")
        raise ClusterError(f"options.python: {python} failed: {found.stderr.strip()[-500:]}")
    ray, python_version = found.stdout.split()
    return {"python": python_version, "packages": {"ray": ray}}


def node_args(node_ip: str = "127.0.0.1") -> list[str]:
    """`ray start` arguments every node of ours takes (head or worker, local or in a container)."""
    return ["--block", "--node-ip-address", node_ip, "--dashboard-agent-listen-port", str(processes.free_port()),
            "--min-worker-port", "0", "--max-worker-port", "0", "--disable-usage-stats"]


def head_args(gcs: int, client: int, dashboard: int) -> list[str]:
    return ["--head", "--port", str(gcs), "--ray-client-server-port", str(client), "--dashboard-host", "127.0.0.1",
            "--dashboard-port", str(dashboard), "--include-dashboard", "true"]


def scratch_dir(cluster_id: str) -> Path:
    """Ray's --temp-dir: short, as its unix sockets' paths must stay under 108 bytes."""
    return Path(tempfile.gettempdir()) / f"expenv-ray-{os.getuid()}" / cluster_id.rsplit("-", 1)[-1]


def launch(context: BackendContext, profile: ClusterProfile, handle: ClusterHandle, progress: Progress,
           cancelled: Cancelled) -> ClusterHandle:
    python = str(profile.options.get("python") or sys.executable)
    versions = python_versions(python)
    folder: Path = context.logs_dir() / handle.id
    folder.mkdir(parents=True, exist_ok=True)
    gcs, client, dashboard = (chosen_port(profile, k) for k in ("port", "client_port", "dashboard_port"))
    cpus = profile.workers * max(1, int(profile.cores or 1))
    scratch = scratch_dir(handle.id)
    argv = [python, "-c", RAY_START, "start", *head_args(gcs, client, dashboard), *node_args(),
            "--num-cpus", str(cpus), "--temp-dir", str(scratch)]
    env = {**context.run_env(profile), **RAY_ENV,
           **processes.label_env(context.workspace_label, handle.id, profile.name, "ray", "head")}
    progress(f"starting the Ray head node (ray {versions['packages']['ray']}, {cpus} CPUs)")
    head = processes.start_detached(argv, env, folder / "head.log", context.root)
    address = f"ray://127.0.0.1:{client}"
    handle.resources.update({"port": gcs, "client_port": client, "dashboard_port": dashboard, "folder": str(folder),
                             "scratch": str(scratch)})
    handle.resources["processes"].append({**head, "role": "head"})
    # Found again without the ledger (`cluster ls` of an orphan), as a Dask scheduler's file is.
    (folder / "address.json").write_text(json.dumps({"address": address, "dashboard_port": dashboard}))

    def failed() -> str | None:
        return None if processes.alive(head) else f"the Ray head exited:\n{processes.log_tail(head['log'], 20)}"

    processes.wait_for(lambda: processes.accepts(client) and alive_nodes(dashboard) is not None,
                       deadline(context, profile), cancelled, "the Ray head", failed, interval=0.5)
    handle = replace(handle, address=address, dashboard_url=f"http://127.0.0.1:{dashboard}", status="running",
                     workers_alive=cpus)
    handle.versions = versions
    return handle


def dashboard_api(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=10) as response:
        return json.load(response)


def alive_nodes(dashboard_port: int) -> list[dict[str, Any]] | None:
    """The cluster's live nodes (node_name, is_head_node, resources_total...), None while the
    dashboard does not answer."""
    try:
        nodes = dashboard_api(dashboard_port, "api/v0/nodes?limit=1000")["data"]["result"]["result"]
    except Exception:
        return None
    return [n for n in nodes if n.get("state") == "ALIVE"]


def _port(handle: ClusterHandle, key: str, url: str | None) -> int:
    """A port the launch recorded, else the one in the address (a cluster found without its ledger)."""
    if handle.resources.get(key):
        return int(handle.resources[key])
    try:
        return int((url or "").rsplit(":", 1)[1].split("/")[0])
    except (IndexError, ValueError):
        return 0


def inspect(handle: ClusterHandle, live: list[dict[str, Any]]) -> ClusterHandle:
    nodes = alive_nodes(_port(handle, "dashboard_port", handle.dashboard_url))
    if nodes is None:
        up = processes.accepts(_port(handle, "client_port", handle.address))
        return replace(handle, status="running" if up else "unknown",
                       detail="" if up else "neither the Ray client port nor the dashboard answers")
    cpus = int(sum(n.get("resources_total", {}).get("CPU", 0) for n in nodes))
    return replace(handle, status="running", workers_alive=cpus, workers_lost=0, detail="")


def discovered(handle: ClusterHandle, folder: Path) -> ClusterHandle:
    """A head found by its process labels: its address and dashboard from the file the launch wrote."""
    try:
        recorded = json.loads((folder / "address.json").read_text())
    except (OSError, ValueError):
        return handle
    port = recorded.get("dashboard_port")
    return replace(handle, address=recorded.get("address"),
                   dashboard_url=f"http://127.0.0.1:{port}" if port else None)


def cleanup(handle: ClusterHandle) -> None:
    """Once its processes are gone: Ray's scratch folder (sessions, sockets, spilled objects)."""
    shutil.rmtree(handle.resources.get("scratch") or scratch_dir(handle.id), ignore_errors=True)


def scale(context: BackendContext, handle: ClusterHandle, workers: int) -> ClusterHandle:
    raise ClusterError("workers: a local Ray cluster is one head node whose CPUs are fixed when it starts; "
                       "`expenv cluster down` it and launch the profile with another `workers`")


def last_activity(handle: ClusterHandle) -> float | None:
    """Now while a client is connected (its driver job runs), else when the last one left."""
    import time

    jobs = dashboard_api(_port(handle, "dashboard_port", handle.dashboard_url), "api/jobs/")
    if any(job.get("status") in ("RUNNING", "PENDING") for job in jobs):
        return time.time()
    stamps = [max(job.get("start_time") or 0, job.get("end_time") or 0) for job in jobs]
    return max(stamps) / 1000 if any(stamps) else None
