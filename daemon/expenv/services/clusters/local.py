"""The `local` backend: engines as real processes on this machine, detached from their launcher.

Each kind has its own module (local_dask, local_spark, local_ray) with `launch`, `inspect`,
`scale` and `last_activity` (and, when it leaves files outside the cluster's folder, `cleanup`);
stopping and finding processes is the same for all of them.
"""

from __future__ import annotations

import importlib
import time
from typing import Any

from expenv.domain.clusters import ClusterError, ClusterHandle, ClusterProfile
from expenv.services.clusters import processes
from expenv.services.clusters.interface import BackendContext, Cancelled, Progress

ENGINES = {"dask": "expenv.services.clusters.local_dask", "spark": "expenv.services.clusters.local_spark",
           "ray": "expenv.services.clusters.local_ray"}


def process_records(handle: ClusterHandle) -> list[dict[str, Any]]:
    return list(handle.resources.get("processes", []))


class LocalClusters:
    """Dask, Spark Connect and Ray as processes on this machine."""

    def __init__(self, context: BackendContext):
        self.context = context

    def _engine(self, kind: str):
        if kind not in ENGINES:
            raise ClusterError(f"kind: the local backend runs {', '.join(ENGINES)}, not {kind!r}")
        return importlib.import_module(ENGINES[kind])

    def launch(self, profile: ClusterProfile, cluster_id: str, progress: Progress,
               cancelled: Cancelled) -> ClusterHandle:
        handle = ClusterHandle(id=cluster_id, profile=profile.name, kind=profile.kind, backend=profile.backend,
                               workers_wanted=profile.workers,
                               resources={"processes": [], "profile": profile.as_dict()})
        try:
            return self._engine(profile.kind).launch(self.context, profile, handle, progress, cancelled)
        except BaseException:
            # Whatever the engine recorded before failing, and anything labelled with this id.
            self.stop(handle)
            raise

    def inspect(self, handle: ClusterHandle) -> ClusterHandle:
        records = process_records(handle)
        live = [r for r in records if processes.alive(r)]
        if not live:
            self._cleanup(handle)   # gone on its own (killed, crashed): its files go too, as at `down`
            return handle.with_status("stopped", "none of its processes runs any more")
        return self._engine(handle.kind).inspect(handle, live)

    def discover(self, workspace_label: str) -> list[ClusterHandle]:
        found = []
        for cluster_id, records in processes.labelled(workspace_label).items():
            first = records[0]
            handle = ClusterHandle(id=cluster_id, profile=first["profile"], kind=first["kind"], backend="local",
                                   status="unknown", started_at=min(r["started"] for r in records),
                                   address=self._recorded_address(cluster_id), resources={"processes": records})
            if handle.kind == "ray":
                handle = self._engine("ray").discovered(handle, self.context.logs_dir() / cluster_id)
            found.append(handle)
        return found

    def _recorded_address(self, cluster_id: str) -> str | None:
        """A Dask scheduler writes its address into the cluster's folder (found again without the ledger)."""
        import json

        try:
            return json.loads((self.context.state_dir / "clusters" / cluster_id / "scheduler.json").read_text())["address"]
        except (OSError, ValueError, KeyError):
            return None

    def scale(self, handle: ClusterHandle, workers: int) -> ClusterHandle:
        return self._engine(handle.kind).scale(self.context, handle, workers)

    def stop(self, handle: ClusterHandle) -> None:
        records = process_records(handle)
        # Processes the ledger did not hear of (a launcher killed mid-way) carry the cluster id too.
        records += processes.labelled(self.context.workspace_label).get(handle.id, [])
        engine = self._engine(handle.kind) if handle.kind in ENGINES else None
        processes.stop(records, leader_first=getattr(engine, "STOP_LEADER_FIRST", 0.0))
        if any(processes.alive(r) for r in records):
            raise ClusterError(f"some processes of {handle.id} did not stop: "
                               f"{[r['pid'] for r in records if processes.alive(r)]}")
        self._cleanup(handle)

    def _cleanup(self, handle: ClusterHandle) -> None:
        """What the engine left outside the cluster's folder (Ray's scratch), once nothing of it runs."""
        engine = self._engine(handle.kind) if handle.kind in ENGINES else None
        if hasattr(engine, "cleanup"):
            engine.cleanup(handle)

    def render(self, profile: ClusterProfile, cluster_id: str) -> list[dict]:
        return []

    def last_activity(self, handle: ClusterHandle) -> float | None:
        try:
            return self._engine(handle.kind).last_activity(handle)
        except Exception:   # a cluster that does not answer is not in use
            return None


def launched_profile(handle: ClusterHandle) -> ClusterProfile:
    """The profile a cluster was launched with (kept in its resources: the config may change)."""
    data = handle.resources.get("profile")
    if not data:
        raise ClusterError(f"{handle.id} was found running without its profile; stop it and launch a new one")
    return ClusterProfile(**{**data, "secrets": tuple(data.get("secrets", ()))})


def deadline(context: BackendContext, profile: ClusterProfile, default: float | None = None) -> float:
    """When a launch gives up: the profile's `options.launch_timeout`, else the engine's default."""
    return time.monotonic() + float(profile.options.get("launch_timeout", default or context.launch_timeout))


def chosen_port(profile: ClusterProfile, key: str) -> int:
    """The profile's `options.<key>` port if free (a clear error if taken), else a free one."""
    port = profile.options.get(key)
    if port is None:
        return processes.free_port()
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise ClusterError(f"options.{key}: must be a port number, not {port!r}")
    if processes.port_in_use(port):
        raise ClusterError(f"options.{key}: port {port} on 127.0.0.1 is already in use; free it or choose another")
    return port
