"""`expenv pipeline ls|submit|status|logs|cancel|rerun|render`: the pipeline service, the same
JSON as the LSP commands `expenv.pipelines.*`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from expenv.cli.output import emit_json, err, out

pipeline_app = typer.Typer(help="Pipelines: ls, submit, status, logs, cancel, rerun, render.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON (the same shape the LSP command returns).")
WORKSPACE = typer.Option(None, "--workspace", "-w", help="Workspace folder (default: nearest with expenv.toml).")
PARAM = typer.Option(None, "--param", "-p", metavar="NAME=VALUE",
                     help="A step parameter (NAME for every step declaring it, STEP.NAME for one); repeatable.")


def _service(workspace: Path | None):
    from expenv.cli.main import _workspace

    ws = _workspace(workspace)
    if ws.services is None:
        err.print(f"[red]expenv pipeline: no valid expenv.toml in {escape(str(ws.root))}[/]")
        for p in ws.problems:
            err.print(escape(f"  {ws.config_path}:{p.line}:{p.column}: {p.message}"))
        raise typer.Exit(2)
    return ws.services.pipelines


def _call(fn, *args, **kwargs):
    from expenv.domain.errors import ExpenvError
    from expenv.domain.secrets import redact

    try:
        return fn(*args, **kwargs)
    except ExpenvError as exc:
        err.print(f"[red]expenv pipeline: {escape(redact(str(exc)))}[/]")
        raise typer.Exit(1) from None


def parse_params(items: list[str] | None) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            err.print(f"[red]expenv pipeline: --param {escape(item)!r} must be NAME=VALUE[/]")
            raise typer.Exit(2)
        params[name.strip()] = value
    return params


def run_json(run) -> dict[str, Any]:
    return run.as_dict()


def _print_run(run) -> None:
    colour = {"FINISHED": "green", "FAILED": "red", "CANCELLED": "yellow"}.get(run.status, "cyan")
    out.print(f"[bold]{escape(run.id)}[/] [{colour}]{run.status}[/] {escape(run.pipeline)} on {escape(run.target)} "
              f"({run.backend}) commit {escape((run.commit or '')[:10])}" + (" +patch" if run.patch else ""))
    for step in run.steps:
        out.print(escape(f"  {step.name}: {step.status}" + (f" (exit {step.exit_code})" if step.exit_code else "")
                         + (f" — {step.detail}" if step.detail else "")))
    if run.detail:
        out.print(escape(f"  {run.detail}"))
    if run.mlflow_url or run.mlflow_run_id:
        out.print(escape(f"  MLflow run {run.mlflow_run_id} {run.mlflow_url or ''}"))


@pipeline_app.command("ls")
def pipeline_ls(json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """Declared pipelines and targets, and the workspace's runs (newest first)."""
    service = _service(workspace)
    result = {"pipelines": service.pipelines(), "targets": service.targets(),
              "runs": [run_json(r) for r in _call(service.runs)]}
    if json_out:
        emit_json(result)
        return
    for p in result["pipelines"]:
        out.print(f"[bold]{escape(p['name'])}[/]: " + escape(" → ".join(s["name"] for s in p["steps"])))
    out.print("targets: " + escape(", ".join(f"{t['name']} ({t['backend']})" for t in result["targets"])))
    table = Table(title=f"{len(result['runs'])} runs")
    for column in ("run", "status", "target", "commit", "mlflow"):
        table.add_column(column)
    for r in result["runs"]:
        table.add_row(escape(r["id"]), r["status"], escape(r["target"]), (r["commit"] or "")[:10],
                      r["mlflow_run_id"] or "")
    out.print(table)


def _follow(service, run_id: str):
    def line(step: str, text: str) -> None:
        err.print(escape(f"[{step}] {text}"), highlight=False)

    return _call(service.wait, run_id, line)


@pipeline_app.command("submit")
def pipeline_submit(name: str, target: str = typer.Option(..., "--target", "-t", help="A [targets.NAME]."),
                    param: list[str] = PARAM, wait: bool = typer.Option(False, "--wait", help="Follow to the end."),
                    allow_drift: bool = typer.Option(False, "--allow-drift",
                                                     help="Submit to a production-like target despite parity drift "
                                                          "(recorded on the run)."),
                    parity: str = typer.Option("kernel", "--parity",
                                               help="Compare the image with the kernel (kernel), or with the "
                                                    "requirements lock (lock: CI, whose runner is no kernel)."),
                    json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """Submit pipeline NAME to a target. Exit 1 when --wait and the run does not finish."""
    service = _service(workspace)
    with err.status("submitting…") as spinner:
        run = _call(service.submit, name, target, parse_params(param), allow_drift,
                    lambda m: spinner.update(escape(m)), parity=parity)
    _done(service, run, wait, json_out)


def _done(service, run, wait: bool, json_out: bool) -> None:
    if wait:
        run = _follow(service, run.id)
    emit_json(run_json(run)) if json_out else _print_run(run)
    if wait and run.status != "FINISHED":
        raise typer.Exit(1)


@pipeline_app.command("status")
def pipeline_status(run_id: str, json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """A run and its steps (a run whose driver died is marked FAILED)."""
    run = _call(_service(workspace).status, run_id)
    emit_json(run_json(run)) if json_out else _print_run(run)


@pipeline_app.command("logs")
def pipeline_logs(run_id: str, follow: bool = typer.Option(False, "--follow", "-f", help="Until the run ends."),
                  json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """Step logs (kept after the run), in step order."""
    service = _service(workspace)
    lines = _call(service.logs, run_id, follow)
    if json_out:
        emit_json({"run": run_id, "lines": [{"step": s, "line": t} for s, t in _call(list, lines)]})
        return
    for step, text in _call(list, lines) if not follow else lines:
        out.print(escape(f"[{step}] {text}"), highlight=False)


@pipeline_app.command("cancel")
def pipeline_cancel(run_id: str, json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """Stop a run's steps (containers, processes) and mark it CANCELLED."""
    run = _call(_service(workspace).cancel, run_id)
    emit_json(run_json(run)) if json_out else _print_run(run)


@pipeline_app.command("rerun")
def pipeline_rerun(run_id: str, wait: bool = typer.Option(False, "--wait"),
                   allow_drift: bool = typer.Option(False, "--allow-drift"),
                   json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """Submit a run again: same commit (and patch), parameters and image digest."""
    service = _service(workspace)
    run = _call(service.rerun, run_id, None, allow_drift)
    _done(service, run, wait, json_out)


@pipeline_app.command("render")
def pipeline_render(name: str, target: str = typer.Option(..., "--target", "-t"), param: list[str] = PARAM,
                    json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """What a submission would create (kubernetes manifests; step commands elsewhere)."""
    import json

    docs = _call(_service(workspace).render, name, target, parse_params(param))
    emit_json({"pipeline": name, "target": target, "resources": docs}) if json_out else out.print(
        escape(json.dumps(docs, indent=2, default=str)))
