"""Clusters under test are started the way a user starts them: `expenv cluster ...` and the daemon's
`expenv.clusters.*` commands, in a workspace made by `expenv example create`. One cluster per
engine is shared by a module's tests; every fixture checks that nothing outlives `down`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

EXPENV = [sys.executable, "-m", "expenv"]
REPO = Path(__file__).resolve().parents[2]
# The Python with Ray that `make ray-venv` (part of `make test`'s setup) installs: .venv has no ray.
RAY_PYTHON = Path(os.environ.get("EXPENV_TOOLS") or REPO / ".expenv" / "tools") / "ray-venv" / "bin" / "python"


def expenv(*args: str, cwd: Path | None = None, timeout: float = 300, check: bool = True) -> Any:
    """Run the CLI; with --json among the args, return the parsed output."""
    result = subprocess.run([*EXPENV, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"expenv {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    if check and "--json" in args:
        return json.loads(result.stdout)
    return result


@pytest.fixture(scope="session")
def cluster_example(tmp_path_factory) -> Path:
    """The example project, created by the CLI, with small data (its own copy: clusters write state)."""
    root = tmp_path_factory.mktemp("clusters") / "churn"
    expenv("example", "create", str(root), "--rows", "20000", "--json")
    return root


def ledger_ids(root: Path) -> set[str]:
    path = root / ".expenv" / "ledger.json"
    if not path.exists():
        return set()
    return {e["id"] for e in json.loads(path.read_text())["entries"]}


def labelled_pids(cluster_id: str) -> list[int]:
    """Every process on the machine whose environment names the cluster (children included)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if f"EXPENV_CLUSTER={cluster_id}".encode() in env and state != "Z":
            found.append(int(entry.name))
    return found


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def ports_of(cluster: dict[str, Any]) -> list[int]:
    urls = [cluster.get("address") or "", cluster.get("dashboard_url") or ""]
    ports = [int(u.rsplit(":", 1)[1].split("/")[0]) for u in urls if u.count(":") >= 2]
    return ports + [v for k, v in cluster.get("resources", {}).items() if k.endswith("port") and isinstance(v, int)]


def wait_until(condition, timeout: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def assert_nothing_left(root: Path, cluster: dict[str, Any]) -> None:
    """After `down`: no process, no listening port, no ledger entry of the cluster."""
    wait_until(lambda: not labelled_pids(cluster["id"]), 30, f"the processes of {cluster['id']} to end")
    assert not [p for p in ports_of(cluster) if port_open(p)], f"ports still listening: {ports_of(cluster)}"
    assert cluster["id"] not in ledger_ids(root)


def run_in_notebook(root: Path, cluster: dict[str, Any], code: str, timeout: float = 240) -> Any:
    """As a notebook does it: a kernel started by `expenv kernels start --cluster ID` (the kernel
    service's interpreter) runs the cell the launch returned (what "Attach cluster…" inserts: it
    binds `client` or `spark`), then `code` as the next cell, which prints one JSON line."""
    from jupyter_client import BlockingKernelClient

    kernel = expenv("kernels", "start", "--cluster", cluster["id"], "--json", "-w", str(root))
    client = BlockingKernelClient(connection_file=kernel["connection_file"])
    client.load_connection_file()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=timeout)
        printed: list[str] = []
        for cell in (cluster["cell"], code):
            errors: list[str] = []

            def output(msg: dict) -> None:
                content = msg["content"]
                if msg["header"]["msg_type"] == "stream" and content["name"] == "stdout":
                    printed.append(content["text"])
                elif msg["header"]["msg_type"] == "error":
                    errors.append(f"{content['ename']}: {content['evalue']}")

            reply = client.execute_interactive(cell, timeout=timeout, output_hook=output, allow_stdin=False)
            assert reply["content"]["status"] == "ok", (cell, errors)
        return json.loads("".join(printed).strip().splitlines()[-1])
    finally:
        client.stop_channels()
        expenv("kernels", "stop", kernel["id"], "--json", "-w", str(root))


@pytest.fixture
def launched(cluster_example):
    """Clusters a test launched; whatever it did not stop is stopped (and checked) afterwards."""
    started: list[dict[str, Any]] = []
    yield started
    for cluster in started:
        if cluster["id"] in ledger_ids(cluster_example):
            expenv("cluster", "down", cluster["id"], "-w", str(cluster_example), check=False)
        assert_nothing_left(cluster_example, cluster)


def assert_spark_connect_queries_raw_data(cluster: dict[str, Any], root: Path, more: str = "") -> dict[str, Any]:
    """A notebook attached to the Spark `cluster` joins the example's raw usage and customers
    through Spark Connect; the figures must match pyarrow's reading of the same files. `more` is
    extra notebook code that may add keys to the printed `result` dict; the result is returned."""
    import pyarrow.parquet as pq

    customers, usage = root / "data" / "raw" / "customers.parquet", root / "data" / "raw" / "usage"
    result = run_in_notebook(root, cluster, f"""
import json
from pyspark.sql import functions as F
usage = spark.read.parquet({str(usage)!r})
customers = spark.read.parquet({str(customers)!r})
joined = usage.join(customers, "customer_id")
row = joined.agg(F.count("*").alias("rows"), F.sum("sessions").alias("sessions")).collect()[0]
result = {{"rows": row["rows"], "sessions": row["sessions"], "customers": customers.count()}}
{more}
print(json.dumps(result))
""")
    table = pq.read_table(usage)
    assert result["rows"] == table.num_rows   # every usage event has its customer
    assert result["sessions"] == sum(table.column("sessions").to_pylist())
    assert result["customers"] == pq.read_metadata(customers).num_rows
    return result


@pytest.fixture(scope="session")
def ray_python() -> Path:
    """The Ray client's Python (`make ray-venv`): ray[default], pandas and pyarrow."""
    if not RAY_PYTHON.exists():
        pytest.fail(f"no Python with Ray at {RAY_PYTHON}: run `make ray-venv` (part of `make test`)")
    return RAY_PYTHON


def use_python(root: Path, profile: str, python: Path) -> None:
    """Point a profile of the workspace's expenv.toml at `python` (its `options.python`), as a user would."""
    config = root / "expenv.toml"
    text = config.read_text()
    header, line = f"[clusters.{profile}]\n", f'options = {{ python = "{python}" }}\n'
    assert header in text, f"no {header.strip()} in {config}"
    if header + line not in text:
        config.write_text(text.replace(header, header + line, 1))


def run_ray_client(python: Path, cluster: dict[str, Any], code: str, timeout: float = 300) -> Any:
    """A client process of the Ray venv runs the cell the launch returned (`ray.init("ray://...")`),
    then `code`, which prints one JSON line; returns it parsed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXPENV_", "RAY_"))}
    result = subprocess.run([str(python), "-c", cluster["cell"] + "\n" + code], capture_output=True, text=True,
                            timeout=timeout, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def assert_ray_computes_over_raw_data(python: Path, cluster: dict[str, Any], root: Path, more: str = "") -> dict:
    """Ray tasks on the cluster read the example's raw data (the customers file, and one task per
    usage file); the figures must match pyarrow's reading of the same files. `more` may add keys
    to the printed `result`; the result is returned."""
    import pyarrow.parquet as pq

    customers, usage = root / "data" / "raw" / "customers.parquet", root / "data" / "raw" / "usage"
    files = sorted(str(p) for p in usage.rglob("*.parquet"))
    result = run_ray_client(python, cluster, f"""
import json, os, socket

@ray.remote
def customers(path):
    import pandas as pd
    frame = pd.read_parquet(path)
    return len(frame), int(frame["age"].sum()), os.getpid()

@ray.remote
def usage(path):
    import pyarrow.parquet as pq
    table = pq.read_table(path, columns=["sessions"])
    return table.num_rows, int(sum(table.column("sessions").to_pylist())), os.getpid()

rows, ages, pid = ray.get(customers.remote({str(customers)!r}))
parts = ray.get([usage.remote(f) for f in {files!r}])
result = {{"customers": rows, "ages": ages, "usage_rows": sum(p[0] for p in parts),
          "sessions": sum(p[1] for p in parts), "pids": sorted({{pid, *(p[2] for p in parts)}}),
          "client_pid": os.getpid()}}
{more}
print(json.dumps(result))
""")
    table, people = pq.read_table(usage), pq.read_table(customers)
    assert result["customers"] == people.num_rows
    assert result["ages"] == sum(people.column("age").to_pylist())
    assert result["usage_rows"] == table.num_rows and len(files) > 1
    assert result["sessions"] == sum(table.column("sessions").to_pylist())
    assert result["client_pid"] not in result["pids"]   # the tasks ran on the cluster, not in the client
    return result


def assert_an_orphan_once_its_ledger_entry_is_lost(root: Path, cluster: dict[str, Any]) -> dict[str, Any]:
    """Drop the cluster's ledger entry (edited by hand, a crash): `ls` finds it running by its
    labels, lists it as an orphan with its address and dashboard, and returns that listing."""
    ledger = root / ".expenv" / "ledger.json"
    data = json.loads(ledger.read_text())
    data["entries"] = [e for e in data["entries"] if e["id"] != cluster["id"]]
    ledger.write_text(json.dumps(data))
    listing = expenv("cluster", "ls", "--json", "-w", str(root))
    assert cluster["id"] in listing["orphans"]
    orphan = next(c for c in listing["clusters"] if c["id"] == cluster["id"])
    assert (orphan["status"], orphan["kind"], orphan["address"], orphan["dashboard_url"]) == \
        ("orphan", cluster["kind"], cluster["address"], cluster["dashboard_url"])
    return orphan


def docker_containers(client, cluster_id: str) -> list:
    return client.containers.list(all=True, filters={"label": f"expenv.cluster={cluster_id}"})


def launch_in_docker(root: Path, client, profile: str):
    """A module fixture's body: `cluster up PROFILE` (the first may build an engine image), the
    cluster yielded, then `down` with no container of it left."""
    cluster = expenv("cluster", "up", profile, "--json", "-w", str(root), timeout=1800)
    yield cluster
    if cluster["id"] in ledger_ids(root):
        expenv("cluster", "down", cluster["id"], "--json", "-w", str(root))
    assert not docker_containers(client, cluster["id"])


def kill_a_worker_container_then_scale_back(client, root: Path, cluster: dict[str, Any]) -> dict[str, Any]:
    """Kill one worker container: `ls` must show it lost (one alive), and `scale` back to 2 must
    replace it; returns what `ls` showed and the killed container's id."""
    worker = next(c for c in docker_containers(client, cluster["id"]) if c.labels["expenv.role"] == "worker")
    worker.kill()

    def lost():
        listing = expenv("cluster", "ls", "--json", "-w", str(root))
        found = next(c for c in listing["clusters"] if c["id"] == cluster["id"])
        return found if found["workers_lost"] == 1 else None

    shown = wait_until(lost, 90, "the killed worker container to be shown lost")
    assert shown["workers_alive"] == 1
    scaled = expenv("cluster", "scale", cluster["id"], "2", "--json", "-w", str(root), timeout=600)
    assert (scaled["workers_alive"], scaled["workers_lost"]) == (2, 0)
    return {**shown, "killed": worker.id}
