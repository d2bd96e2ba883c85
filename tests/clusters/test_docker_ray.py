"""Ray as containers of the production image (`expenv cluster up ray-docker`, the profile's
`options.python` naming the Ray venv, whose Ray version the cluster runs): a head and two worker
containers on the host network, every listener on loopback, computing over the example's raw data
(mounted read-only) for a client process of the Ray venv; a killed worker container is shown
lost and `scale` replaces it; an orphan is found and `down` leaves no container nor port. The
production image has no Ray: the first launch builds the engine image derived from it once
(cached by its recipe afterwards). Needs a Docker engine: without one these tests fail, saying why."""

from __future__ import annotations

import pytest

from tests.clusters.conftest import (
    assert_an_orphan_once_its_ledger_entry_is_lost,
    assert_ray_computes_over_raw_data,
    docker_containers,
    expenv,
    kill_a_worker_container_then_scale_back,
    launch_in_docker,
    port_open,
    ports_of,
    use_python,
    wait_until,
)
from tests.clusters.test_docker_dask import docker_setup  # noqa: F401 - the module fixture
from tests.clusters.test_local_ray import LOOPBACK, _listeners, _ray_version
from tests.docker.conftest import docker_client  # noqa: F401 - the session fixture (fails without an engine)

pytestmark = pytest.mark.timeout(2400)


@pytest.fixture(scope="module")
def workspace(docker_setup, ray_python):  # noqa: F811
    use_python(docker_setup[0], "ray-docker", ray_python)
    return docker_setup[0]


@pytest.fixture(scope="module")
def ray_cluster(workspace, docker_client):  # noqa: F811
    yield from launch_in_docker(workspace, docker_client, "ray-docker")


def test_nodes_are_labelled_non_root_containers_of_the_production_image_on_loopback(
        ray_cluster, docker_client, workspace, docker_setup, ray_python):  # noqa: F811
    containers = docker_containers(docker_client, ray_cluster["id"])
    assert sorted(c.labels["expenv.role"] for c in containers) == ["head", "worker", "worker"]
    production_layers = docker_client.images.get(docker_setup[1]).attrs["RootFS"]["Layers"]
    raw = str((workspace / "data" / "raw").resolve())
    pids = []
    for container in containers:
        assert container.status == "running"
        assert (container.labels["app.kubernetes.io/managed-by"], container.labels["expenv.profile"],
                container.labels["expenv.kind"]) == ("expenv", "ray-docker", "ray")
        assert container.attrs["HostConfig"]["NetworkMode"] == "host"
        # The production image, or the engine image built FROM it (same layers underneath).
        assert container.image.attrs["RootFS"]["Layers"][:len(production_layers)] == production_layers
        assert {m["Destination"]: m for m in container.attrs["Mounts"]}[raw]["RW"] is False
        assert container.exec_run(["id", "-u"]).output.decode().strip() != "0"
        assert container.attrs["HostConfig"]["ShmSize"] > 64 * 2**20   # room for Ray's object store
        if container.labels["expenv.role"] == "worker":
            assert container.attrs["HostConfig"]["Memory"] == 2 * 2**30   # the profile's memory
        pids += [int(row[1]) for row in container.top()["Processes"]]
    # Three raylets share the host's network: every listener of theirs is on loopback.
    listeners = _listeners(pids)
    assert len(listeners) >= 10 and set(listeners) <= LOOPBACK, listeners
    assert ray_cluster["address"].startswith("ray://127.0.0.1:")
    assert f'ray.init("{ray_cluster["address"]}")' in ray_cluster["cell"]
    assert ray_cluster["versions"]["packages"]["ray"] == _ray_version(ray_python)


def test_a_client_process_computes_over_the_raw_data_on_the_worker_containers(ray_cluster, workspace, ray_python):
    # Where the tasks ran: a file only the production image has, on a worker node (the head has no CPU).
    result = assert_ray_computes_over_raw_data(ray_python, ray_cluster, workspace, more="""
@ray.remote
def where():
    return open("/opt/venv/requirements.lock").read().count("==") > 0, ray.get_runtime_context().get_node_id()

in_image, node = ray.get(where.remote())
head = next(n["NodeID"] for n in ray.nodes() if n["Alive"] and n["Resources"].get("CPU", 0) == 0)
result["in_image"], result["on_head"] = in_image, node == head
""")
    assert (result["in_image"], result["on_head"]) == (True, False)


def test_a_killed_worker_container_is_shown_lost_and_scale_replaces_it(ray_cluster, docker_client, workspace):
    shown = kill_a_worker_container_then_scale_back(docker_client, workspace, ray_cluster)
    assert "lost" in shown["detail"]
    assert shown["killed"] not in [c.id for c in docker_containers(docker_client, ray_cluster["id"])]


def test_an_orphan_is_found_and_down_leaves_no_container_nor_port(ray_cluster, workspace, docker_client):
    ports = ports_of(ray_cluster)
    assert len(ports) >= 3 and all(port_open(p) for p in ports)
    assert_an_orphan_once_its_ledger_entry_is_lost(workspace, ray_cluster)
    expenv("cluster", "down", ray_cluster["id"], "--json", "-w", str(workspace))
    assert not docker_containers(docker_client, ray_cluster["id"])
    wait_until(lambda: not [p for p in ports if port_open(p)], 30, f"ports {ports} to close")
    listing = expenv("cluster", "ls", "--json", "-w", str(workspace))
    assert ray_cluster["id"] not in [c["id"] for c in listing["clusters"]] + listing["orphans"]

