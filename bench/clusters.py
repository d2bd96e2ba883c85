"""Clusters (issue #11), each figure against a peer measured in the same run:
- local Dask time to ready (`ClusterService.launch`, what `expenv cluster up` runs) against a bare
  `LocalCluster(n_workers=2)` (target ≤ 1.2×);
- docker Dask time to ready against raw `docker run`s of the same image (report the ratio);
- Spark Connect time to the first query against a plain local `SparkSession` (report the ratio);
- hover p95 while a cluster launches, against hover p95 with nothing launching (target ≤ 50 ms).

Run: `.venv/bin/python bench/clusters.py` (or `make bench`). Needs Java for Spark and, for the docker
figure, the Docker engine and a production image holding dask[distributed] (EXPENV_BENCH_IMAGE,
default: the example's, built with `expenv images build`). Prints figures; asserts nothing.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

IMAGE = os.environ.get("EXPENV_BENCH_IMAGE", "expenv-test-clusters-prod:latest")

BARE_DASK = r"""
import json, time
t = time.perf_counter()
from dask.distributed import Client, LocalCluster
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0")
client = Client(cluster); client.wait_for_workers(2)
print(json.dumps({"seconds": time.perf_counter() - t}))
client.close(); cluster.close()
"""

SPARK_FIRST_QUERY = r"""
import json, sys, time
t = time.perf_counter()
from pyspark.sql import SparkSession
builder = SparkSession.builder
spark = (builder.remote(sys.argv[1]) if sys.argv[1] else builder.master("local[2]")).getOrCreate()
n = spark.range(1000).selectExpr("sum(id)").collect()[0][0]
print(json.dumps({"seconds": time.perf_counter() - t, "n": n}))
spark.stop()
"""


def _row(figure: str, expenv: str, peer: str, ratio: float, target: str) -> dict:
    return {"bench": "clusters", "figure": figure, "expenv": expenv, "peer": peer, "ratio": ratio, "target": target}


def _python(code: str, *args: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=900)
    if result.returncode:
        raise RuntimeError(result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def _project(tmp: Path) -> Path:
    from expenv.services.example import create_example

    root = tmp / "churn"
    create_example(root, rows=20_000)
    config = root / "expenv.toml"
    config.write_text(re.sub(r'production_image = "[^"]*"', f'production_image = "{IMAGE}"', config.read_text()))
    return root


def _launch(clusters, profile: str) -> tuple[float, object]:
    started = time.perf_counter()
    handle = clusters.launch(profile)
    return time.perf_counter() - started, handle


def local_dask(clusters) -> list[dict]:
    _python(BARE_DASK)   # warm the imports' file cache for both sides
    ours, theirs = [], []
    for _ in range(3):
        seconds, handle = _launch(clusters, "dask-local")
        clusters.stop(handle.id)
        ours.append(seconds)
        theirs.append(_python(BARE_DASK)["seconds"])
    a, b = statistics.median(ours), statistics.median(theirs)
    return [_row("local Dask, 2 workers: time to ready (median of 3)", f"{a:.2f} s", f"bare LocalCluster {b:.2f} s",
                 a / b, "≤ 1.2")]


def docker_dask(clusters) -> list[dict]:
    from expenv.services.clusters.dask_calls import ask_scheduler
    from expenv.services.clusters.processes import free_port

    seconds, handle = _launch(clusters, "dask-docker")
    clusters.stop(handle.id)
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    names = [f"expenv-bench-raw-{port}-{i}" for i in range(3)]
    started = time.perf_counter()
    try:
        subprocess.run(["docker", "run", "-d", "--name", names[0], "--network", "host", IMAGE, "python", "-m",
                        "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
                        "--no-dashboard"], check=True, capture_output=True)
        for name in names[1:]:
            subprocess.run(["docker", "run", "-d", "--name", name, "--network", "host", IMAGE, "python", "-m",
                            "distributed.cli.dask_worker", address, "--no-nanny", "--host", "127.0.0.1"],
                           check=True, capture_output=True)
        while True:
            try:
                if len(ask_scheduler(address, "identity").get("workers", {})) >= 2:
                    break
            except Exception:  # noqa: BLE001 - not up yet
                pass
            time.sleep(0.2)
        raw = time.perf_counter() - started
    finally:
        subprocess.run(["docker", "rm", "-f", *names], capture_output=True)
    return [_row("docker Dask, 2 workers: time to ready", f"{seconds:.2f} s", f"raw docker run ×3 {raw:.2f} s",
                 seconds / raw, "report")]


def spark(clusters) -> list[dict]:
    started = time.perf_counter()
    handle = clusters.launch("spark-local")
    try:
        first = _python(SPARK_FIRST_QUERY, handle.address)
        ours = time.perf_counter() - started
    finally:
        clusters.stop(handle.id)
    plain = _python(SPARK_FIRST_QUERY, "")
    return [_row("Spark Connect: launch to first query", f"{ours:.1f} s (query {first['seconds']:.1f} s)",
                 f"local SparkSession {plain['seconds']:.1f} s", ours / plain["seconds"], "report")]


def hover_while_launching(root: Path) -> list[dict]:
    from _lsp import daemon

    text = 'import pandas as pd\ndf = pd.read_parquet("data/raw/customers.parquet")\n'
    with daemon(root) as d:
        uri = d.open_python(root / "explore.py", text)
        d.hover(uri, 1, 25)   # warm: the engines are imported
        quiet = [_timed_hover(d, uri) for _ in range(40)]
        msg_id = d.client.send("workspace/executeCommand", {"command": "expenv.clusters.launch",
                                                            "arguments": [{"profile": "dask-local"}]})
        busy = []
        while not any(m.get("id") == msg_id and "method" not in m for m in d.client.received) or len(busy) < 10:
            busy.append(_timed_hover(d, uri))
        answer = next(m for m in d.client.received if m.get("id") == msg_id and "method" not in m)
        d.command("expenv.clusters.stop", {"id": answer["result"]["id"]})
    p95 = lambda xs: statistics.quantiles(xs, n=20)[-1] * 1000  # noqa: E731
    return [_row(f"hover p95 while a Dask cluster launches ({len(busy)} hovers)", f"{p95(busy):.1f} ms",
                 f"no launch {p95(quiet):.1f} ms", p95(busy) / p95(quiet), "≤ 50 ms")]


def _timed_hover(d, uri: str) -> float:
    started = time.perf_counter()
    answer = d.hover(uri, 1, 25)
    if not answer or "customers" not in answer["contents"]["value"]:
        raise RuntimeError(f"no dataset hover: {answer}")
    return time.perf_counter() - started


def run() -> list[dict]:
    from expenv.services.workspace import WorkspaceSet

    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="expenv-bench-clusters-") as tmp:
        root = _project(Path(tmp))
        clusters = WorkspaceSet().add(root).services.clusters
        try:
            for part in (local_dask, docker_dask, spark):
                try:
                    rows += part(clusters)
                except Exception as exc:  # noqa: BLE001 - one missing engine must not hide the rest
                    rows.append(_row(f"FAILED {part.__name__}: {str(exc)[:300]}", "-", "-", float("nan"), "-"))
            rows += hover_while_launching(root)
        finally:
            clusters.stop_all()
    return rows


if __name__ == "__main__":
    for row in run():
        print(f"{row['figure']}: expenv {row['expenv']}, {row['peer']}, ratio {row['ratio']:.2f} "
              f"(target {row['target']})")
