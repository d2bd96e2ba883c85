"""Rendered cluster manifests: strictly valid, labelled, secrets by reference only."""

from __future__ import annotations

import pytest

from expenv.domain.clusters import ClusterError
from expenv.services.clusters.service import ClusterService
from expenv.services.config import load_config
from tests.kube.validate import validate
from tests.kube.workspace import IMAGE, assert_no_canary, make_kube_workspace


@pytest.fixture
def service(tmp_path, kube):
    return ClusterService(load_config(make_kube_workspace(tmp_path / "ws")))


@pytest.mark.parametrize("profile,kinds", [
    ("dask-k8s", ["DaskCluster"]),
    ("spark-k8s", ["Deployment", "Service", "Deployment"]),
    ("ray_K8s", ["RayCluster"]),
])
def test_rendered_manifests_validate_strictly(service, profile, kinds):
    manifests = service.render(profile)
    assert [m["kind"] for m in manifests] == kinds
    for manifest in manifests:
        validate(manifest)
        labels = manifest["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "expenv"
        assert labels["expenv.workspace"] == service.context.workspace_label
        assert labels["expenv.profile"] == profile and labels["expenv.cluster"].startswith(profile)
        assert manifest["metadata"]["namespace"] == "ml"
    images = {c["image"] for m in manifests for c in _containers(m)}
    assert images == {IMAGE}
    assert_no_canary(manifests)


def test_dask_cluster_sizes_workers_from_the_profile(service):
    (cluster,) = service.render("dask-k8s")
    worker = cluster["spec"]["worker"]
    assert worker["replicas"] == 2
    (container,) = worker["spec"]["containers"]
    assert container["resources"]["limits"] == {"cpu": "1500m", "memory": "2Gi"}
    assert container["envFrom"] == [{"secretRef": {"name": "lake-creds"}}]
    assert cluster["spec"]["scheduler"]["service"]["selector"]["dask.org/cluster-name"] == cluster["metadata"]["name"]


def test_spark_workers_get_cores_and_memory(service):
    server, _service, workers = service.render("spark-k8s")
    assert workers["spec"]["replicas"] == 3
    (worker,) = workers["spec"]["template"]["spec"]["containers"]
    assert worker["resources"]["requests"] == {"cpu": "2", "memory": "4G"}
    assert worker["args"][worker["args"].index("--memory") + 1] == "3814m"
    connect = server["spec"]["template"]["spec"]["containers"][1]
    assert "org.apache.spark.sql.connect.service.SparkConnectServer" in connect["args"]


def test_a_name_kubernetes_refuses_becomes_a_dns_name(service):
    (cluster,) = service.render("ray_K8s")
    assert cluster["metadata"]["name"].startswith("ray-k8s-")
    assert cluster["metadata"]["labels"]["expenv.profile"] == "ray_K8s"


def test_a_profile_without_image_is_refused_naming_the_field(tmp_path, kube):
    config = "[project]\nname='x'\n[clusters.d]\nkind='dask'\nbackend='kubernetes'\n"
    service = ClusterService(load_config(make_kube_workspace(tmp_path / "noimg", config)))
    with pytest.raises(ClusterError, match="image: cluster profile 'd' has no image"):
        service.render("d")


def _containers(manifest: dict) -> list[dict]:
    spec = manifest.get("spec", {})
    if manifest["kind"] == "DaskCluster":
        return spec["worker"]["spec"]["containers"] + spec["scheduler"]["spec"]["containers"]
    if manifest["kind"] == "RayCluster":
        return spec["headGroupSpec"]["template"]["spec"]["containers"] + [
            c for g in spec["workerGroupSpecs"] for c in g["template"]["spec"]["containers"]]
    if manifest["kind"] == "Deployment":
        return spec["template"]["spec"]["containers"]
    return []


@pytest.mark.parametrize("profile", ["dask-k8s", "spark-k8s", "ray_K8s"])
def test_the_validator_rejects_a_field_the_schema_does_not_know(service, profile):
    manifest = service.render(profile)[0]
    manifest["spec"]["replicaz"] = 2
    with pytest.raises(Exception, match="replicaz"):
        validate(manifest)


def _rendered(root, profile: str) -> list[dict]:
    """`expenv cluster render PROFILE --json`, as a user runs it."""
    import json
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "expenv", "cluster", "render", profile, "--json", "-w", str(root)],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["manifests"]


@pytest.mark.parametrize("profile", ["dask-k8s", "spark-k8s", "ray_K8s"])
def test_every_container_carries_the_run_context_without_credentials(tmp_path, kube, profile):
    import json

    manifests = _rendered(make_kube_workspace(tmp_path / "ws"), profile)
    containers = [c for m in manifests for c in _containers(m)]
    assert containers
    for container in containers:
        env = {e["name"]: e.get("value") for e in container["env"]}
        # The configured server, its user:password left to a Secret (the profile's envFrom).
        assert env["MLFLOW_TRACKING_URI"] == "http://mlflow.internal:5000"
        assert env["MLFLOW_EXPERIMENT_NAME"] == "kubetest"
        tags = json.loads(env["EXPENV_RUN_TAGS"])
        assert (tags["expenv.runner"], tags["expenv.image"]) == ("kubernetes", IMAGE)
        assert json.loads(env["MLFLOW_RUN_CONTEXT"]) == tags   # read by MLflow itself, no expenv needed
    for manifest in manifests:
        validate(manifest)
    assert_no_canary(manifests)


def test_a_loopback_tracking_uri_is_not_handed_to_pods(tmp_path, kube):
    from tests.kube.workspace import CANARY_PASSWORD, CONFIG

    configured = f'uri = "http://analyst:{CANARY_PASSWORD}@mlflow.internal:5000"'
    assert configured in CONFIG
    config = CONFIG.replace(configured, 'uri = "http://127.0.0.1:5000"')
    (cluster,) = _rendered(make_kube_workspace(tmp_path / "ws", config), "dask-k8s")
    for container in _containers(cluster):
        names = {e["name"] for e in container["env"]}
        assert "MLFLOW_TRACKING_URI" not in names and {"MLFLOW_EXPERIMENT_NAME", "EXPENV_RUN_TAGS"} <= names
    validate(cluster)
