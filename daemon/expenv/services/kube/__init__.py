"""The Kubernetes layer shared by the cluster and pipeline backends: connection, labels, secrets."""

from expenv.services.kube.client import KubeApi, KubeTarget, connect
from expenv.services.kube.errors import (KubeConfigError, KubeError, KubeForbidden, KubeNamespaceMissing,
                                         KubeNotFound, KubeTimeout, KubeUnreachable)

__all__ = ["KubeApi", "KubeTarget", "connect", "KubeError", "KubeConfigError", "KubeUnreachable", "KubeTimeout",
           "KubeNamespaceMissing", "KubeForbidden", "KubeNotFound"]
