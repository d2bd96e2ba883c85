"""`expenv runs ls|show|compare`: the workspace's MLflow runs, the same JSON as the LSP commands."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from expenv.cli.output import emit_json, err, out

runs_app = typer.Typer(help="Tracked runs: ls, show, compare.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON (the same shape the LSP command returns).")
WORKSPACE = typer.Option(None, "--workspace", "-w", help="Workspace folder (default: nearest with expenv.toml).")


def _tracking(workspace: Path | None):
    from expenv.cli.main import _workspace

    ws = _workspace(workspace)
    if ws.services is None:
        err.print(f"[red]expenv runs: no valid expenv.toml in {escape(str(ws.root))}[/]")
        raise typer.Exit(2)
    return ws.services.tracking


def _call(fn, *args, **kwargs):
    from expenv.domain.errors import ExpenvError

    try:
        return fn(*args, **kwargs)
    except ExpenvError as exc:
        err.print(f"[red]expenv runs: {escape(str(exc))}[/]")
        raise typer.Exit(1) from None


def _when(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M") if ms else ""


@runs_app.command("ls")
def runs_ls(branch: str = typer.Option(None), pipeline: str = typer.Option(None), status: str = typer.Option(None),
            experiment: str = typer.Option(None), max_results: int = typer.Option(100, "--max"),
            json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """Runs of the project's experiment, newest first."""
    from expenv.domain.data import to_json

    found = _call(_tracking(workspace).runs, branch=branch, pipeline=pipeline, status=status,
                  experiment=experiment, max_results=max_results)
    if json_out:
        emit_json(to_json(found))
        return
    table = Table(title=f"{len(found)} runs")
    for column in ("run", "status", "started", "runner", "branch", "pipeline", "metrics"):
        table.add_column(column)
    for r in found:
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in sorted(r.metrics.items())[:4])
        table.add_row(r.run_id[:8], r.status, _when(r.start_time), r.tags.get("expenv.runner", ""),
                      r.tags.get("mlflow.source.git.branch", ""), r.tags.get("expenv.pipeline", ""), metrics)
    out.print(table)


@runs_app.command("show")
def runs_show(run_id: str, json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """One run: params, metrics, tags, artifacts, models."""
    from expenv.domain.data import to_json

    run = _call(_tracking(workspace).run, run_id)
    if json_out:
        emit_json(to_json(run))
        return
    out.print(f"[bold]{run.run_id}[/] {run.status} {escape(run.url)}")
    for title, values in (("params", run.params), ("metrics", run.metrics), ("tags", run.tags)):
        out.print(f"[bold]{title}[/]")
        for k, v in sorted(values.items()):
            out.print(escape(f"  {k} = {v}"))


@runs_app.command("compare")
def runs_compare(run_ids: list[str], json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """Params and metrics of two or more runs side by side."""
    from expenv.domain.data import to_json

    comparison = _call(_tracking(workspace).compare, run_ids)
    if json_out:
        emit_json(to_json(comparison))
        return
    table = Table(title="compare")
    table.add_column("")
    for rid in comparison.run_ids:
        table.add_column(rid[:8])
    for kind, rows in (("param", comparison.params), ("metric", comparison.metrics)):
        for name, values in rows.items():
            mark = " *" if name in comparison.differing_params else ""
            table.add_row(escape(f"{kind}: {name}{mark}"), *[escape(str(values[r])) for r in comparison.run_ids])
    out.print(table)
