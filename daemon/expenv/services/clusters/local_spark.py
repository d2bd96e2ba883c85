"""Local Spark: a Spark Connect server started from the pyspark package, bound to 127.0.0.1.

`$SPARK_HOME/sbin/start-connect-server.sh --wait` runs it in the foreground of our detached
process group (SPARK_HOME is the pyspark package folder), so stopping the group stops the JVM.
Readiness, versions and activity come from the gRPC port and the Spark UI's REST API, so the
caller never imports pyspark for them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

from expenv.domain.clusters import ClusterError, ClusterHandle, ClusterProfile, memory_bytes
from expenv.services.clusters import processes
from expenv.services.clusters.interface import BackendContext, Cancelled, Progress
from expenv.services.clusters.local import chosen_port, deadline

# A JVM with Spark's jars takes a minute or more to listen on a busy two-core machine.
SPARK_LAUNCH_TIMEOUT = 600.0
JAVA_FIX = "install a Java runtime (`make` installs default-jre-headless when java is missing) or set JAVA_HOME"


def spark_home(python: str) -> Path:
    """The pyspark package folder of `python`: it holds bin/, sbin/ and jars/."""
    if python == sys.executable:
        spec = importlib.util.find_spec("pyspark")
        folder = Path(spec.origin).parent if spec and spec.origin else None
    else:
        found = subprocess.run([python, "-c", "import pyspark, os; print(os.path.dirname(pyspark.__file__))"],
                               capture_output=True, text=True, timeout=60)
        folder = Path(found.stdout.strip()) if found.returncode == 0 and found.stdout.strip() else None
    if folder is None or not (folder / "sbin" / "start-connect-server.sh").is_file():
        raise ClusterError(f"kind: local Spark needs pyspark with Spark Connect in {python} "
                           "(pip install 'pyspark[connect]')")
    return folder


def java_home() -> str | None:
    if os.environ.get("JAVA_HOME") and (Path(os.environ["JAVA_HOME"]) / "bin" / "java").exists():
        return os.environ["JAVA_HOME"]
    java = shutil.which("java")
    if java is None:
        raise ClusterError(f"java: local Spark needs Java 17 or later and none is on PATH; {JAVA_FIX}")
    return str(Path(os.path.realpath(java)).parents[1])


def _ui(handle_or_port: ClusterHandle | int, path: str) -> Any:
    port = handle_or_port if isinstance(handle_or_port, int) else handle_or_port.resources["ui_port"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/{path}", timeout=20) as response:
        return json.load(response)


def launch(context: BackendContext, profile: ClusterProfile, handle: ClusterHandle, progress: Progress,
           cancelled: Cancelled) -> ClusterHandle:
    python = str(profile.options.get("python") or sys.executable)
    home, java = spark_home(python), java_home()
    folder = context.logs_dir() / handle.id
    folder.mkdir(parents=True, exist_ok=True)
    port, ui_port = chosen_port(profile, "port"), chosen_port(profile, "ui_port")
    threads = profile.workers * max(1, int(profile.cores or 1))
    argv = ["bash", str(home / "sbin" / "start-connect-server.sh"), "--wait", "--master", f"local[{threads}]",
            "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
            "--conf", f"spark.connect.grpc.binding.port={port}",
            "--conf", f"spark.ui.port={ui_port}", "--conf", "spark.port.maxRetries=0",
            "--conf", "spark.driver.bindAddress=127.0.0.1", "--conf", "spark.driver.host=127.0.0.1",
            "--conf", f"spark.local.dir={folder / 'tmp'}",
            "--conf", f"spark.sql.warehouse.dir={folder / 'warehouse'}"]
    if profile.memory:
        argv += ["--driver-memory", f"{max(512, memory_bytes(profile.memory) * profile.workers // 2**20)}m"]
    env = {**context.run_env(profile),
           **processes.label_env(context.workspace_label, handle.id, profile.name, "spark", "server"),
           "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(folder),
           "SPARK_PID_DIR": str(folder), "SPARK_IDENT_STRING": handle.id, "PYSPARK_PYTHON": python,
           "SPARK_CONF_DIR": str(folder / "conf")}
    if java:
        env["JAVA_HOME"] = java
    progress(f"starting the Spark Connect server (local[{threads}])")
    server = processes.start_detached(argv, env, folder / "server.log", context.root)
    handle.resources.update({"port": port, "ui_port": ui_port, "folder": str(folder)})
    handle.resources["processes"].append({**server, "role": "server"})

    def failed() -> str | None:
        if processes.alive(server):
            return None
        return f"the Spark Connect server exited:\n{processes.log_tail(server['log'], 20)}"

    processes.wait_for(lambda: processes.accepts(port), deadline(context, profile, SPARK_LAUNCH_TIMEOUT), cancelled,
                       "the Spark Connect server", failed, interval=0.5)
    handle = replace(handle, address=f"sc://127.0.0.1:{port}", dashboard_url=f"http://127.0.0.1:{ui_port}",
                     status="running", workers_alive=threads, workers_wanted=profile.workers)
    handle.versions = _versions(handle, python)
    return handle


def _versions(handle: ClusterHandle, python: str) -> dict[str, Any]:
    try:
        spark = _ui(handle, "version").get("spark")
    except Exception as exc:  # advisory only
        return {"error": str(exc)}
    found = subprocess.run([python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                           capture_output=True, text=True, timeout=30)
    return {"python": found.stdout.strip() or None, "packages": {"pyspark": spark}}


def inspect(handle: ClusterHandle, live: list[dict[str, Any]]) -> ClusterHandle:
    try:
        apps = _ui(handle, "applications")
    except Exception as exc:
        starting = processes.accepts(handle.resources.get("port", 0))
        return replace(handle, status="running" if starting else "unknown",
                       detail="" if starting else f"the Spark UI does not answer: {exc}")
    threads = handle.workers_alive
    if apps:
        try:
            executors = _ui(handle, f"applications/{apps[0]['id']}/executors")
            threads = sum(int(e.get("totalCores", 0)) for e in executors if e.get("isActive", True)) or threads
        except Exception:
            pass
    return replace(handle, status="running", workers_alive=threads, workers_lost=0, detail="")


def scale(context: BackendContext, handle: ClusterHandle, workers: int) -> ClusterHandle:
    raise ClusterError("workers: a local Spark Connect server runs local[N] in one JVM and cannot be resized; "
                       "`expenv cluster down` it and launch the profile with another `workers`")


def last_activity(handle: ClusterHandle) -> float | None:
    """The latest job start or end the Spark UI knows of (queries through Connect run jobs)."""
    from datetime import datetime

    apps = _ui(handle, "applications")
    if not apps:
        return None
    stamps = []
    for job in _ui(handle, f"applications/{apps[0]['id']}/jobs"):
        for key in ("submissionTime", "completionTime"):
            if job.get(key):
                stamps.append(datetime.strptime(job[key].replace("GMT", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z"))
    return max(stamps).timestamp() if stamps else None
