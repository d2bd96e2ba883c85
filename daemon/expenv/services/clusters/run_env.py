"""The run context a cluster's workers carry: the workspace's tracking URI, its experiment and the
run tags (git sha and branch, stage, runner, image), so an MLflow run started inside a task lands
where a notebook's run does, tagged the same, without a line of user code.

The production image need not have expenv (and its MLflow plugin) installed: MLflow itself puts
the JSON of `MLFLOW_RUN_CONTEXT` on every run as tags, so the tags are given that way too.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from expenv.domain.clusters import ClusterProfile

RUNNERS = ("local", "docker", "kubernetes")
LOOPBACK = re.compile(r"^(localhost|127\.\d+\.\d+\.\d+|::1|0\.0\.0\.0)$", re.I)


def cluster_run_env(tracking, profile: ClusterProfile) -> dict[str, str]:
    """`tracking` is the workspace's TrackingService. For kubernetes the URI is left out when it
    names this machine's loopback (a pod cannot reach it); credentials never come from here."""
    from expenv.services.tracking.context import ENV_TAGS

    runner = profile.backend if profile.backend in RUNNERS else "cluster"
    image = profile.image if profile.backend != "local" else None
    env = tracking.child_env(runner, require_server=False, image=image)
    env["MLFLOW_RUN_CONTEXT"] = env[ENV_TAGS]
    uri = env.get("MLFLOW_TRACKING_URI")
    if profile.backend == "kubernetes" and uri and not reachable_from_pods(uri):
        del env["MLFLOW_TRACKING_URI"]
    return env


def reachable_from_pods(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not LOOPBACK.match(parts.hostname)
