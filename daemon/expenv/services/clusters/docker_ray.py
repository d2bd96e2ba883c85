"""Ray on the `docker` backend: a head container and `workers` worker containers.

The containers run the production image, or the engine image derived from it when it lacks
`ray[default]` of the client's version (images/ray_engine.py, built once). Like the Dask
containers they use host networking, carry the cluster's labels and read the raw roots through
read-only mounts at the paths the workspace sees them. Each node is started as local Ray starts
its head (local_ray.RAY_START): every listener on 127.0.0.1, its ports chosen free or by the
kernel, so several raylets share the host's network without reaching for the same port. The head
runs no tasks (`--num-cpus 0`: the workers do), and each node's object store lives in a /dev/shm
sized for it (Docker's default 64 MiB would push it to disk).

The client's Ray version decides the cluster's: the profile's `python` (asked), else its `ray`
option, else this Python's Ray (the optional extra).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any

from expenv.domain.clusters import ClusterError, ClusterHandle, ClusterProfile, memory_bytes
from expenv.services.clusters import local_ray, processes
from expenv.services.clusters.interface import Cancelled, Progress
from expenv.services.clusters.local import chosen_port, deadline

MiB = 2**20
# Ray's object store per node: 30% of the worker's memory (Ray's own default share), else 512 MiB.
STORE_SHARE, STORE_DEFAULT, STORE_MIN = 0.3, 512 * MiB, 128 * MiB
# Engine images take a while the first time: a wheelhouse of ray[default] and a build.
RAY_LAUNCH_TIMEOUT = 600.0


def client_ray(profile: ClusterProfile) -> str:
    """The Ray version the cluster must run: the client's."""
    if profile.options.get("python"):
        return local_ray.python_versions(str(profile.options["python"]))["packages"]["ray"]
    if profile.options.get("ray"):
        return str(profile.options["ray"])
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ray")
    except PackageNotFoundError:
        raise ClusterError(f"kind: ray is not installed in {sys.executable}, so the cluster's Ray version is unknown; "
                           f"{local_ray.RAY_FIX}, or set options.ray = \"2.x.y\"") from None


def object_store(profile: ClusterProfile) -> int:
    if not profile.memory:
        return STORE_DEFAULT
    return max(STORE_MIN, int(memory_bytes(profile.memory) * STORE_SHARE))


def launch(backend, client, profile: ClusterProfile, handle: ClusterHandle, version: str, progress: Progress,
           cancelled: Cancelled) -> ClusterHandle:
    """Called by DockerClusters.launch (with `client_ray`'s version, asked before the engine), which
    removes the containers when this raises."""
    from expenv.services.clusters.docker import exited
    from expenv.services.images import ImageError
    from expenv.services.images.ray_engine import ray_engine_image

    try:
        image_id = ray_engine_image(profile.image, version, client, progress)
    except ImageError as exc:
        raise ClusterError(f"image: no Ray {version} image from {profile.image}: {exc}") from None
    gcs, client_port, dashboard = (chosen_port(profile, k) for k in ("port", "client_port", "dashboard_port"))
    handle.resources.update({"port": gcs, "client_port": client_port, "dashboard_port": dashboard,
                             "engine_image_id": image_id, "ray": version})
    progress(f"starting the Ray head container (ray {version})")
    head = _node(backend, client, handle, profile, "head",
                 [*local_ray.head_args(gcs, client_port, dashboard), "--num-cpus", "0"])
    until = deadline(backend.context, profile, RAY_LAUNCH_TIMEOUT)
    processes.wait_for(lambda: processes.accepts(client_port) and local_ray.alive_nodes(dashboard) is not None,
                       until, cancelled, "the Ray head container", lambda: exited(head, profile.image), interval=0.5)
    handle = replace(handle, address=f"ray://127.0.0.1:{client_port}", dashboard_url=f"http://127.0.0.1:{dashboard}")
    progress(f"head at {handle.address}; starting {profile.workers} worker container(s)")
    workers = [start_worker(backend, client, handle, profile, i) for i in range(profile.workers)]
    wait_workers(handle, [node_name(handle, i) for i in range(profile.workers)], until, cancelled, progress,
                 lambda: next(filter(None, (exited(w, profile.image) for w in workers)), None))
    handle.versions = _versions(handle, head)
    return replace(handle, status="running", workers_alive=profile.workers)


def node_name(handle: ClusterHandle, index: int) -> str:
    return f"{handle.id}-w{index}"


def _node(backend, client, handle: ClusterHandle, profile: ClusterProfile, role: str, args: list[str],
          index: int | None = None):
    store = object_store(profile)
    argv = ["-c", local_ray.RAY_START, "start", *args, *local_ray.node_args(), "--object-store-memory", str(store)]
    return backend.run_container(client, handle, role, argv, profile, index, image=handle.resources["engine_image_id"],
                                 env=local_ray.RAY_ENV, limits={"shm_size": store + 64 * MiB})


def start_worker(backend, client, handle: ClusterHandle, profile: ClusterProfile, index: int):
    cpus = max(1, int(profile.cores or 1))
    return _node(backend, client, handle, profile, "worker",
                 ["--address", f"127.0.0.1:{handle.resources['port']}", "--num-cpus", str(cpus),
                  "--node-name", node_name(handle, index)], index)


def wait_workers(handle: ClusterHandle, names: list[str], until: float, cancelled: Cancelled, progress: Progress,
                 failed=lambda: None) -> None:
    """Until the head counts each of `names` as a live node."""
    def ready() -> bool:
        nodes = local_ray.alive_nodes(handle.resources["dashboard_port"]) or []
        count = len({n.get("node_name") for n in nodes} & set(names))
        progress(f"{count}/{len(names)} worker node(s) joined")
        return count >= len(names)

    processes.wait_for(ready, until, cancelled, f"{len(names)} Ray worker container(s)", failed, interval=0.5)


def _versions(handle: ClusterHandle, head) -> dict[str, Any]:
    """Ray's version from the head's dashboard, Python's from the container (for the version check)."""
    try:
        ray = local_ray.dashboard_api(handle.resources["dashboard_port"], "api/version")["ray_version"]
        code, out = head.exec_run([handle.resources["python"], "-c",
                                   "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
    except Exception as exc:  # advisory only
        return {"error": str(exc)}
    return {"python": out.decode().strip() if code == 0 else None, "packages": {"ray": ray}}


def inspect(handle: ClusterHandle, containers: list) -> ClusterHandle:
    from expenv.services.clusters.docker import LABEL_ROLE

    head_up = any(c.labels.get(LABEL_ROLE) == "head" and c.status == "running" for c in containers)
    workers = [c for c in containers if c.labels.get(LABEL_ROLE) == "worker"]
    lost = len([c for c in workers if c.status != "running"])
    if not head_up:
        return replace(handle, status="failed", workers_alive=0, workers_lost=lost,
                       detail="the Ray head container is not running; `down` removes what is left")
    nodes = local_ray.alive_nodes(local_ray._port(handle, "dashboard_port", handle.dashboard_url))
    if nodes is None:
        return replace(handle, status="unknown", detail="the Ray dashboard does not answer")
    running = {node_name(handle, int(c.labels["expenv.index"])) for c in workers if c.status == "running"}
    alive = len({n.get("node_name") for n in nodes} & running)
    detail = f"{lost} worker container(s) lost; `scale` replaces them" if lost else ""
    return replace(handle, status="running", workers_alive=alive, workers_lost=lost, detail=detail)


def discovered(handle: ClusterHandle, labels: dict[str, str]) -> ClusterHandle:
    """Containers found by their labels: the client and dashboard ports come from them too."""
    client_port, dashboard = labels.get("expenv.client_port"), labels.get("expenv.dashboard_port")
    resources = {**handle.resources, **({"client_port": int(client_port)} if client_port else {}),
                 **({"dashboard_port": int(dashboard)} if dashboard else {})}
    return replace(handle, address=f"ray://127.0.0.1:{client_port}" if client_port else None,
                   dashboard_url=f"http://127.0.0.1:{dashboard}" if dashboard else None, resources=resources)
