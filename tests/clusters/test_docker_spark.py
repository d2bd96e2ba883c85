"""A Spark Connect server as a container of the production image (`expenv cluster up spark-docker`),
queried over the example's raw data (mounted read-only) from a notebook on the host (a kernel
`expenv kernels start --cluster` started, running the connection cell the launch returned), then stopped with nothing left. Needs a Docker engine: without one
these tests fail, saying why. The production image has no Java nor pyspark: the first launch
builds the engine image derived from it once (cached by its recipe afterwards)."""

from __future__ import annotations

import pytest

from tests.clusters.conftest import assert_an_orphan_once_its_ledger_entry_is_lost, \
    assert_spark_connect_queries_raw_data, docker_containers, expenv, launch_in_docker, ledger_ids, port_open, \
    ports_of, wait_until
from tests.clusters.test_docker_dask import PROD_TAG, docker_setup  # noqa: F401 - the module fixture
from tests.docker.conftest import docker_client  # noqa: F401 - the session fixture (fails without an engine)

pytestmark = pytest.mark.timeout(2400)


@pytest.fixture(scope="module")
def workspace(docker_setup):  # noqa: F811
    return docker_setup[0]


@pytest.fixture(scope="module")
def spark_cluster(workspace, docker_client):  # noqa: F811
    yield from launch_in_docker(workspace, docker_client, "spark-docker")


def test_the_server_is_a_labelled_container_of_the_production_image_on_loopback(spark_cluster, docker_client,
                                                                                 workspace, docker_setup):
    (server,) = docker_containers(docker_client, spark_cluster["id"])
    assert server.status == "running"
    labels = server.labels
    assert (labels["app.kubernetes.io/managed-by"], labels["expenv.profile"], labels["expenv.role"],
            labels["expenv.kind"]) == ("expenv", "spark-docker", "server", "spark")
    # The production image, or the engine image built FROM it (same layers underneath).
    production_layers = docker_client.images.get(docker_setup[1]).attrs["RootFS"]["Layers"]
    assert server.image.attrs["RootFS"]["Layers"][:len(production_layers)] == production_layers
    assert server.attrs["HostConfig"]["NetworkMode"] == "host"
    raw = str((workspace / "data" / "raw").resolve())
    mounts = {m["Destination"]: m for m in server.attrs["Mounts"]}
    assert mounts[raw]["RW"] is False
    assert spark_cluster["address"].startswith("sc://127.0.0.1:")
    assert f'SparkSession.builder.remote("{spark_cluster["address"]}")' in spark_cluster["cell"]
    assert spark_cluster["versions"]["packages"]["pyspark"]
    # The gRPC and UI ports listen on loopback only (host networking: the host's socket table).
    listeners = _listeners(spark_cluster["resources"]["port"], spark_cluster["resources"]["ui_port"])
    assert listeners and all(addr in LOOPBACK for addr in listeners), listeners


LOOPBACK = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}


def _listeners(*ports: int) -> list[str]:
    """Local addresses (hex, as /proc/net/tcp writes them) of the sockets listening on `ports`."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in (line.split() for line in open(table).read().splitlines()[1:]):
            address, _, port = row[1].partition(":")
            if row[3] == "0A" and int(port, 16) in ports:
                found.append(address)
    return found


def test_a_notebook_attached_to_it_queries_the_raw_data_through_spark_connect(spark_cluster, workspace):
    # Where the query ran: a file only the production image has, read by the server's JVM.
    result = assert_spark_connect_queries_raw_data(
        spark_cluster, workspace, 'result["lock"] = spark.read.text("/opt/venv/requirements.lock").count()')
    assert result["lock"] > 0


def test_ls_lists_it_and_scale_says_why_it_cannot(spark_cluster, workspace):
    listing = expenv("cluster", "ls", "--json", "-w", str(workspace))
    listed = next(c for c in listing["clusters"] if c["id"] == spark_cluster["id"])
    assert (listed["status"], listed["kind"], listed["backend"], listed["workers_alive"]) == \
        ("running", "spark", "docker", 2)
    assert listed["dashboard_url"] == spark_cluster["dashboard_url"]
    refused = expenv("cluster", "scale", spark_cluster["id"], "3", "-w", str(workspace), check=False)
    assert refused.returncode == 2 and "local[N] in one JVM" in refused.stderr


def test_a_server_the_ledger_lost_is_an_orphan_and_down_leaves_no_container_nor_port(spark_cluster, workspace,
                                                                                      docker_client):
    ports = ports_of(spark_cluster)
    assert ports and all(port_open(p) for p in ports)
    assert_an_orphan_once_its_ledger_entry_is_lost(workspace, spark_cluster)
    expenv("cluster", "down", spark_cluster["id"], "--json", "-w", str(workspace))
    assert not docker_containers(docker_client, spark_cluster["id"])
    wait_until(lambda: not [p for p in ports if port_open(p)], 30, f"ports {ports} to close")
    assert spark_cluster["id"] not in ledger_ids(workspace)
    listing = expenv("cluster", "ls", "--json", "-w", str(workspace))
    assert spark_cluster["id"] not in [c["id"] for c in listing["clusters"]] + listing["orphans"]
