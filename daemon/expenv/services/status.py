"""`expenv status` and `expenv doctor`: one report over every workspace and real part."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from expenv import __version__
from expenv.domain.secrets import redact, redact_data
from expenv.domain.status import PartStatus
from expenv.services import probes
from expenv.services.ci.promotion_record import workspace_last_promotion
from expenv.services.repository.stage import branch_stage
from expenv.services.workspace import Workspace


def _workspace_parts(ws: Workspace) -> list[PartStatus]:
    if ws.services is None:
        return []
    return [ws.services.tracking.probe(), probes.feast_repo(ws.services.config)]


def runtime() -> dict[str, Any]:
    """Where this process runs: its Python, and whether that is a container (a devcontainer from
    the production image says which image: EXPENV_PRODUCTION_IMAGE is set by its Dockerfile)."""
    image = os.environ.get("EXPENV_PRODUCTION_IMAGE") or None
    container = bool(image or os.environ.get("REMOTE_CONTAINERS") or os.environ.get("CODESPACES")
                     or Path("/.dockerenv").exists() or Path("/run/.containerenv").exists())
    return {"python": sys.executable, "container": container, "production_image": image}


def summarise(report: dict[str, Any]) -> str:
    """One line for a notification: where the daemon runs, and which parts do not answer."""
    where = report["runtime"]
    place = (f"in the devcontainer of {where['production_image']}" if where["production_image"]
             else "in a container" if where["container"] else "on the host")
    missing = problems_in(report)
    failing = [p["name"] for p in missing if p["name"] != "config"]
    errors = len(missing) - len(failing)
    health = ", ".join(f"{name} not ok" for name in dict.fromkeys(failing)) or "every required part ok"
    if errors:
        health += f", {errors} config error{'s' if errors > 1 else ''}"
    count = len(report["workspaces"])
    return (f"expenv {report['version']} on {where['python']} {place}; {count} workspace{'s' if count != 1 else ''}; "
            f"{health}")


def status_report(workspaces: list[Workspace], deep: bool = False) -> dict[str, Any]:
    """Version, each workspace's parsed config and problems, and which real parts answer.

    Probes run in parallel so one slow part does not add to the others. `deep` adds the
    checks doctor makes (Python packages, tools).
    """
    with ThreadPoolExecutor(max_workers=4) as pool:
        machine = [pool.submit(probes.docker_engine), pool.submit(probes.kube_context)]
        per_ws = [pool.submit(_workspace_parts, ws) for ws in workspaces]
        promotions = [pool.submit(workspace_last_promotion, ws.root, ws.services) for ws in workspaces]
        parts = {p.name: p.as_dict() for p in (f.result() for f in machine)}
        if deep:
            parts.update({p.name: p.as_dict() for p in probes.python_packages() + probes.tools()})
        described = []
        for ws, fut, promotion in zip(workspaces, per_ws, promotions):
            entry = ws.describe()
            entry["parts"] = {p.name: p.as_dict() for p in fut.result()}
            entry["tracking_uri"] = redact(ws.services.tracking.uri()) if ws.services else None
            entry["clusters"] = ws.services.clusters.recorded() if ws.services else []
            entry["stage"] = branch_stage(ws.root)
            entry["last_promotion"] = promotion.result()
            described.append(entry)
    report = {"version": __version__, "runtime": runtime(), "workspaces": described, "parts": parts}
    report["summary"] = summarise(report)
    return redact_data(report)  # part details quote hosts and URLs, which may carry credentials


def problems_in(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every required part that is not ok, and every config error, for doctor's exit code."""
    out = [p for p in report["parts"].values() if not p["ok"] and p["required"]]
    for ws in report["workspaces"]:
        out += [p for p in ws["parts"].values() if not p["ok"] and p["required"]]
        out += [{"name": "config", "ok": False, "detail": f"{ws['config_file']}:{p['line']}:{p['column']}: "
                 f"{p['message']}", "fix": "edit expenv.toml", "required": True}
                for p in ws["problems"] if p["severity"] == "error"]
    return out
