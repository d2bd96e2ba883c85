"""The cluster service: launch, list, scale, stop and render clusters of any backend.

The ledger (`.expenv/ledger.json`) is the memory shared by the CLI and the daemon; every list
reconciles it with what really runs (the backends' `discover`), adopts orphans so they can be
stopped, and stops clusters idle longer than their profile's `idle_timeout`.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from expenv.domain.clusters import ClusterError, ClusterHandle, ClusterProfile, new_cluster_id, workspace_label
from expenv.domain.config import ExpenvConfig
from expenv.services.clusters.interface import BackendContext, Cancelled, ClusterBackend, Progress
from expenv.services.clusters.profiles import cluster_profiles, find_profile
from expenv.services.ledger import Ledger, LedgerEntry, owner_alive, process_owner

log = logging.getLogger(__name__)

# Built-in backends, imported on first use. The kubernetes one is the kube engineer's module.
BACKENDS = {
    "local": "expenv.services.clusters.local:LocalClusters",
    "docker": "expenv.services.clusters.docker:DockerClusters",
    "kubernetes": "expenv.services.clusters.kubernetes:KubernetesClusters",
}


def load_backend_class(ref: str) -> type:
    """"local" / "docker" / "kubernetes" or a third party's "package.module:Class"."""
    target = BACKENDS.get(ref, ref)
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise ClusterError(f"backend: cluster backend {ref!r} is not available: module {module_name} "
                               f"cannot be imported ({exc})") from None
        raise ClusterError(f"backend: cluster backend {ref!r} needs a package that is not installed: {exc}") from None
    backend = getattr(module, class_name, None)
    if backend is None:
        raise ClusterError(f"backend: module {module_name} has no class {class_name!r}")
    return backend


def _no_progress(message: str) -> None:
    log.info("%s", message)


def _never() -> bool:
    return False


# Marks a ledger entry whose launch has not returned yet.
LAUNCHING = "launching"


class ClusterService:
    """The clusters of one workspace, whichever process (CLI or daemon) asks."""

    def __init__(self, config: ExpenvConfig, run_env: Callable[[ClusterProfile], dict[str, str]] | None = None):
        """`run_env`: what a cluster's processes, containers and pods are told so their MLflow runs
        land in the workspace's experiment with its tags (clusters/run_env.py)."""
        self.config = config
        self.ledger = Ledger(config.state_dir)
        self.context = BackendContext(root=config.root, state_dir=config.state_dir,
                                      workspace_label=workspace_label(config.root), raw_roots=config.raw.roots,
                                      **({"run_env": run_env} if run_env else {}))
        self._backends: dict[str, ClusterBackend] = {}
        self._lock = threading.Lock()

    # --- profiles and backends -------------------------------------------------------------

    def profiles(self) -> dict[str, ClusterProfile]:
        return cluster_profiles(self.config)

    def profile(self, name: str) -> ClusterProfile:
        return find_profile(self.config, name)

    def backend(self, name: str) -> ClusterBackend:
        with self._lock:
            if name not in self._backends:
                self._backends[name] = load_backend_class(name)(self.context)
            return self._backends[name]

    # --- operations ------------------------------------------------------------------------

    def launch(self, profile_name: str, progress: Progress | None = None, cancelled: Cancelled | None = None,
               reuse: bool = False) -> ClusterHandle:
        """Start a cluster of the profile (or, with `reuse`, return a running one of it)."""
        progress, cancelled = progress or _no_progress, cancelled or _never
        profile = self.profile(profile_name)
        # Listing reconciles the ledger and stops idle clusters before this one adds to the machine.
        running = [h for h in self.list()["clusters"] if h.profile == profile.name and h.status == "running"]
        if reuse and running:
            return running[0]
        backend = self.backend(profile.backend)
        cluster_id = new_cluster_id(profile.name)
        handle = ClusterHandle(id=cluster_id, profile=profile.name, kind=profile.kind, backend=profile.backend,
                               owner=process_owner(), workers_wanted=profile.workers,
                               resources={LAUNCHING: True})
        # Recorded before anything starts, so a launcher killed half-way leaves a findable entry.
        self._record(handle)
        try:
            progress(f"launching {profile.kind} cluster {cluster_id} ({profile.backend})")
            launched = backend.launch(profile, cluster_id, progress, cancelled)
        except BaseException:
            self.ledger.remove(cluster_id)
            raise
        launched = replace(launched, owner=handle.owner, started_at=handle.started_at,
                           workers_wanted=launched.workers_wanted or profile.workers)
        launched.expires_at = self._expiry(profile, launched, None)
        if self.ledger.get(cluster_id) is None:   # stopped by another process meanwhile
            backend.stop(launched)
            raise ClusterError(f"cluster {cluster_id} was stopped while it launched")
        self._record(launched)
        return launched

    def list(self) -> dict[str, Any]:
        """Every cluster of the workspace, live: {clusters, orphans, problems}."""
        entries = {e.id: ClusterHandle.from_dict(e.data) for e in self.ledger.entries("cluster")}
        problems: list[str] = []
        found: dict[str, ClusterHandle] = {}
        for backend_name in self._backends_in_use(entries.values()):
            try:
                for handle in self.backend(backend_name).discover(self.context.workspace_label):
                    found[handle.id] = handle
            except ClusterError as exc:
                problems.append(f"{backend_name}: {exc}")
        orphans = []
        for cluster_id, handle in found.items():
            if cluster_id not in entries:
                handle = replace(handle, status="orphan", owner=handle.owner or "unknown (found running)",
                                 detail="runs with this workspace's labels but no ledger entry; `down` stops it")
                self._record(handle)
                entries[cluster_id] = handle
                orphans.append(cluster_id)
        clusters = [self._refresh(handle, cluster_id in orphans) for cluster_id, handle in entries.items()]
        return {"clusters": clusters, "orphans": orphans, "problems": problems}

    def listing(self) -> dict[str, Any]:
        """`list()` as JSON: what `cluster ls --json` and `expenv.clusters.list` return."""
        found = self.list()
        return {**found, "clusters": [h.as_dict() for h in found["clusters"]]}

    def recorded(self) -> list[dict[str, Any]]:
        """The ledger's clusters as last seen, without asking any engine (fast, for status)."""
        keys = ("id", "profile", "kind", "backend", "status", "address", "dashboard_url", "owner", "expires_at")
        return [{k: e.data.get(k) for k in keys} for e in self.ledger.entries("cluster")]

    def get(self, cluster_id: str) -> ClusterHandle:
        entry = self.ledger.get(cluster_id)
        if entry is None:
            listed = {h.id: h for h in self.list()["clusters"]}
            if cluster_id in listed:
                return listed[cluster_id]
            known = ", ".join(sorted(listed)) or "none"
            raise ClusterError(f"id: no cluster {cluster_id!r} in this workspace (running: {known})")
        return ClusterHandle.from_dict(entry.data)

    def scale(self, cluster_id: str, workers: int) -> ClusterHandle:
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 0:
            raise ClusterError(f"workers: must be a whole number of at least 0, not {workers!r}")
        handle = self.get(cluster_id)
        scaled = self.backend(handle.backend).scale(handle, workers)
        scaled.workers_wanted = workers
        self._record(scaled)
        return scaled

    def stop(self, cluster_id: str) -> ClusterHandle:
        handle = self.get(cluster_id)
        self.backend(handle.backend).stop(handle)
        self.ledger.remove(cluster_id)
        return handle.with_status("stopped", "stopped by request")

    def stop_all(self) -> list[ClusterHandle]:
        """Stop every cluster of the workspace, the ledger's and the orphans found running."""
        stopped, failures = [], []
        for handle in self.list()["clusters"]:
            if handle.status == "stopped":   # found gone by the listing itself (and forgotten there)
                stopped.append(handle)
                continue
            try:
                stopped.append(self.stop(handle.id))
            except ClusterError as exc:
                failures.append(f"{handle.id}: {exc}")
        if failures:
            raise ClusterError("some clusters could not be stopped: " + "; ".join(failures))
        return stopped

    def attach(self, target: str, python: str | None = None, progress: Progress | None = None,
               cancelled: Cancelled | None = None) -> dict[str, Any]:
        """A running cluster by id, else a running one of the profile `target` (launched when
        none runs): its connection, the cell to insert, and the kernel/cluster version check."""
        entry = self.ledger.get(target)
        if entry is not None:
            handle = ClusterHandle.from_dict(entry.data)
        elif target in self.profiles():
            handle = self.launch(target, progress, cancelled, reuse=True)
        else:
            running = ", ".join(e.id for e in self.ledger.entries("cluster")) or "none"
            profiles = ", ".join(sorted(self.profiles())) or "none"
            raise ClusterError(f"target: {target!r} is neither a running cluster (running: {running}) "
                               f"nor a profile (profiles: {profiles})")
        self.touch(handle.id)
        return self.report(handle, python)

    def report(self, handle: ClusterHandle, python: str | None = None) -> dict[str, Any]:
        """The handle as JSON, with the connection cell and the version check for `python`
        (default: the kernel's interpreter, the production Python)."""
        from expenv.services.clusters.versions import check
        from expenv.services.kernels.spec import default_python

        data = handle.as_dict()
        if handle.address:
            header = f"# expenv: cluster {handle.id} (profile {handle.profile}, {handle.kind} on {handle.backend})\n"
            data["cell"] = header + handle.connection()["snippet"]
            data["version_check"] = check(handle.kind, python or default_python(), handle.versions)
        return data

    def render(self, profile_name: str) -> list[dict]:
        profile = self.profile(profile_name)
        return self.backend(profile.backend).render(profile, new_cluster_id(profile.name))

    def touch(self, cluster_id: str) -> None:
        """Someone uses the cluster (attach, kernel start): push its idle deadline on."""
        entry = self.ledger.get(cluster_id)
        if entry is None:
            return
        handle = ClusterHandle.from_dict(entry.data)
        handle.last_used_at = time.time()
        profile = self.profiles().get(handle.profile)
        handle.expires_at = self._expiry(profile, handle, None) if profile else handle.expires_at
        self._record(handle, create=False)

    # --- internals -------------------------------------------------------------------------

    def _backends_in_use(self, handles) -> list[str]:
        """Backends worth asking what runs: the ledger's, and the profiles' ones. Kubernetes is asked
        for a kubernetes profile when there is a kubeconfig (as kubectl would be): clusters launched
        from another machine, or whose ledger was lost, are found by their labels."""
        from expenv.services.kube.client import kubeconfig_present

        names = {h.backend for h in handles}
        profiled = {p.backend for p in self.profiles().values()}
        names |= profiled & {"local", "docker"}
        if "kubernetes" in profiled and kubeconfig_present():
            names.add("kubernetes")
        names.add("local")
        if "docker" in names and not any(h.backend == "docker" for h in handles):
            from expenv.services.probes import docker_engine

            if not docker_engine().ok:   # no engine: nothing of ours can run there
                names.discard("docker")
        return sorted(names)

    def _refresh(self, handle: ClusterHandle, orphan: bool) -> ClusterHandle:
        if handle.resources.get(LAUNCHING) and not orphan:
            # The launch has not returned yet (a launch that returned "starting" - an operator
            # still at work - is followed like a running cluster).
            if owner_alive(handle.owner) is not False:
                return handle   # its launcher is still at work (in this process or another)
            self.backend(handle.backend).stop(handle)
            self.ledger.remove(handle.id)
            return handle.with_status("failed", "its launch was interrupted (the launching process exited); "
                                                "what it had started was removed")
        try:
            live = self.backend(handle.backend).inspect(handle)
        except ClusterError as exc:
            return handle.with_status("unknown", str(exc))
        if orphan and live.status == "running":
            live = replace(live, status="orphan", detail=handle.detail)
        if live.status == "stopped":
            # Nothing of it runs any more: say so once, then forget it.
            self.ledger.remove(handle.id)
            return live
        profile = self.profiles().get(handle.profile)
        if profile and profile.idle_timeout and live.status == "running":
            last = self.backend(handle.backend).last_activity(live)
            live.expires_at = self._expiry(profile, live, last)
            if live.expires_at is not None and time.time() > live.expires_at:
                self.backend(handle.backend).stop(live)
                self.ledger.remove(handle.id)
                return live.with_status("stopped", f"stopped: idle for more than {profile.idle_timeout} s")
        self._record(live, create=False)
        return live

    @staticmethod
    def _expiry(profile: ClusterProfile, handle: ClusterHandle, last_use: float | None) -> float | None:
        if not profile.idle_timeout:
            return None
        return max(last_use or 0, handle.last_used_at or 0, handle.started_at) + profile.idle_timeout

    def _record(self, handle: ClusterHandle, create: bool = True) -> None:
        """Write the handle to the ledger; `create=False` only refreshes an entry still there
        (another process may have stopped it meanwhile)."""
        data = {k: v for k, v in handle.as_dict().items() if k not in ("age_seconds", "connection")}
        entry = LedgerEntry(id=handle.id, type="cluster", owner=handle.owner, profile=handle.profile,
                            backend=handle.backend, created_at=handle.started_at, expires_at=handle.expires_at,
                            resources=handle.resources, data=data)
        if create:
            self.ledger.put(entry)
        else:
            self.ledger.update(handle.id, lambda _old: entry)
