"""Dask as containers of the locally built production image (`expenv cluster up dask-docker`),
computing over the example's raw data (mounted read-only) from a notebook on the host (a kernel
`expenv kernels start --cluster` started, running the connection cell the launch returned).
Needs a Docker engine: without one these tests fail, saying why."""

from __future__ import annotations

import os
import re
import subprocess

import pyarrow.parquet as pq
import pytest

from tests.clusters.conftest import EXPENV, assert_nothing_left, docker_containers, expenv, \
    kill_a_worker_container_then_scale_back, ledger_ids, run_in_notebook
from tests.docker.conftest import docker_client  # noqa: F401 - the session fixture (fails without an engine)
from tests.tracking.conftest import assert_nothing_preset, run_named, server_uri

# Its own tag: other sessions build tests/docker's tag from their branch's requirements meanwhile.
# Docker's layer cache makes a build of the same recipe under either tag cheap.
PROD_TAG = "expenv-test-clusters-prod:latest"

# The first test waits for the production image build (minutes when its requirements changed).
pytestmark = pytest.mark.timeout(2400)


@pytest.fixture(scope="module")
def docker_setup(cluster_example, docker_client):
    """The example workspace with the test's production image (built from its requirements, which
    hold dask[distributed]; the same recipe as tests/docker's, so either session's build is reused)."""
    from expenv.services.images import build_base, build_production

    config = cluster_example / "expenv.toml"
    config.write_text(re.sub(r'production_image = "[^"]*"', f'production_image = "{PROD_TAG}"', config.read_text()))
    build_base()
    built = build_production(cluster_example, PROD_TAG)
    return cluster_example, built.id


@pytest.fixture(scope="module")
def docker_workspace(docker_setup):
    return docker_setup[0]


@pytest.fixture(scope="module")
def tracked(docker_workspace):
    """The workspace as a user has it: in git (branch feature/clusters), its MLflow up (`expenv up`)."""
    git = ["git", "-C", str(docker_workspace), "-c", "user.email=t@example.org", "-c", "user.name=t"]
    if not (docker_workspace / ".git").exists():
        subprocess.run([*git, "init", "-q", "-b", "feature/clusters"], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "init"], check=True)
    sha = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    expenv("up", "--json", "-w", str(docker_workspace), timeout=180)
    yield sha
    expenv("down", "-w", str(docker_workspace), check=False)


@pytest.fixture(scope="module")
def docker_cluster(docker_workspace, docker_client, tracked):
    cluster = expenv("cluster", "up", "dask-docker", "--json", "-w", str(docker_workspace))
    yield cluster
    if cluster["id"] in ledger_ids(docker_workspace):
        expenv("cluster", "down", cluster["id"], "--json", "-w", str(docker_workspace))
    assert not docker_containers(docker_client, cluster["id"])
    assert_nothing_left(docker_workspace, cluster)


def test_containers_are_labelled_on_host_network_with_raw_data_read_only(docker_cluster, docker_client,
                                                                         docker_workspace, docker_setup):
    image_id = docker_setup[1]
    containers = docker_containers(docker_client, docker_cluster["id"])
    assert sorted(c.labels["expenv.role"] for c in containers) == ["scheduler", "worker", "worker"]
    raw = str((docker_workspace / "data" / "raw").resolve())
    for container in containers:
        assert container.labels["app.kubernetes.io/managed-by"] == "expenv"
        assert container.labels["expenv.profile"] == "dask-docker"
        assert container.attrs["HostConfig"]["NetworkMode"] == "host"
        assert container.image.id == image_id
        mounts = {m["Destination"]: m for m in container.attrs["Mounts"]}
        assert mounts[raw]["RW"] is False
    assert docker_cluster["address"].startswith("tcp://127.0.0.1:")


def test_a_notebook_attached_to_it_computes_over_the_raw_data_on_the_worker_containers(docker_cluster,
                                                                                      docker_workspace):
    usage = docker_workspace / "data" / "raw" / "usage"
    table = pq.read_table(usage)
    result = run_in_notebook(docker_workspace, docker_cluster, f"""
import json, socket
import dask.dataframe as dd
df = dd.read_parquet({str(usage)!r})
rows, sessions = len(df), int(df.sessions.sum().compute())
# where the work ran: a file only the production image has
images = set(client.run(lambda: open("/opt/venv/requirements.lock").read().count("==") > 0).values())
print(json.dumps({{"rows": rows, "sessions": sessions, "in_image": sorted(images)}}))
""")
    assert result["rows"] == table.num_rows
    assert result["sessions"] == sum(table.column("sessions").to_pylist())
    assert result["in_image"] == [True]


def test_an_mlflow_run_started_in_a_worker_task_carries_the_workspace_run_context(docker_cluster, docker_workspace,
                                                                                tracked):
    """No line of tracking setup in the task: the worker container was told where and how to log."""
    assert_nothing_preset()
    name = f"worker-task-{docker_cluster['id']}"
    where = run_in_notebook(docker_workspace, docker_cluster, f"""
import json

def task():
    import mlflow
    with mlflow.start_run(run_name={name!r}):
        mlflow.log_metric("answer", 42)
    return open("/opt/venv/requirements.lock").read().count("==") > 0

print(json.dumps({{"in_image": client.submit(task, pure=False).result()}}))
""")
    assert where == {"in_image": True}
    run = run_named(server_uri(docker_workspace), "churn", name)
    assert float(run["metrics"]["answer"]) == 42
    tags = run["tags"]
    assert (tags["mlflow.source.git.commit"], tags["mlflow.source.git.branch"]) == (tracked, "feature/clusters")
    assert (tags["expenv.stage"], tags["expenv.runner"], tags["expenv.image"]) == ("dev", "docker", PROD_TAG)


def test_a_killed_worker_container_is_shown_lost(docker_cluster, docker_client, docker_workspace):
    kill_a_worker_container_then_scale_back(docker_client, docker_workspace, docker_cluster)


def test_engine_down_is_a_clear_error_and_leaves_nothing(docker_workspace):
    before = ledger_ids(docker_workspace)
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    result = subprocess.run([*EXPENV, "cluster", "up", "dask-docker", "-w", str(docker_workspace)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2 and "no Docker engine answers at unix:///nonexistent/docker.sock" in result.stderr
    assert ledger_ids(docker_workspace) == before
