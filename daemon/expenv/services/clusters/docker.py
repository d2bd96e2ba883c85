"""The `docker` backend: a Dask scheduler and workers, a Spark Connect server (docker_spark.py), or
a Ray head and worker nodes (docker_ray.py), as containers of the production image.

Containers use host networking and bind 127.0.0.1 only, so the notebook (on the host or in the
devcontainer, itself on the host network) reaches them at the same address, and they reach the
loopback MLflow server. Each carries the cluster's labels, so `cluster ls` finds them whatever
the ledger says. The raw roots are mounted read-only at the path the workspace sees them, so a
path that works in the notebook works on the workers. From inside the devcontainer the engine is
the host's (docker-outside-of-docker), so mount sources are translated to host paths.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from expenv.domain.clusters import LABEL_CLUSTER, LABEL_WORKSPACE, ClusterError, ClusterHandle, ClusterProfile, \
    cluster_labels, memory_bytes
from expenv.services.clusters import docker_ray, docker_spark, processes
from expenv.services.clusters.interface import BackendContext, Cancelled, Progress
from expenv.services.clusters.local import chosen_port, deadline, launched_profile
from expenv.services.clusters.dask_calls import ask_scheduler, start_helper

LABEL_ROLE = "expenv.role"
LABEL_KIND = "expenv.kind"
KINDS = ("dask", "spark", "ray")
DASK_MISSING = ("the image {image} has no dask.distributed; add 'dask[distributed]' to the production requirements "
                "and rebuild it (`expenv images build`)")


def host_path(path: Path) -> Path:
    """The host's path of `path` for a bind mount. Inside the devcontainer the engine is the
    host's: LOCAL_WORKSPACE_FOLDER (the host folder) and CONTAINER_WORKSPACE_FOLDER (where it is
    mounted here), set by devcontainer.json, translate it; elsewhere a path is already the host's."""
    local, mounted = os.environ.get("LOCAL_WORKSPACE_FOLDER"), os.environ.get("CONTAINER_WORKSPACE_FOLDER")
    if local and mounted:
        try:
            return Path(local) / Path(path).resolve().relative_to(Path(mounted).resolve())
        except ValueError:
            pass
    return Path(path)


def _client():
    from expenv.services.images import docker_client

    return docker_client()


class DockerClusters:
    """Dask, Spark Connect and Ray on the local Docker engine."""

    def __init__(self, context: BackendContext):
        self.context = context

    # --- ClusterBackend ----------------------------------------------------------------------

    def launch(self, profile: ClusterProfile, cluster_id: str, progress: Progress,
               cancelled: Cancelled) -> ClusterHandle:
        if profile.kind not in KINDS:
            raise ClusterError(f"kind: the docker backend runs {', '.join(KINDS)}, not {profile.kind!r}")
        if not profile.image:
            raise ClusterError("image: the docker backend needs an image: set [environment] production_image "
                               "or the profile's image")
        ray_version = docker_ray.client_ray(profile) if profile.kind == "ray" else ""
        client = _client()
        from expenv.services.images import image_info

        info = image_info(profile.image, client)
        handle = ClusterHandle(id=cluster_id, profile=profile.name, kind=profile.kind, backend=profile.backend,
                               workers_wanted=profile.workers,
                               resources={"image": profile.image, "image_id": info.id, "profile": profile.as_dict(),
                                          "python": info.labels.get("org.expenv.python") or "python"})
        try:
            if profile.kind == "spark":
                return docker_spark.launch(self, client, profile, handle, progress, cancelled)
            if profile.kind == "ray":
                return docker_ray.launch(self, client, profile, handle, ray_version, progress, cancelled)
            return self._launch(client, profile, handle, progress, cancelled)
        except BaseException:
            self.stop(handle)
            raise

    def _launch(self, client, profile: ClusterProfile, handle: ClusterHandle, progress: Progress,
                cancelled: Cancelled) -> ClusterHandle:
        port, dashboard = chosen_port(profile, "port"), chosen_port(profile, "dashboard_port")
        handle.resources.update({"port": port, "dashboard_port": dashboard})
        progress(f"starting the Dask scheduler container ({profile.image})")
        start_helper()   # the process that will ask the scheduler: its import overlaps the container's start
        scheduler = self.run_container(client, handle, "scheduler", [
            "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
            "--dashboard-address", f"127.0.0.1:{dashboard}"], profile)
        address = f"tcp://127.0.0.1:{port}"
        until = deadline(self.context, profile)
        processes.wait_for(lambda: _answers(address), until, cancelled, "the Dask scheduler container",
                           lambda: exited(scheduler, profile.image))
        handle = replace(handle, address=address, dashboard_url=f"http://127.0.0.1:{dashboard}/status")
        progress(f"scheduler at {address}; starting {profile.workers} worker container(s)")
        workers = [self._worker(client, handle, profile, i) for i in range(profile.workers)]

        def ready() -> bool:
            count = len(ask_scheduler(address, "identity").get("workers", {}))
            progress(f"{count}/{profile.workers} worker(s) connected")
            return count >= profile.workers

        processes.wait_for(ready, until, cancelled, f"{profile.workers} Dask worker container(s)",
                           lambda: next(filter(None, (exited(w, profile.image) for w in workers)), None),
                           interval=0.5)
        from expenv.services.clusters.local_dask import _versions

        handle.versions = _versions(address)
        return replace(handle, status="running", workers_alive=profile.workers)

    def inspect(self, handle: ClusterHandle) -> ClusterHandle:
        containers = self._containers({LABEL_CLUSTER: handle.id})
        if not containers:
            return handle.with_status("stopped", "none of its containers exists any more")
        if handle.kind == "spark":
            return docker_spark.inspect(handle, containers)
        if handle.kind == "ray":
            return docker_ray.inspect(handle, containers)
        running = [c for c in containers if c.status == "running"]
        scheduler_up = any(c.labels.get(LABEL_ROLE) == "scheduler" for c in running)
        lost = len([c for c in containers if c.labels.get(LABEL_ROLE) == "worker" and c.status != "running"])
        if not scheduler_up:
            return replace(handle, status="failed", workers_alive=0, workers_lost=lost,
                           detail="the scheduler container is not running; `down` removes what is left")
        try:
            alive = len(ask_scheduler(handle.address, "identity").get("workers", {}))
        except Exception as exc:
            return replace(handle, status="unknown", detail=f"the scheduler does not answer: {exc}")
        detail = f"{lost} worker container(s) lost; `scale` replaces them" if lost else ""
        return replace(handle, status="running", workers_alive=alive, workers_lost=lost, detail=detail)

    def discover(self, workspace_label: str) -> list[ClusterHandle]:
        by_cluster: dict[str, list] = {}
        for container in self._containers({LABEL_WORKSPACE: workspace_label}):
            by_cluster.setdefault(container.labels[LABEL_CLUSTER], []).append(container)
        found = []
        for cluster_id, containers in by_cluster.items():
            first = containers[0].labels
            kind = first.get(LABEL_KIND, "dask")
            port = next((c.labels.get("expenv.port") for c in containers if c.labels.get(LABEL_ROLE) == "scheduler"),
                        None)
            handle = ClusterHandle(id=cluster_id, profile=first.get("expenv.profile", ""), kind=kind,
                                   backend="docker", status="unknown",
                                   address=f"tcp://127.0.0.1:{port}" if port else None,
                                   resources={"containers": [c.id for c in containers]})
            found.append(docker_spark.discovered(handle, first) if kind == "spark"
                         else docker_ray.discovered(handle, first) if kind == "ray" else handle)
        return found

    def scale(self, handle: ClusterHandle, workers: int) -> ClusterHandle:
        if handle.kind == "spark":
            raise ClusterError(docker_spark.NO_SCALE)
        profile = launched_profile(handle)
        client = _client()
        containers = self._containers({LABEL_CLUSTER: handle.id}, client)
        mine = [c for c in containers if c.labels.get(LABEL_ROLE) == "worker"]
        for container in (c for c in mine if c.status != "running"):
            container.remove(force=True)
        running = sorted((c for c in mine if c.status == "running"), key=lambda c: int(c.labels["expenv.index"]))
        if workers < len(running):
            for container in running[workers:]:
                container.remove(force=True)
        else:
            start = max((int(c.labels["expenv.index"]) for c in mine), default=-1) + 1
            added = range(start, start + workers - len(running))
            if handle.kind == "ray":
                for index in added:
                    docker_ray.start_worker(self, client, handle, profile, index)
                names = [docker_ray.node_name(handle, int(c.labels["expenv.index"])) for c in running[:workers]]
                docker_ray.wait_workers(handle, names + [docker_ray.node_name(handle, i) for i in added],
                                        deadline(self.context, profile), lambda: False, lambda _m: None)
                return self.inspect(handle)
            for index in added:
                self._worker(client, handle, profile, index)

            def ready() -> bool:
                return len(ask_scheduler(handle.address, "identity").get("workers", {})) >= workers

            processes.wait_for(ready, deadline(self.context, profile), lambda: False, f"{workers} worker(s)")
        return self.inspect(handle)

    def stop(self, handle: ClusterHandle) -> None:
        from docker.errors import NotFound

        for container in self._containers({LABEL_CLUSTER: handle.id}):
            try:
                container.remove(force=True)
            except NotFound:
                pass

    def render(self, profile: ClusterProfile, cluster_id: str) -> list[dict]:
        return []

    def last_activity(self, handle: ClusterHandle) -> float | None:
        if handle.kind == "spark":
            try:
                return docker_spark.local_spark.last_activity(handle)
            except Exception:   # a server that does not answer is not in use
                return None
        if handle.kind == "ray":
            try:
                return docker_ray.local_ray.last_activity(handle)
            except Exception:   # a head that does not answer is not in use
                return None
        try:
            idle_since = ask_scheduler(handle.address, "check_idle")
        except Exception:
            return None
        return time.time() if idle_since is None else float(idle_since)

    # --- containers --------------------------------------------------------------------------

    def _containers(self, labels: dict[str, str], client=None) -> list:
        client = client or _client()
        return client.containers.list(all=True, filters={"label": [f"{k}={v}" for k, v in labels.items()]})

    def _worker(self, client, handle: ClusterHandle, profile: ClusterProfile, index: int):
        threads = max(1, int(profile.cores or 1))
        args = ["-m", "distributed.cli.dask_worker", handle.address, "--no-nanny", "--host", "127.0.0.1",
                "--name", f"{handle.id}-w{index}", "--nthreads", str(threads), "--no-dashboard",
                "--memory-limit", str(memory_bytes(profile.memory)) if profile.memory else "auto",
                "--local-directory", "/tmp/dask-worker", "--death-timeout", "60"]
        return self.run_container(client, handle, "worker", args, profile, index)

    def run_container(self, client, handle: ClusterHandle, role: str, args: list[str], profile: ClusterProfile,
             index: int | None = None, image: str | None = None, entrypoint: list[str] | None = None,
             env: dict[str, str] | None = None, limits: dict[str, Any] | None = None):
        """Start one labelled container of the cluster (host network, raw roots read-only, the
        workspace's run context in its environment, no capabilities)."""
        labels = {**cluster_labels(self.context.workspace_label, handle.id, profile.name), LABEL_ROLE: role,
                  LABEL_KIND: handle.kind, "expenv.port": str(handle.resources["port"])}
        for key in ("ui_port", "client_port", "dashboard_port"):   # found again without the ledger
            if key in handle.resources:
                labels[f"expenv.{key}"] = str(handle.resources[key])
        name = f"expenv-{handle.id}-{role}" + (f"-{index}" if index is not None else "")
        limits = dict(limits or {})
        if role == "worker":
            labels["expenv.index"] = str(index)
            if profile.memory:
                limits["mem_limit"] = memory_bytes(profile.memory)
            if profile.cores:
                limits["nano_cpus"] = int(profile.cores * 1e9)
        environment = {**self.context.run_env(profile), **(env or {})}
        if handle.kind == "dask":
            environment["DASK_DISTRIBUTED__WORKER__DAEMON"] = "False"
        return client.containers.run(
            image or handle.resources["image_id"], command=args, entrypoint=entrypoint or [handle.resources["python"]],
            name=name, labels=labels, network_mode="host", detach=True, volumes=self._raw_mounts(),
            environment=environment, cap_drop=["ALL"], security_opt=["no-new-privileges"], **limits)

    def _raw_mounts(self) -> dict[str, dict[str, str]]:
        """Each local raw root, read-only, at the path the workspace sees it (URLs need no mount)."""
        mounts = {}
        for root in self.context.raw_roots:
            if "://" in root:
                continue
            path = (self.context.root / root).resolve()
            if path.is_dir():
                mounts[str(host_path(path))] = {"bind": str(path), "mode": "ro"}
        return mounts


def _answers(address: str) -> bool:
    try:
        ask_scheduler(address, "identity")
        return True
    except Exception:
        return False


def exited(container, image: str) -> str | None:
    """Why a container of the cluster stopped (its log's tail), or None while it runs."""
    container.reload()
    if container.status not in ("exited", "dead"):
        return None
    logs = container.logs(tail=20).decode("utf-8", "replace")
    if "No module named" in logs and ("distributed" in logs or "dask" in logs):
        return DASK_MISSING.format(image=image)
    return f"the container {container.name} exited:\n{logs}"
