"""launch, list, scale and stop Kubernetes clusters with `expenv cluster`, against kmock.

The emulator runs no operator: the tests write the status and pods an operator would (Dask
operator, KubeRay, the Deployment controller) to see the product read them back. The CLI finds the
emulator through KUBECONFIG, as it would find a user's cluster.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from expenv.domain.clusters import ClusterError
from expenv.services.clusters.interface import LaunchCancelled
from expenv.services.clusters.service import ClusterService
from expenv.services.config import load_config
from tests.kube.validate import validate
from tests.kube.workspace import make_kube_workspace


@pytest.fixture
def workspace(tmp_path, kube):
    return make_kube_workspace(tmp_path / "ws")


def _service(workspace):
    return ClusterService(load_config(workspace))


def cluster(workspace, *args: str, ok: bool = True):
    result = subprocess.run([sys.executable, "-m", "expenv", "cluster", *args, "--json", "-w", str(workspace)],
                            capture_output=True, text=True, timeout=180)
    if not ok:
        return result
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_dask_cycle_up_ls_scale_down(workspace, kube):
    up = cluster(workspace, "up", "dask-k8s")
    (created,) = kube.objects("daskclusters", "ml")
    name = created["metadata"]["name"]
    assert created["metadata"]["labels"]["expenv.cluster"] == up["id"]
    assert up["status"] == "starting" and "waiting for the Dask operator" in up["detail"]
    assert up["address"] == f"tcp://{name}-scheduler.ml.svc.cluster.local:8786"
    assert up["resources"]["port_forward"] == f"kubectl --context emu -n ml port-forward svc/{name}-scheduler 8786 8787"

    # The operator reports and starts two workers; one of them crashed once.
    kube.set_status("kubernetes.dask.org/v1", "daskclusters", "ml", name, {"phase": "Running"})
    worker = {"dask.org/cluster-name": name, "dask.org/component": "worker"}
    kube.add_pod("ml", f"{name}-w1", worker)
    kube.add_pod("ml", f"{name}-w2", worker, restarts=1)
    (listed,) = cluster(workspace, "ls")["clusters"]
    assert (listed["id"], listed["status"], listed["workers_alive"], listed["workers_lost"]) == (up["id"], "running", 1, 1)

    assert cluster(workspace, "scale", up["id"], "5")["workers_wanted"] == 5
    assert kube.objects("daskclusters", "ml")[0]["spec"]["worker"]["replicas"] == 5

    assert cluster(workspace, "down", up["id"])["stopped"] == [up["id"]]
    assert kube.objects("daskclusters") == []
    assert cluster(workspace, "ls")["clusters"] == []


def test_spark_connect_cycle_scales_the_worker_deployment(workspace, kube):
    up = cluster(workspace, "up", "spark-k8s")
    deployments = _by_name(kube.objects("deployments", "ml"))
    assert len(deployments) == 2 and len(kube.objects("services", "ml")) == 1
    server = next(n for n in deployments if n.endswith("-server"))
    assert up["address"].startswith("sc://") and up["address"].endswith(":15002")
    kube.set_status("apps/v1", "deployments", "ml", server, {"observedGeneration": 1, "readyReplicas": 1})

    cluster(workspace, "scale", up["id"], "1")
    workers = next(d for n, d in _by_name(kube.objects("deployments", "ml")).items() if n.endswith("-workers"))
    assert workers["spec"]["replicas"] == 1
    assert cluster(workspace, "down", "--all")["stopped"] == [up["id"]]
    assert kube.objects("deployments") == [] and kube.objects("services") == []


def test_render_prints_the_manifests_up_would_apply(workspace, kube):
    rendered = cluster(workspace, "render", "ray_K8s")
    assert [m["kind"] for m in rendered["manifests"]] == ["RayCluster"]
    validate(rendered["manifests"][0])
    assert kube.objects("rayclusters") == []   # rendering creates nothing


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
    """The ledger is lost (another machine, a rebuilt devcontainer): `ls` asks the kubeconfig's
    cluster for the workspace's labels, as kubectl would, and `down --all` stops what it finds."""
    up = cluster(workspace, "up", "dask-k8s")
    (workspace / ".expenv" / "ledger.json").unlink()   # the launcher's record is lost
    listing = cluster(workspace, "ls")
    assert listing["orphans"] == [up["id"]] and listing["problems"] == []
    (found,) = [c for c in listing["clusters"] if c["id"] == up["id"]]
    assert found["backend"] == "kubernetes" and found["profile"] == "dask-k8s"
    assert cluster(workspace, "down", "--all")["stopped"] == [up["id"]]
    assert kube.objects("daskclusters") == []


def test_a_forbidden_namespace_fails_plainly_and_leaves_nothing(workspace, kube):
    result = cluster(workspace, "up", "dask-locked", ok=False)
    assert result.returncode != 0
    assert "refused to create DaskCluster" in result.stderr and "namespace 'locked'" in result.stderr
    assert _service(workspace).ledger.entries("cluster") == []


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


def test_ls_says_when_the_api_of_a_running_cluster_cannot_be_reached(workspace, kube, tmp_path, monkeypatch):
    up = cluster(workspace, "up", "dask-k8s")
    kube.url = "http://127.0.0.1:9"
    monkeypatch.setenv("KUBECONFIG", str(kube.write_kubeconfig(tmp_path / "dead")))
    listing = cluster(workspace, "ls")
    (entry,) = listing["clusters"]
    assert entry["id"] == up["id"] and entry["status"] == "unknown"
    assert "cannot reach the Kubernetes API at http://127.0.0.1:9" in entry["detail"]
    assert len(kube.objects("daskclusters", "ml")) == 1   # nothing was deleted meanwhile


def test_a_cluster_the_operator_never_makes_ready_times_out_and_is_removed(workspace, kube):
    """The operator answers (phase Pending) but the cluster never becomes ready: the launch gives
    up at its deadline and deletes what it created."""
    import threading

    text = (workspace / "expenv.toml").read_text().replace("options = { status_wait = 0.5 }",
                                                           "options = { status_wait = 0.5, launch_timeout = 3 }", 1)
    (workspace / "expenv.toml").write_text(text)
    stop = threading.Event()

    def operator() -> None:   # reports every DaskCluster it sees as Pending, like a stuck operator
        while not stop.is_set():
            for obj in kube.objects("daskclusters", "ml"):
                if not obj.get("status"):
                    kube.set_status("kubernetes.dask.org/v1", "daskclusters", "ml", obj["metadata"]["name"],
                                    {"phase": "Pending"})
            stop.wait(0.1)

    thread = threading.Thread(target=operator, daemon=True)
    thread.start()
    try:
        with pytest.raises(ClusterError, match=r"launch timeout: dask-k8s-\w+ was not ready after 3 s "
                                               r"\(Dask operator phase: Pending\); removed it"):
            _service(workspace).launch("dask-k8s")
    finally:
        stop.set()
        thread.join(5)
    assert kube.objects("daskclusters") == []
    assert _service(workspace).ledger.entries("cluster") == []
