"""`expenv status` and `expenv doctor`: one report over every workspace and real part."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from expenv import __version__
from expenv.domain.secrets import redact
from expenv.domain.status import PartStatus
from expenv.services import probes
from expenv.services.workspace import Workspace


def _workspace_parts(ws: Workspace) -> list[PartStatus]:
    if ws.services is None:
        return []
    return [ws.services.tracking.probe(), probes.feast_repo(ws.services.config)]


def status_report(workspaces: list[Workspace], deep: bool = False) -> dict[str, Any]:
    """Version, each workspace's parsed config and problems, and which real parts answer.

    Probes run in parallel so one slow part does not add to the others. `deep` adds the
    checks doctor makes (Python packages, tools).
    """
    with ThreadPoolExecutor(max_workers=4) as pool:
        machine = [pool.submit(probes.docker_engine), pool.submit(probes.kube_context)]
        per_ws = [pool.submit(_workspace_parts, ws) for ws in workspaces]
        parts = {p.name: p.as_dict() for p in (f.result() for f in machine)}
        if deep:
            parts.update({p.name: p.as_dict() for p in probes.python_packages() + probes.tools()})
        described = []
        for ws, fut in zip(workspaces, per_ws):
            entry = ws.describe()
            entry["parts"] = {p.name: p.as_dict() for p in fut.result()}
            entry["tracking_uri"] = redact(ws.services.tracking.uri()) if ws.services else None
            described.append(entry)
    return {"version": __version__, "workspaces": described, "parts": parts}


def problems_in(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every required part that is not ok, and every config error, for doctor's exit code."""
    out = [p for p in report["parts"].values() if not p["ok"] and p["required"]]
    for ws in report["workspaces"]:
        out += [p for p in ws["parts"].values() if not p["ok"] and p["required"]]
        out += [{"name": "config", "ok": False, "detail": f"{ws['config_file']}:{p['line']}:{p['column']}: "
                 f"{p['message']}", "fix": "edit expenv.toml", "required": True}
                for p in ws["problems"] if p["severity"] == "error"]
    return out
