"""The Kubernetes layer shared by the cluster and pipeline backends: connection, labels, secrets."""

from expenv.services.kube.client import KubeApi, KubeTarget, connect, namespace_of
from expenv.services.kube.errors import (KubeConfigError, KubeError, KubeForbidden, KubeNamespaceMissing,
                                         KubeNotFound, KubeTimeout, KubeUnreachable)

__all__ = ["KubeApi", "KubeTarget", "connect", "namespace_of", "KubeError", "KubeConfigError", "KubeUnreachable", "KubeTimeout",
           "KubeNamespaceMissing", "KubeForbidden", "KubeNotFound"]
