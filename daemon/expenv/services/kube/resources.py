"""The kinds of Kubernetes objects expenv creates, and where the API serves them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One resource kind: enough to build its REST path."""

    api_version: str          # "v1", "apps/v1", "kubernetes.dask.org/v1"
    kind: str
    plural: str

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    def collection_path(self, namespace: str) -> str:
        base = f"/apis/{self.api_version}" if self.group else f"/api/{self.version}"
        return f"{base}/namespaces/{namespace}/{self.plural}"

    def object_path(self, namespace: str, name: str) -> str:
        return f"{self.collection_path(namespace)}/{name}"


POD = Kind("v1", "Pod", "pods")
SERVICE = Kind("v1", "Service", "services")
DEPLOYMENT = Kind("apps/v1", "Deployment", "deployments")
JOB = Kind("batch/v1", "Job", "jobs")
DASK_CLUSTER = Kind("kubernetes.dask.org/v1", "DaskCluster", "daskclusters")
RAY_CLUSTER = Kind("ray.io/v1", "RayCluster", "rayclusters")
WORKFLOW = Kind("argoproj.io/v1alpha1", "Workflow", "workflows")

KINDS = {k.kind: k for k in (POD, SERVICE, DEPLOYMENT, JOB, DASK_CLUSTER, RAY_CLUSTER, WORKFLOW)}


def kind_of(manifest: dict) -> Kind:
    """The `Kind` of a manifest expenv rendered."""
    return KINDS[manifest["kind"]]
