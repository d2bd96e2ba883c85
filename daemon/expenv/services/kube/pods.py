"""What the pods of something expenv started say: how many run, how many were lost."""

from __future__ import annotations

from expenv.services.kube.client import KubeApi
from expenv.services.kube.resources import POD


def pod_counts(api: KubeApi, wanted: dict[str, str]) -> tuple[int, int]:
    """(alive, lost) among pods with every `wanted` label: alive = running and ready, lost = failed,
    gone unknown, or restarted after a crash."""
    alive = lost = 0
    for pod in api.list(POD, wanted):
        status = pod.get("status") or {}
        containers = status.get("containerStatuses") or []
        if status.get("phase") in ("Failed", "Unknown") or any(c.get("restartCount", 0) for c in containers):
            lost += 1
        elif status.get("phase") == "Running" and containers and all(c.get("ready") for c in containers):
            alive += 1
    return alive, lost
