"""Spark on the `docker` backend: one Spark Connect server container running `local[N]`.

The container runs the production image, or the engine image derived from it when the production
image lacks Java or pyspark (images/spark_engine.py, built once). Like the Dask containers it uses
host networking with every listener on 127.0.0.1 (gRPC, UI, driver), carries the cluster's
labels, and reads the raw roots through read-only mounts at the paths the workspace sees them.

`scale` is refused: N threads of one JVM cannot change while it runs (a standalone master and
worker containers would, at the price of two more JVMs on a laptop; kubernetes profiles do that).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from expenv.domain.clusters import ClusterError, ClusterHandle, ClusterProfile, memory_bytes
from expenv.services.clusters import local_spark, processes
from expenv.services.clusters.interface import Cancelled, Progress
from expenv.services.clusters.local import chosen_port, deadline

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
SCRATCH = "/tmp/spark"
# A JVM takes a few hundred MiB beyond its heap (metaspace, threads, Python UDF workers).
JVM_OVERHEAD = 512 * 2**20
NO_SCALE = ("workers: a docker Spark Connect server runs local[N] in one JVM and cannot be resized; "
            "`expenv cluster down` it and launch the profile with another `workers`")


def server_args(profile: ClusterProfile, port: int, ui_port: int) -> tuple[list[str], int, int | None]:
    """spark-submit's arguments, the threads of local[N], and the driver heap in bytes (if set)."""
    threads = profile.workers * max(1, int(profile.cores or 1))
    args = ["--class", SERVER_CLASS, "--name", "Spark Connect server", "--master", f"local[{threads}]",
            "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
            "--conf", f"spark.connect.grpc.binding.port={port}",
            "--conf", f"spark.ui.port={ui_port}", "--conf", "spark.port.maxRetries=0",
            "--conf", "spark.driver.bindAddress=127.0.0.1", "--conf", "spark.driver.host=127.0.0.1",
            "--conf", f"spark.local.dir={SCRATCH}", "--conf", f"spark.sql.warehouse.dir={SCRATCH}/warehouse"]
    heap = None
    if profile.memory:
        heap = max(512 * 2**20, memory_bytes(profile.memory) * profile.workers)
        args += ["--driver-memory", f"{heap // 2**20}m"]
    return args, threads, heap


def launch(backend, client, profile: ClusterProfile, handle: ClusterHandle, progress: Progress,
           cancelled: Cancelled) -> ClusterHandle:
    """Called by DockerClusters.launch, which removes the containers when this raises."""
    from expenv.services.clusters.docker import exited
    from expenv.services.images import ImageError
    from expenv.services.images.spark_engine import client_pyspark, spark_engine_image

    try:
        image_id = spark_engine_image(profile.image, str(profile.options.get("pyspark") or client_pyspark()),
                                      client, progress)
    except ImageError as exc:
        raise ClusterError(f"image: no Spark Connect image from {profile.image}: {exc}") from None
    port, ui_port = chosen_port(profile, "port"), chosen_port(profile, "ui_port")
    args, threads, heap = server_args(profile, port, ui_port)
    handle.resources.update({"port": port, "ui_port": ui_port, "engine_image_id": image_id})
    limits: dict[str, Any] = {}
    if heap:
        limits["mem_limit"] = heap + JVM_OVERHEAD
    if profile.cores:
        limits["nano_cpus"] = int(profile.workers * profile.cores * 1e9)
    env = {"SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": handle.resources["python"]}
    progress(f"starting the Spark Connect server container (local[{threads}])")
    server = backend.run_container(client, handle, "server", args, profile, image=image_id,
                                   entrypoint=["spark-submit"], env=env, limits=limits)
    until = deadline(backend.context, profile, local_spark.SPARK_LAUNCH_TIMEOUT)
    # Ready when clients can connect and its UI answers (the version check and `ls` read the UI).
    processes.wait_for(lambda: processes.accepts(port) and _ui_answers(ui_port), until, cancelled,
                       "the Spark Connect server container", lambda: exited(server, profile.image), interval=0.5)
    handle = replace(handle, address=f"sc://127.0.0.1:{port}", dashboard_url=f"http://127.0.0.1:{ui_port}",
                     status="running", workers_alive=threads, workers_wanted=profile.workers)
    handle.versions = _versions(handle, server)
    return handle


def _ui_answers(ui_port: int) -> bool:
    try:
        return bool(local_spark._ui(ui_port, "version").get("spark"))
    except Exception:   # not listening yet
        return False


def _versions(handle: ClusterHandle, server) -> dict[str, Any]:
    """Spark's version from its UI, Python's from the container (for the kernel's version check)."""
    try:
        spark = local_spark._ui(handle, "version").get("spark")
        code, out = server.exec_run([handle.resources["python"], "-c",
                                     "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
    except Exception as exc:  # advisory only
        return {"error": str(exc)}
    python = out.decode().strip() if code == 0 else None
    return {"python": python, "packages": {"pyspark": spark}}


def inspect(handle: ClusterHandle, containers: list) -> ClusterHandle:
    server = [c for c in containers if c.status == "running"]
    if not server:
        return replace(handle, status="failed", workers_alive=0,
                       detail="the Spark Connect server container is not running; `down` removes what is left")
    return local_spark.inspect(handle, [])


def discovered(handle: ClusterHandle, labels: dict[str, str]) -> ClusterHandle:
    """A server container found by its labels: its address and UI port come from them too."""
    port, ui_port = labels.get("expenv.port"), labels.get("expenv.ui_port")
    resources = {**handle.resources, **({"port": int(port)} if port else {}),
                 **({"ui_port": int(ui_port)} if ui_port else {})}
    return replace(handle, address=f"sc://127.0.0.1:{port}" if port else None,
                   dashboard_url=f"http://127.0.0.1:{ui_port}" if ui_port else None, resources=resources)
