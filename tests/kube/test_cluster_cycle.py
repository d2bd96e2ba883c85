"""launch, list, scale and stop Kubernetes clusters through the cluster service, against kmock.

The emulator runs no operator: the tests write the status and pods an operator would (Dask
operator, KubeRay, the Deployment controller) to see the product read them back.
"""

from __future__ import annotations

import pytest

from expenv.domain.clusters import ClusterError
from expenv.services.clusters.interface import LaunchCancelled
from expenv.services.clusters.service import ClusterService
from expenv.services.config import load_config
from tests.kube.workspace import make_kube_workspace


@pytest.fixture
def workspace(tmp_path, kube):
    return make_kube_workspace(tmp_path / "ws")


def _service(workspace):
    return ClusterService(load_config(workspace), owner_role="test")


def test_dask_cycle_launch_list_scale_stop(workspace, kube):
    service = _service(workspace)
    steps: list[str] = []
    handle = service.launch("dask-k8s", progress=steps.append)
    (cluster,) = kube.objects("daskclusters", "ml")
    name = cluster["metadata"]["name"]
    assert cluster["metadata"]["labels"]["expenv.cluster"] == handle.id
    assert handle.status == "starting" and "waiting for the Dask operator" in handle.detail
    assert handle.address == f"tcp://{name}-scheduler.ml.svc.cluster.local:8786"
    assert any("creating DaskCluster" in s for s in steps)

    # The operator reports and starts two workers; one of them crashed once.
    kube.set_status("kubernetes.dask.org/v1", "daskclusters", "ml", name, {"phase": "Running"})
    worker = {"dask.org/cluster-name": name, "dask.org/component": "worker"}
    kube.add_pod("ml", f"{name}-w1", worker)
    kube.add_pod("ml", f"{name}-w2", worker, restarts=1)
    (listed,) = service.list()["clusters"]
    assert (listed.id, listed.status, listed.workers_alive, listed.workers_lost) == (handle.id, "running", 1, 1)

    scaled = service.scale(handle.id, 5)
    assert scaled.workers_wanted == 5
    assert kube.objects("daskclusters", "ml")[0]["spec"]["worker"]["replicas"] == 5

    service.stop(handle.id)
    assert kube.objects("daskclusters") == []
    assert service.list()["clusters"] == []


def test_spark_connect_cycle_scales_the_worker_deployment(workspace, kube):
    service = _service(workspace)
    handle = service.launch("spark-k8s")
    deployments = {d["metadata"]["name"]: d for d in kube.objects("deployments", "ml")}
    assert len(deployments) == 2 and len(kube.objects("services", "ml")) == 1
    server = next(n for n in deployments if n.endswith("-server"))
    assert handle.address.startswith("sc://") and handle.address.endswith(":15002")
    kube.set_status("apps/v1", "deployments", "ml", server, {"observedGeneration": 1, "readyReplicas": 1})
    assert service.list()["clusters"][0].status == "running"

    service.scale(handle.id, 1)
    workers = next(d for n, d in _by_name(kube.objects("deployments", "ml")).items() if n.endswith("-workers"))
    assert workers["spec"]["replicas"] == 1
    service.stop(handle.id)
    assert kube.objects("deployments") == [] and kube.objects("services") == []


def test_ray_scale_keeps_the_worker_group_whole(workspace, kube):
    service = _service(workspace)
    handle = service.launch("ray_K8s")
    assert handle.address.startswith("ray://") and handle.address.endswith("-head-svc.ml.svc.cluster.local:10001")
    service.scale(handle.id, 4)
    (group,) = kube.objects("rayclusters", "ml")[0]["spec"]["workerGroupSpecs"]
    assert (group["groupName"], group["replicas"], group["maxReplicas"]) == ("workers", 4, 4)
    assert group["template"]["spec"]["containers"][0]["image"]
    service.stop(handle.id)
    assert kube.objects("rayclusters") == []


def test_another_process_finds_a_cluster_missing_from_its_ledger_and_stops_it(workspace, kube):
    handle = _service(workspace).launch("dask-k8s")
    (workspace / ".expenv" / "ledger.json").unlink()   # the launcher's record is lost
    # Kubernetes is asked when a kubernetes cluster is in the ledger; a profile alone does not
    # make `ls` call a remote API. `down --all` after `up` in another process is what a user does:
    other = _service(workspace)
    found = other.backend("kubernetes").discover(other.context.workspace_label)
    assert [h.id for h in found] == [handle.id]
    other.backend("kubernetes").stop(found[0])
    assert kube.objects("daskclusters") == []


def test_a_forbidden_namespace_fails_plainly_and_leaves_nothing(workspace, kube):
    service = _service(workspace)
    with pytest.raises(ClusterError, match="refused to create DaskCluster .* in namespace 'locked'"):
        service.launch("dask-locked")
    assert service.ledger.entries("cluster") == []


def test_a_cancelled_launch_removes_what_it_created(workspace, kube):
    service = _service(workspace)
    with pytest.raises(LaunchCancelled):
        service.launch("spark-k8s", cancelled=lambda: True)
    assert kube.objects("deployments", "ml") == [] and kube.objects("services", "ml") == []
    assert service.ledger.entries("cluster") == []


def test_an_unreachable_api_is_a_clear_launch_error(workspace, kube, tmp_path, monkeypatch):
    kube.url = "http://127.0.0.1:9"   # discard port: nothing answers
    monkeypatch.setenv("KUBECONFIG", str(kube.write_kubeconfig(tmp_path / "dead-kubeconfig")))
    with pytest.raises(ClusterError, match="cannot reach the Kubernetes API at http://127.0.0.1:9"):
        _service(workspace).launch("dask-k8s")


def test_a_missing_context_is_named(workspace, kube):
    text = (workspace / "expenv.toml").read_text().replace('context = "emu"', 'context = "prod-eu"', 1)
    (workspace / "expenv.toml").write_text(text)
    with pytest.raises(ClusterError, match="kube context 'prod-eu' is not in the kubeconfig"):
        _service(workspace).launch("dask-k8s")


def _by_name(objects: list[dict]) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects}
