"""Labels, names and quantities shared by every manifest expenv renders."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

MANAGED_BY = "app.kubernetes.io/managed-by"
WORKSPACE = "expenv.workspace"
CLUSTER = "expenv.cluster"
PROFILE = "expenv.profile"
RUN = "expenv.run"
OURS = {MANAGED_BY: "expenv"}


def workspace_label(root: Path | str) -> str:
    """The value of `expenv.workspace`: stable for a workspace folder, short, label-safe."""
    return hashlib.sha1(str(root).encode()).hexdigest()[:12]


def common_labels(workspace: str, **more: str) -> dict[str, str]:
    """managed-by + workspace + the given expenv.* labels (keys without the prefix)."""
    labels = {**OURS, WORKSPACE: workspace}
    labels.update({f"expenv.{key}": label_value(value) for key, value in more.items()})
    return labels


def matches(labels: dict | None, wanted: dict[str, str]) -> bool:
    """Whether `labels` hold every wanted pair (a selector checked on our side too)."""
    labels = labels or {}
    return all(labels.get(k) == v for k, v in wanted.items())


def selector(wanted: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(wanted.items()))


_NOT_DNS = re.compile(r"[^a-z0-9-]+")
_NOT_LABEL = re.compile(r"[^A-Za-z0-9_.-]+")


def dns_name(text: str, limit: int = 63) -> str:
    """A DNS-1123 label made from `text` (lower case, '-' for the rest, trimmed)."""
    name = _NOT_DNS.sub("-", text.lower()).strip("-")[:limit].strip("-")
    return name or "x"


def label_value(text: str) -> str:
    """A valid label value: at most 63 characters, alphanumeric at both ends."""
    return _NOT_LABEL.sub("-", str(text))[:63].strip("-_.")


_MEMORY = re.compile(r"^(?P<n>\d+(?:\.\d+)?)(?P<unit>Ki|Mi|Gi|Ti|K|M|G|T|k)?$")


def cpu_quantity(cores: float) -> str:
    """Kubernetes CPU quantity for `cores` ("2", "500m")."""
    milli = round(float(cores) * 1000)
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def memory_quantity(memory: str) -> str:
    """Check a memory quantity such as "2Gi" or "512Mi" and return it unchanged."""
    if not _MEMORY.match(str(memory)):
        raise ValueError(f"memory {memory!r} is not a Kubernetes quantity such as '2Gi' or '512Mi'")
    return str(memory)


def resources(cores: float | None, memory: str | None) -> dict:
    """A container's `resources`: requests equal limits, so a worker gets what its profile says."""
    amounts: dict[str, str] = {}
    if cores is not None:
        amounts["cpu"] = cpu_quantity(cores)
    if memory is not None:
        amounts["memory"] = memory_quantity(memory)
    return {"requests": dict(amounts), "limits": dict(amounts)} if amounts else {}
