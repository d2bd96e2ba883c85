"""Errors of the Kubernetes layer: each says what failed and what the user can do."""

from __future__ import annotations

from expenv.domain.errors import ExpenvError


class KubeError(ExpenvError):
    """Anything that stops expenv from talking to the Kubernetes API."""


class KubeConfigError(KubeError):
    """No kubeconfig, or it lacks the context a profile or target names."""


class KubeUnreachable(KubeError):
    """The API server did not answer (down, wrong address, network)."""


class KubeTimeout(KubeError):
    """The API server did not answer within the time limit."""


class KubeNamespaceMissing(KubeError):
    """The namespace a profile or target names does not exist."""


class KubeForbidden(KubeError):
    """RBAC refused the call (HTTP 403)."""


class KubeNotFound(KubeError):
    """The object asked for does not exist (any more)."""
