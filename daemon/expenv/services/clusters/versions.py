"""Same environment, checked: where the kernel's packages differ from the cluster's.

Dask reports its scheduler's and workers' versions (`get_versions`); Spark Connect reports the
server's Spark version; Ray its nodes' Ray (which a client must match exactly); all report
Python. A kernel that differs would fail later with pickling or protocol errors, so launch and
attach say which packages differ instead.
"""

from __future__ import annotations

import re
from typing import Any

# What decides whether a kernel and a cluster can exchange work, by engine.
CHECKED = {
    "dask": ("dask", "distributed", "cloudpickle", "msgpack", "toolz", "tornado", "numpy", "pandas", "pyarrow",
             "lz4"),
    "spark": ("pyspark",),
    "ray": ("ray",),
}


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _minor(version: str | None) -> str | None:
    return ".".join(version.split(".")[:2]) if version else None


def differences(kind: str, kernel_python: str, kernel_packages: dict[str, str],
                cluster: dict[str, Any]) -> list[dict[str, Any]]:
    """[{package, kernel, cluster}] for each checked package (and Python's minor version) that differs."""
    found = []
    if cluster.get("python") and _minor(cluster["python"]) != _minor(kernel_python):
        found.append({"package": "python", "kernel": kernel_python, "cluster": cluster["python"]})
    packages = {_canon(k): v for k, v in (cluster.get("packages") or {}).items()}
    kernel = {_canon(k): v for k, v in kernel_packages.items()}
    for name in CHECKED.get(kind, ()):
        theirs = packages.get(name)
        if theirs is None:
            continue
        ours = kernel.get(name)
        # Spark Connect: the client's pyspark must match the server's major.minor.
        same = _minor(ours) == _minor(theirs) if kind == "spark" else ours == theirs
        if not same:
            found.append({"package": name, "kernel": ours, "cluster": theirs})
    return found


def check(kind: str, python: str, cluster: dict[str, Any]) -> dict[str, Any]:
    """The version report of a kernel interpreter against a cluster: {python, ok, differences, detail}."""
    from expenv.services.parity.snapshot import ParityError, kernel_snapshot

    if not cluster or cluster.get("error"):
        return {"python": python, "ok": None, "differences": [],
                "detail": f"the cluster did not report its versions: {cluster.get('error', 'nothing reported')}"}
    try:
        snapshot = kernel_snapshot(python, timeout=60)
    except ParityError as exc:
        return {"python": python, "ok": None, "differences": [], "detail": str(exc)}
    found = differences(kind, snapshot.python, snapshot.packages, cluster)
    detail = ("kernel and cluster agree on " + ", ".join(("python", *CHECKED.get(kind, ()))[:4]) + "…" if not found
              else "kernel and cluster differ: " + ", ".join(
                  f"{d['package']} {d['kernel'] or 'missing'} (kernel) vs {d['cluster']} (cluster)" for d in found))
    return {"python": python, "ok": not found, "differences": found, "detail": detail}
