"""Local Ray: one head node (`ray start --head --block`), only when the optional `ray` extra is there."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from expenv.domain.clusters import ClusterError, ClusterHandle, ClusterProfile
from expenv.services.clusters import processes
from expenv.services.clusters.interface import BackendContext, Cancelled, Progress
from expenv.services.clusters.local import chosen_port, deadline

RAY_FIX = "Ray is an optional extra: pip install 'expenv[ray]' (or 'ray[default]') in the Python that runs expenv"


def _ray_cli(python: str) -> list[str]:
    if python == sys.executable and importlib.util.find_spec("ray") is None:
        raise ClusterError(f"kind: ray is not installed; {RAY_FIX}")
    return [python, "-m", "ray.scripts.scripts"]


def launch(context: BackendContext, profile: ClusterProfile, handle: ClusterHandle, progress: Progress,
           cancelled: Cancelled) -> ClusterHandle:
    python = str(profile.options.get("python") or sys.executable)
    cli = _ray_cli(python)
    folder: Path = context.logs_dir() / handle.id
    folder.mkdir(parents=True, exist_ok=True)
    gcs, client, dashboard = (chosen_port(profile, k) for k in ("port", "client_port", "dashboard_port"))
    argv = [*cli, "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(gcs),
            "--ray-client-server-port", str(client), "--dashboard-host", "127.0.0.1",
            "--dashboard-port", str(dashboard), "--num-cpus", str(profile.workers * max(1, int(profile.cores or 1))),
            "--temp-dir", str(folder / "ray")]
    env = {**context.run_env(profile),
           **processes.label_env(context.workspace_label, handle.id, profile.name, "ray", "head")}
    progress("starting the Ray head node")
    head = processes.start_detached(argv, env, folder / "head.log", context.root)
    handle.resources.update({"port": gcs, "client_port": client, "folder": str(folder)})
    handle.resources["processes"].append({**head, "role": "head"})

    def failed() -> str | None:
        return None if processes.alive(head) else f"the Ray head exited:\n{processes.log_tail(head['log'], 20)}"

    processes.wait_for(lambda: processes.accepts(client), deadline(context, profile), cancelled, "the Ray head", failed,
                       interval=0.5)
    return replace(handle, address=f"ray://127.0.0.1:{client}", dashboard_url=f"http://127.0.0.1:{dashboard}",
                   status="running", workers_alive=1)


def inspect(handle: ClusterHandle, live: list[dict[str, Any]]) -> ClusterHandle:
    up = processes.accepts(handle.resources.get("client_port", 0))
    return replace(handle, status="running" if up else "unknown", detail="" if up else "the Ray client port is closed")


def scale(context: BackendContext, handle: ClusterHandle, workers: int) -> ClusterHandle:
    raise ClusterError("workers: a local Ray head cannot be resized; launch the profile with another `workers`")


def last_activity(handle: ClusterHandle) -> float | None:
    return None
