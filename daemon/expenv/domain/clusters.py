"""Compute clusters: a profile from `[clusters.NAME]`, and a running cluster's handle."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from expenv.domain.errors import ExpenvError

CLUSTER_KINDS = ("dask", "spark", "ray")
BUILTIN_BACKENDS = ("local", "docker", "kubernetes")
STATUSES = ("starting", "running", "stopped", "failed", "orphan", "unknown")

# Labels on everything expenv starts (docker and kubernetes alike), so it finds and cleans up.
MANAGED_BY = ("app.kubernetes.io/managed-by", "expenv")
LABEL_WORKSPACE = "expenv.workspace"
LABEL_CLUSTER = "expenv.cluster"
LABEL_PROFILE = "expenv.profile"
LABEL_RUN = "expenv.run"


class ClusterError(ExpenvError):
    """A cluster cannot be launched, found, scaled or stopped."""


def workspace_label(root: Path | str) -> str:
    """The value of `expenv.workspace`: short, stable and free of the path's characters."""
    return hashlib.sha1(str(root).encode()).hexdigest()[:12]


def cluster_labels(workspace: str, cluster_id: str, profile: str) -> dict[str, str]:
    return {MANAGED_BY[0]: MANAGED_BY[1], LABEL_WORKSPACE: workspace,
            LABEL_CLUSTER: cluster_id, LABEL_PROFILE: profile}


def new_cluster_id(profile: str) -> str:
    return f"{profile}-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class ClusterProfile:
    """A cluster as `[clusters.NAME]` asks for it; `image` is already resolved."""

    name: str
    kind: str                            # dask | spark | ray
    backend: str = "local"               # local | docker | kubernetes | "pkg.mod:Class"
    workers: int = 2
    cores: float | None = None           # per worker
    memory: str | None = None            # per worker, "2Gi" / "512Mi" / "2GB"
    idle_timeout: int | None = None      # seconds without use before it is stopped; None: never
    image: str | None = None             # the profile's image, else [environment] production_image
    namespace: str | None = None         # kubernetes
    context: str | None = None           # kubernetes
    secrets: tuple[str, ...] = ()        # names of Kubernetes Secrets (never values)
    api_timeout: float | None = None     # kubernetes: seconds one API call may take (None: 15)
    options: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["secrets"] = list(self.secrets)
        return data


@dataclass
class ClusterHandle:
    """A cluster expenv started (or found running with its labels)."""

    id: str                              # "<profile>-<8 hex>"
    profile: str
    kind: str
    backend: str
    status: str = "starting"             # one of STATUSES
    address: str | None = None           # tcp://127.0.0.1:8786, sc://127.0.0.1:15002, ray://...
    dashboard_url: str | None = None
    workers_alive: int = 0
    workers_lost: int = 0
    workers_wanted: int = 0
    started_at: float = field(default_factory=time.time)
    expires_at: float | None = None      # idle deadline (moves on with each use); None: never
    last_used_at: float | None = None    # last attach / kernel start / activity seen on it
    owner: str = ""                      # "cli:<pid>@host" / "daemon:<pid>@host"
    resources: dict[str, Any] = field(default_factory=dict)   # pids, container ids, k8s names
    detail: str = ""
    versions: dict[str, Any] = field(default_factory=dict)    # the cluster's python/package versions

    def age(self, now: float | None = None) -> float:
        return max(0.0, (now or time.time()) - self.started_at)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["age_seconds"] = round(self.age(), 1)
        data["connection"] = self.connection() if self.address else None
        return data

    def with_status(self, status: str, detail: str = "") -> ClusterHandle:
        return replace(self, status=status, detail=detail)

    def connection(self) -> dict[str, Any]:
        """What a notebook needs: the address, the dashboard, and a snippet ready to paste."""
        return {"address": self.address, "dashboard_url": self.dashboard_url,
                "snippet": connection_snippet(self.kind, self.address or "")}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClusterHandle:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def connection_snippet(kind: str, address: str) -> str:
    if kind == "dask":
        return f'from dask.distributed import Client\n\nclient = Client("{address}")\nclient'
    if kind == "spark":
        return ("from pyspark.sql import SparkSession\n\n"
                f'spark = SparkSession.builder.remote("{address}").getOrCreate()\nspark')
    if kind == "ray":
        return f'import ray\n\nray.init("{address}")'
    raise ClusterError(f"unknown cluster kind {kind!r}")


MEMORY_UNITS = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4,
                "ki": 1024, "mi": 1024**2, "gi": 1024**3, "ti": 1024**4,
                "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4}


def memory_bytes(text: str) -> int:
    """"2Gi" → 2147483648; "512MB" → 512000000. Raises ValueError for anything else."""
    import re

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGTkmgt]i?[Bb]?|)\s*", text)
    if not match:
        raise ValueError(f"{text!r} is not a memory size like '2Gi', '512Mi' or '4GB'")
    unit = match[2].lower()
    if unit not in MEMORY_UNITS:
        raise ValueError(f"{text!r} has an unknown unit")
    return int(float(match[1]) * MEMORY_UNITS[unit])
