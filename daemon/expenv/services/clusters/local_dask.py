"""Local Dask: a `dask scheduler` and `dask worker` processes (no nanny: one process per worker)."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from expenv.domain.clusters import ClusterHandle, ClusterProfile, memory_bytes
from expenv.services.clusters import processes
from expenv.services.clusters.dask_calls import ask_scheduler, start_helper
from expenv.services.clusters.interface import BackendContext, Cancelled, Progress
from expenv.services.clusters.local import chosen_port, deadline, launched_profile


def _python(profile: ClusterProfile) -> str:
    return str(profile.options.get("python") or sys.executable)


def _start_worker(context: BackendContext, profile: ClusterProfile, handle: ClusterHandle, address: str,
                  index: int) -> None:
    folder = Path(handle.resources["folder"])
    argv = [_python(profile), "-m", "distributed.cli.dask_worker", address, "--no-nanny", "--host", "127.0.0.1",
            "--name", f"{handle.id}-w{index}", "--nthreads", str(max(1, int(profile.cores or 1))),
            "--memory-limit", str(memory_bytes(profile.memory)) if profile.memory else "auto",
            "--local-directory", str(folder / f"w{index}"), "--no-dashboard",
            # A worker whose scheduler is gone exits on its own instead of waiting forever.
            "--death-timeout", "60"]
    env = {**context.run_env(profile),
           **processes.label_env(context.workspace_label, handle.id, profile.name, "dask", "worker")}
    record = processes.start_detached(argv, env, folder / f"worker-{index}.log", context.root)
    handle.resources["processes"].append({**record, "role": "worker", "index": index})


def launch(context: BackendContext, profile: ClusterProfile, handle: ClusterHandle, progress: Progress,
           cancelled: Cancelled) -> ClusterHandle:
    folder = context.logs_dir() / handle.id
    folder.mkdir(parents=True, exist_ok=True)
    handle.resources["folder"] = str(folder)
    port, dashboard = chosen_port(profile, "port"), chosen_port(profile, "dashboard_port")
    scheduler_file = folder / "scheduler.json"
    argv = [_python(profile), "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
            "--dashboard-address", f"127.0.0.1:{dashboard}", "--scheduler-file", str(scheduler_file)]
    env = {**context.run_env(profile),
           **processes.label_env(context.workspace_label, handle.id, profile.name, "dask", "scheduler")}
    progress("starting the Dask scheduler")
    start_helper()   # the process that will ask the scheduler: its import overlaps the scheduler's
    scheduler = processes.start_detached(argv, env, folder / "scheduler.log", context.root)
    handle.resources["processes"].append({**scheduler, "role": "scheduler"})
    until = deadline(context, profile)

    def scheduler_failed() -> str | None:
        if processes.alive(scheduler):
            return None
        return f"the Dask scheduler exited:\n{processes.log_tail(scheduler['log'])}"

    info = processes.wait_for(lambda: _read_json(scheduler_file), until, cancelled, "the Dask scheduler",
                              scheduler_failed)
    address = info["address"]
    dashboard_port = info.get("services", {}).get("dashboard")
    handle = replace(handle, address=address,
                     dashboard_url=f"http://127.0.0.1:{dashboard_port}/status" if dashboard_port else None)
    progress(f"scheduler at {address}; starting {profile.workers} worker(s)")
    for index in range(profile.workers):
        _start_worker(context, profile, handle, address, index)
    _wait_workers(handle, profile.workers, until, cancelled, progress)
    handle.versions = _versions(address)
    return replace(handle, status="running", workers_alive=profile.workers)


def _wait_workers(handle: ClusterHandle, wanted: int, until: float, cancelled: Cancelled,
                  progress: Progress) -> None:
    def ready() -> bool:
        count = len(ask_scheduler(handle.address, "identity").get("workers", {}))
        progress(f"{count}/{wanted} worker(s) connected")
        return count >= wanted

    def failed() -> str | None:
        dead = [r for r in handle.resources["processes"] if not processes.alive(r)]
        return (f"a Dask {dead[0]['role']} exited while starting:\n{processes.log_tail(dead[0]['log'])}"
                if dead else None)

    processes.wait_for(ready, until, cancelled, f"{wanted} Dask worker(s)", failed, interval=0.3)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _versions(address: str) -> dict[str, Any]:
    """The scheduler's and workers' Python and packages (dask's own get_versions report)."""
    try:
        scheduler = ask_scheduler(address, "versions")
        workers = ask_scheduler(address, "broadcast", msg={"op": "versions"})
    except Exception as exc:  # versions are advisory: a launch does not fail for them
        return {"error": str(exc)}
    return {"python": scheduler.get("host", {}).get("python"), "packages": scheduler.get("packages", {}),
            "workers": {w: v.get("packages", {}) for w, v in (workers or {}).items() if isinstance(v, dict)}}


def inspect(handle: ClusterHandle, live: list[dict[str, Any]]) -> ClusterHandle:
    scheduler_up = any(r["role"] == "scheduler" for r in live)
    workers = [r for r in handle.resources.get("processes", []) if r["role"] == "worker"]
    lost = len([r for r in workers if r not in live])
    if not scheduler_up:
        return replace(handle, status="failed", workers_alive=0, workers_lost=len(workers),
                       detail="the Dask scheduler is gone; `down` removes what is left")
    try:
        alive = len(ask_scheduler(handle.address, "identity").get("workers", {})) if handle.address else 0
    except Exception as exc:
        return replace(handle, status="unknown", detail=f"the scheduler does not answer: {exc}")
    detail = f"{lost} worker(s) lost; `scale` replaces them" if lost else ""
    return replace(handle, status="running", workers_alive=alive, workers_lost=lost, detail=detail)


def scale(context: BackendContext, handle: ClusterHandle, workers: int) -> ClusterHandle:
    profile = launched_profile(handle)
    records = handle.resources.get("processes", [])
    running = [r for r in records if r["role"] == "worker" and processes.alive(r)]
    keep = [r for r in records if r["role"] != "worker"] + running
    handle = replace(handle, resources={**handle.resources, "processes": keep})
    if workers < len(running):
        extra = running[workers:]
        processes.stop(extra)
        handle.resources["processes"] = [r for r in keep if r not in extra]
    else:
        next_index = max((r.get("index", -1) for r in records), default=-1) + 1
        for index in range(next_index, next_index + workers - len(running)):
            _start_worker(context, profile, handle, handle.address, index)
        _wait_workers(handle, workers, deadline(context, profile), lambda: False, lambda _m: None)
    return inspect(handle, [r for r in handle.resources["processes"] if processes.alive(r)])


def last_activity(handle: ClusterHandle) -> float | None:
    import time

    idle_since = ask_scheduler(handle.address, "check_idle")
    return time.time() if idle_since is None else float(idle_since)
