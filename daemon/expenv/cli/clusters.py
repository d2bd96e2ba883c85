"""`expenv cluster up|ls|scale|down|render|attach`: the cluster service from a terminal or CI.
`--json` prints what the LSP commands `expenv.clusters.*` return."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import typer
from rich.markup import escape
from rich.table import Table

from expenv.cli import environment
from expenv.cli.output import emit_json, err, out

cluster_app = typer.Typer(help="Compute clusters (Dask, Spark Connect, Ray): up, ls, scale, down, render, attach.",
                          no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON (the same shape the LSP command returns).")
WORKSPACE = typer.Option(None, "--workspace", "-w", help="Workspace folder (default: nearest with expenv.toml).")


def _clusters(command: str, workspace: Path | None):
    from expenv.services.workspace import WorkspaceSet

    here = (workspace or Path.cwd()).resolve()
    root = next((f for f in (here, *here.parents) if (f / "expenv.toml").is_file()), here)
    ws = WorkspaceSet().add(root)
    if ws.services is None:
        problems = "; ".join(f"{ws.config_path}:{p.line}:{p.column}: {p.message}" for p in ws.problems)
        _fail(command, f"no valid expenv.toml in {ws.root}" + (f": {problems}" if problems else ""))
    return ws.services.clusters


def _fail(command: str, message: str) -> None:
    environment._fail(f"cluster {command}", message)


def _call(command: str, fn: Callable[[], Any]) -> Any:
    return environment._call(f"cluster {command}", fn)


def _age(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


def _print_connection(data: dict[str, Any]) -> None:
    out.print(f"[green]cluster {escape(data['id'])}[/] ({data['kind']} on {data['backend']}) is {data['status']}")
    out.print(escape(f"  address:   {data['address']}"))
    if data.get("dashboard_url"):
        out.print(escape(f"  dashboard: {data['dashboard_url']}"))
    check = data.get("version_check") or {}
    if check.get("detail"):
        colour = "yellow" if check.get("ok") is False else "dim"
        out.print(f"  [{colour}]{escape(check['detail'])}[/]")
    if data.get("cell"):
        out.print("  paste into the notebook:\n" + escape("\n".join("    " + line for line in data["cell"].splitlines())))


@cluster_app.command("up")
def up(profile: str = typer.Argument(..., help="A [clusters.NAME] profile of expenv.toml."),
       reuse: bool = typer.Option(False, "--reuse", help="Return a running cluster of the profile if there is one."),
       python: str = typer.Option(None, "--python", help="The kernel interpreter to compare versions with."),
       json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """Launch a cluster of PROFILE; it keeps running after this command returns. Ctrl-C cancels and
    removes everything the launch started."""
    clusters = _clusters("up", workspace)
    with err.status(f"launching {escape(profile)}…") as status:
        handle = _call("up", lambda: clusters.launch(profile, progress=lambda m: status.update(escape(m)),
                                                     reuse=reuse))
        data = clusters.report(handle, python)
    emit_json(data) if json_out else _print_connection(data)


@cluster_app.command("attach")
def attach(target: str = typer.Argument(..., help="A running cluster id, or a profile (launched if none runs)."),
           python: str = typer.Option(None, "--python", help="The kernel interpreter to compare versions with."),
           json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """The connection cell for a notebook, and where the kernel's packages differ from the cluster's."""
    clusters = _clusters("attach", workspace)
    with err.status(f"attaching {escape(target)}…") as status:
        data = _call("attach", lambda: clusters.attach(target, python, progress=lambda m: status.update(escape(m))))
    emit_json(data) if json_out else _print_connection(data)


@cluster_app.command("ls")
def ls(json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """Every cluster of the workspace, live (also those another expenv process started, and orphans)."""
    data = _call("ls", lambda: _clusters("ls", workspace).listing())
    if json_out:
        return emit_json(data)
    for problem in data["problems"]:
        err.print(f"[yellow]{escape(problem)}[/]")
    if not data["clusters"]:
        return out.print("no clusters")
    table = Table(title="clusters")
    for column in ("id", "profile", "kind", "backend", "status", "workers", "address", "dashboard", "age", "detail"):
        table.add_column(column, overflow="fold")
    for c in data["clusters"]:
        colour = {"running": "green", "failed": "red", "orphan": "yellow"}.get(c["status"], "white")
        workers = f"{c['workers_alive']}" + (f" ({c['workers_lost']} lost)" if c["workers_lost"] else "")
        table.add_row(c["id"], c["profile"], c["kind"], c["backend"], f"[{colour}]{c['status']}[/]", workers,
                      escape(c["address"] or ""), escape(c["dashboard_url"] or ""), _age(c["age_seconds"]),
                      escape(c["detail"]))
    out.print(table)


@cluster_app.command("scale")
def scale(cluster_id: str = typer.Argument(..., help="The cluster id (from `expenv cluster ls`)."),
          workers: int = typer.Argument(..., help="How many workers it should have."),
          json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """Add or remove workers."""
    clusters = _clusters("scale", workspace)
    with err.status(f"scaling {escape(cluster_id)} to {workers} worker(s)…"):
        handle = _call("scale", lambda: clusters.scale(cluster_id, workers))
    data = handle.as_dict()
    emit_json(data) if json_out else out.print(f"{escape(handle.id)}: {handle.workers_alive} worker(s) alive")


@cluster_app.command("down")
def down(cluster_id: str = typer.Argument(None, help="The cluster id (from `expenv cluster ls`)."),
         all_: bool = typer.Option(False, "--all", help="Stop every cluster of the workspace, orphans too."),
         json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """Stop a cluster (or all of them): nothing of it keeps running."""
    if bool(cluster_id) == all_:
        _fail("down", "give a cluster id or --all (not both)")
    clusters = _clusters("down", workspace)
    started = time.monotonic()
    with err.status("stopping…"):
        stopped = _call("down", lambda: clusters.stop_all() if all_ else [clusters.stop(cluster_id)])
    data = {"stopped": [h.id for h in stopped]}
    if json_out:
        return emit_json(data)
    out.print(f"stopped: {', '.join(data['stopped']) or 'nothing was running'} "
              f"({time.monotonic() - started:.1f} s)")


@cluster_app.command("render")
def render(profile: str = typer.Argument(..., help="A [clusters.NAME] profile of expenv.toml."),
           json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """Print the Kubernetes manifests a launch of PROFILE would apply (none for local and docker)."""
    manifests = _call("render", lambda: _clusters("render", workspace).render(profile))
    if json_out:
        return emit_json({"profile": profile, "manifests": manifests})
    if not manifests:
        return err.print(f"profile {escape(profile)} applies no Kubernetes manifests (not a kubernetes backend)")
    import yaml

    out.print(escape(yaml.safe_dump_all(manifests, sort_keys=False)), end="")
