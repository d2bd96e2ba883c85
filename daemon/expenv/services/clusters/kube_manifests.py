"""Kubernetes manifests of a cluster profile, for the engines' own operators.

- Dask: the Dask operator's `DaskCluster` (the dask-kubernetes `KubeCluster` model).
- Ray: KubeRay's `RayCluster`.
- Spark: a Spark Connect server as a Deployment + Service, over a standalone Spark master in
  the same pod, and the workers as a second Deployment (scaled by its replicas). Every container
  runs the production image, which must hold pyspark and a Java runtime.

Secrets reach pods by `envFrom` references to Kubernetes Secrets named in the profile. Every
container also carries the workspace's run context (MLflow experiment, run tags, and the tracking
URI when a pod can reach it), as plain values stripped of any credential.
"""

from __future__ import annotations

from dataclasses import dataclass

from expenv.domain.clusters import ClusterError, ClusterProfile
from expenv.services.kube import labels as kl
from expenv.services.kube.secrets import env_from, plain_env

DASK_COMM, DASK_DASHBOARD, DASK_WORKER_DASHBOARD = 8786, 8787, 8788
RAY_GCS, RAY_DASHBOARD, RAY_CLIENT = 6379, 8265, 10001
SPARK_MASTER, SPARK_CONNECT, SPARK_MASTER_UI, SPARK_APP_UI, SPARK_WORKER_UI = 7077, 15002, 8080, 4040, 8081


@dataclass(frozen=True)
class ClusterNames:
    """Where a cluster lives and what its objects are called."""

    name: str           # the main object (DaskCluster, RayCluster, Spark Service)
    namespace: str

    def host(self, service: str) -> str:
        return f"{service}.{self.namespace}.svc.cluster.local"


def object_name(cluster_id: str) -> str:
    """A DNS name short enough for the suffixes the operators add ("-scheduler", "-head-svc")."""
    profile, _, suffix = cluster_id.rpartition("-")
    return f"{kl.dns_name(profile, 30)}-{kl.dns_name(suffix, 12)}" if profile else kl.dns_name(cluster_id, 43)


def render_cluster(profile: ClusterProfile, cluster_id: str, workspace: str, namespace: str,
                   env: dict[str, str] | None = None) -> list[dict]:
    """Every manifest a launch of `profile` applies, labelled for discovery and cleanup; `env`
    (the run context) goes to every container."""
    if not profile.image:
        raise ClusterError(f"image: cluster profile {profile.name!r} has no image, and [environment] "
                           f"production_image is not set")
    try:
        resources = kl.resources(profile.cores, profile.memory)
    except ValueError as exc:
        raise ClusterError(f"memory: {exc}") from None
    names = ClusterNames(object_name(cluster_id), namespace)
    labels = kl.common_labels(workspace, cluster=cluster_id, profile=profile.name)
    builders = {"dask": _dask, "ray": _ray, "spark": _spark}
    if profile.kind not in builders:
        raise ClusterError(f"kind: {profile.kind!r} cannot run on kubernetes (dask, spark or ray)")
    manifests = builders[profile.kind](profile, names, labels, resources)
    if env:
        for container in _all_containers(manifests):
            container["env"] = plain_env(env) + container.get("env", [])
    return manifests


def _all_containers(node) -> list[dict]:
    """The containers of every pod template in `node`, whatever the operator nests them in."""
    if isinstance(node, list):
        return [c for item in node for c in _all_containers(item)]
    if not isinstance(node, dict):
        return []
    found = [c for c in node.get("containers", []) if isinstance(c, dict) and "image" in c]
    return found + [c for key, value in node.items() if key != "containers" for c in _all_containers(value)]


def _meta(name: str, namespace: str, labels: dict) -> dict:
    return {"name": name, "namespace": namespace, "labels": dict(labels)}


def _container(name: str, profile: ClusterProfile, args: list[str], ports: list[tuple[str, int]],
               resources: dict | None = None) -> dict:
    container = {
        "name": name, "image": profile.image, "args": args,
        "ports": [{"name": port_name, "containerPort": port, "protocol": "TCP"} for port_name, port in ports],
    }
    if resources:
        container["resources"] = resources
    if profile.secrets:
        container["envFrom"] = env_from(profile.secrets)
    return container


# --- Dask ----------------------------------------------------------------------------------

def _dask(profile: ClusterProfile, names: ClusterNames, labels: dict, resources: dict) -> list[dict]:
    worker_args = ["dask-worker", "--name", "$(DASK_WORKER_NAME)", "--dashboard",
                   "--dashboard-address", str(DASK_WORKER_DASHBOARD)]
    if profile.cores:
        worker_args += ["--nthreads", str(max(1, int(profile.cores)))]
    scheduler = _container("scheduler", profile, ["dask-scheduler"],
                           [("tcp-comm", DASK_COMM), ("http-dashboard", DASK_DASHBOARD)])
    scheduler["readinessProbe"] = {"httpGet": {"port": "http-dashboard", "path": "/health"},
                                   "initialDelaySeconds": 0, "periodSeconds": 1, "timeoutSeconds": 300}
    return [{
        "apiVersion": "kubernetes.dask.org/v1", "kind": "DaskCluster",
        "metadata": _meta(names.name, names.namespace, labels),
        "spec": {
            "worker": {
                "replicas": profile.workers,
                "metadata": {"labels": dict(labels)},
                "spec": {"containers": [_container("worker", profile, worker_args,
                                                   [("http-dashboard", DASK_WORKER_DASHBOARD)], resources)]},
            },
            "scheduler": {
                "metadata": {"labels": dict(labels)},
                "spec": {"containers": [scheduler]},
                "service": {
                    "type": "ClusterIP",
                    "selector": {"dask.org/cluster-name": names.name, "dask.org/component": "scheduler"},
                    "ports": [{"name": "tcp-comm", "protocol": "TCP", "port": DASK_COMM, "targetPort": "tcp-comm"},
                              {"name": "http-dashboard", "protocol": "TCP", "port": DASK_DASHBOARD,
                               "targetPort": "http-dashboard"}],
                },
            },
        },
    }]


# --- Ray -----------------------------------------------------------------------------------

def _ray(profile: ClusterProfile, names: ClusterNames, labels: dict, resources: dict) -> list[dict]:
    head = _container("ray-head", profile, [], [("gcs-server", RAY_GCS), ("dashboard", RAY_DASHBOARD),
                                                ("client", RAY_CLIENT)])
    worker = _container("ray-worker", profile, [], [], resources)
    for container in (head, worker):
        del container["args"]   # KubeRay writes the `ray start` command itself
        if not container["ports"]:
            del container["ports"]
    return [{
        "apiVersion": "ray.io/v1", "kind": "RayCluster",
        "metadata": _meta(names.name, names.namespace, labels),
        "spec": {
            "headGroupSpec": {
                "rayStartParams": {"dashboard-host": "0.0.0.0"},
                "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": [head]}},
            },
            "workerGroupSpecs": [{
                "groupName": "workers", "replicas": profile.workers, "minReplicas": 0,
                "maxReplicas": max(profile.workers, 1), "rayStartParams": {},
                "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": [worker]}},
            }],
        },
    }]


# --- Spark Connect -------------------------------------------------------------------------

def spark_workers_name(names: ClusterNames) -> str:
    return f"{names.name}-workers"


def _spark(profile: ClusterProfile, names: ClusterNames, labels: dict, resources: dict) -> list[dict]:
    server_labels = {**labels, "expenv.role": "server"}
    worker_labels = {**labels, "expenv.role": "worker"}
    master = _container("spark-master", profile,
                        ["spark-class", "org.apache.spark.deploy.master.Master", "--host", "0.0.0.0",
                         "--port", str(SPARK_MASTER), "--webui-port", str(SPARK_MASTER_UI)],
                        [("spark-master", SPARK_MASTER), ("master-ui", SPARK_MASTER_UI)])
    connect_args = ["spark-submit", "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
                    "--name", names.name, "--master", f"spark://127.0.0.1:{SPARK_MASTER}",
                    "--conf", "spark.driver.host=$(POD_IP)", "--conf", "spark.driver.bindAddress=0.0.0.0",
                    "--conf", f"spark.connect.grpc.binding.port={SPARK_CONNECT}"]
    worker_args = ["spark-class", "org.apache.spark.deploy.worker.Worker",
                   f"spark://{names.host(names.name)}:{SPARK_MASTER}", "--webui-port", str(SPARK_WORKER_UI)]
    if profile.cores:
        cores = str(max(1, int(profile.cores)))
        connect_args += ["--conf", f"spark.executor.cores={cores}"]
        worker_args += ["--cores", cores]
    if profile.memory:
        # The executor leaves room for Spark's own overhead inside the worker's memory.
        connect_args += ["--conf", f"spark.executor.memory={kl.spark_memory(profile.memory, 0.8)}"]
        worker_args += ["--memory", kl.spark_memory(profile.memory)]
    connect = _container("spark-connect", profile, connect_args,
                         [("spark-connect", SPARK_CONNECT), ("spark-ui", SPARK_APP_UI)])
    connect["env"] = [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]
    connect["readinessProbe"] = {"tcpSocket": {"port": "spark-connect"}, "periodSeconds": 2}
    worker = _container("spark-worker", profile, worker_args, [("worker-ui", SPARK_WORKER_UI)], resources)

    def deployment(name: str, pod_labels: dict, replicas: int, containers: list[dict]) -> dict:
        return {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(name, names.namespace, labels),
            "spec": {"replicas": replicas,
                     "selector": {"matchLabels": {"expenv.cluster": labels["expenv.cluster"],
                                                  "expenv.role": pod_labels["expenv.role"]}},
                     "template": {"metadata": {"labels": pod_labels}, "spec": {"containers": containers}}},
        }

    service = {
        "apiVersion": "v1", "kind": "Service", "metadata": _meta(names.name, names.namespace, labels),
        "spec": {"type": "ClusterIP",
                 "selector": {"expenv.cluster": labels["expenv.cluster"], "expenv.role": "server"},
                 "ports": [{"name": port_name, "port": port, "targetPort": port_name, "protocol": "TCP"}
                           for port_name, port in (("spark-master", SPARK_MASTER), ("spark-connect", SPARK_CONNECT),
                                                   ("master-ui", SPARK_MASTER_UI), ("spark-ui", SPARK_APP_UI))]},
    }
    return [deployment(f"{names.name}-server", server_labels, 1, [master, connect]), service,
            deployment(spark_workers_name(names), worker_labels, profile.workers, [worker])]
