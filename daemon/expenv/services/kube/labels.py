"""Labels, names and quantities shared by every manifest expenv renders."""

from __future__ import annotations

import re

from expenv.domain.clusters import LABEL_WORKSPACE, MANAGED_BY

OURS = {MANAGED_BY[0]: MANAGED_BY[1]}


def common_labels(workspace: str, **more: str) -> dict[str, str]:
    """managed-by + workspace + the given expenv.* labels (keys without the prefix: cluster=, run=)."""
    labels = {**OURS, LABEL_WORKSPACE: workspace}
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


_MEMORY = re.compile(r"^(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>[KMGT]i?|k)?B?$", re.IGNORECASE)


def cpu_quantity(cores: float) -> str:
    """Kubernetes CPU quantity for `cores` ("2", "500m")."""
    milli = round(float(cores) * 1000)
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def memory_quantity(memory: str) -> str:
    """A Kubernetes quantity from "2Gi", "512Mi", "2GB" or "2gib" ("2Gi", "512Mi", "2G")."""
    match = _MEMORY.match(str(memory).strip())
    if not match:
        raise ValueError(f"memory {memory!r} is not a size such as '2Gi' or '512Mi'")
    unit = (match["unit"] or "")
    unit = unit[0].upper() + unit[1:].lower() if unit else ""
    return f"{match['n']}{'k' if unit == 'K' else unit}"


def spark_memory(memory: str, share: float = 1.0) -> str:
    """`share` of the size, as Spark writes sizes ("2048m"), in whole mebibytes."""
    from expenv.domain.clusters import memory_bytes

    return f"{max(int(memory_bytes(memory) * share) // 2**20, 1)}m"


def resources(cores: float | None, memory: str | None) -> dict:
    """A container's `resources`: requests equal limits, so a worker gets what its profile says."""
    amounts: dict[str, str] = {}
    if cores is not None:
        amounts["cpu"] = cpu_quantity(cores)
    if memory is not None:
        amounts["memory"] = memory_quantity(memory)
    return {"requests": dict(amounts), "limits": dict(amounts)} if amounts else {}
