"""The one interface every cluster backend implements (local, docker, kubernetes, plugins).

A backend is built as `Backend(context)` with a `BackendContext`; the service picks it by the
profile's `backend` ("local", "docker", "kubernetes" or "package.module:Class").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from expenv.domain.clusters import ClusterError, ClusterHandle, ClusterProfile

Progress = Callable[[str], None]
Cancelled = Callable[[], bool]


@dataclass(frozen=True)
class BackendContext:
    """What a backend may know about the workspace it serves."""

    root: Path                           # the workspace folder
    state_dir: Path                      # .expenv/ (logs, ledger)
    workspace_label: str                 # value of the expenv.workspace label
    raw_roots: tuple[str, ...] = ()      # [data.raw] roots as written (paths or URLs)
    launch_timeout: float = 180.0        # seconds before a launch gives up and cleans up
    options: dict[str, Any] = field(default_factory=dict)
    # What every process, container or pod of a cluster is told so its MLflow runs land in the
    # workspace's experiment with its tags (tracking URI, experiment, run tags); see run_env.py.
    run_env: Callable[[ClusterProfile], dict[str, str]] = field(default=lambda _profile: {})

    def logs_dir(self) -> Path:
        folder = self.state_dir / "clusters"
        folder.mkdir(parents=True, exist_ok=True)
        return folder


@runtime_checkable
class ClusterBackend(Protocol):
    def launch(self, profile: ClusterProfile, cluster_id: str, progress: Progress,
               cancelled: Cancelled) -> ClusterHandle:
        """Start the cluster and wait until it answers. On failure, timeout or `cancelled()`:
        remove everything it started, then raise (ClusterError, or LaunchCancelled)."""

    def inspect(self, handle: ClusterHandle) -> ClusterHandle:
        """The live status and workers of a cluster in the ledger."""

    def discover(self, workspace_label: str) -> list[ClusterHandle]:
        """What really runs with this workspace's labels, whether the ledger knows it or not."""

    def scale(self, handle: ClusterHandle, workers: int) -> ClusterHandle:
        """Ask for `workers` workers; returns the updated handle."""

    def stop(self, handle: ClusterHandle) -> None:
        """Stop everything of the cluster. Idempotent: stopping a stopped cluster is fine."""

    def render(self, profile: ClusterProfile, cluster_id: str) -> list[dict]:
        """The Kubernetes manifests a launch would apply; [] for backends without any."""

    def last_activity(self, handle: ClusterHandle) -> float | None:
        """When the cluster last did work for a client (epoch seconds), if it can tell."""


class LaunchCancelled(ClusterError):
    """A launch stopped because its caller cancelled it (everything started was removed)."""
