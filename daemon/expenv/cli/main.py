"""`expenv` CLI entry point. Commands stay thin: parse, call one service, print."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import typer
from rich.markup import escape

from expenv import __version__
from expenv.cli.output import configure_cli_logging, emit_json, err, out, print_report

app = typer.Typer(help="expenv: ML experimentation environment (daemon, CLI, editor).", no_args_is_help=True,
                  pretty_exceptions_enable=False)
JSON = typer.Option(False, "--json", help="Print JSON (the same shape the LSP command returns).")
WORKSPACE = typer.Option(None, "--workspace", "-w", help="Workspace folder (default: nearest with expenv.toml).")


def _find_root(start: Path | None) -> Path:
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "expenv.toml").is_file():
            return folder
    return here


def _workspace(path: Path | None):
    from expenv.services.workspace import WorkspaceSet

    return WorkspaceSet().add(_find_root(path))


def workspace_services(path: Path | None, command: str):
    """The services of the workspace at (or above) `path`; exit 2, naming `command`, when its
    expenv.toml is missing or invalid."""
    ws = _workspace(path)
    if ws.services is None:
        err.print(f"[red]expenv {command}: no valid expenv.toml in {escape(str(ws.root))}[/]")
        raise typer.Exit(2)
    return ws.services


@app.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="Print the version and exit.")) -> None:
    configure_cli_logging()
    if version:
        out.print(__version__)
        raise typer.Exit()


@app.command()
def serve(
    tcp: str = typer.Option(None, "--tcp", metavar="HOST:PORT", help="Listen on loopback TCP instead of stdio."),
    token_file: Path = typer.Option(None, "--token-file", help="Where to write the TCP token (mode 0600)."),
    log_level: str = typer.Option("INFO", "--log-level", help="stderr log level."),
    stdio: bool = typer.Option(False, "--stdio", help="Speak LSP over stdio (the default; accepted because "
                               "LSP clients such as vscode-languageclient pass it)."),
) -> None:
    """Run the language-server daemon (stdio by default)."""
    if stdio and tcp is not None:
        err.print("[red]expenv serve: --stdio and --tcp exclude each other[/]")
        raise typer.Exit(2)
    from expenv.lsp import serve as lsp_serve

    if tcp is None:
        lsp_serve.serve_stdio(log_level)
        return
    host, _, port = tcp.rpartition(":")
    try:
        lsp_serve.check_loopback(host.strip("[]"))
        port_no = int(port)
    except ValueError as exc:
        err.print(f"[red]expenv serve: {escape(str(exc))}[/]")
        raise typer.Exit(2) from None
    token = os.environ.get("EXPENV_TOKEN") or secrets.token_urlsafe(32)
    if not os.environ.get("EXPENV_TOKEN"):
        path = token_file or Path.home() / ".cache" / "expenv" / f"daemon-{port_no}.token"
        try:
            lsp_serve.write_token_file(path, token)
        except OSError as exc:
            err.print(f"[red]expenv serve: cannot write the token to {escape(str(path))}: {escape(str(exc))}[/]")
            raise typer.Exit(2) from None
        err.print(f"expenv: token written to {path}; send it as initializationOptions.token")
    lsp_serve.serve_tcp(host.strip("[]"), port_no, token, log_level)


@app.command()
def status(json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """Version, parsed config, and which real parts are reachable."""
    from expenv.services.status import status_report

    report = status_report([_workspace(workspace)])
    emit_json(report) if json_out else print_report(report)


@app.command()
def doctor(json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """Check every real part; say exactly what is missing and how to fix it. Exit 1 if something required is."""
    from expenv.services.status import problems_in, status_report

    report = status_report([_workspace(workspace)], deep=True)
    missing = problems_in(report)
    if json_out:
        emit_json({**report, "missing": missing})
    else:
        print_report(report)
        for m in missing:
            err.print(f"[red]missing:[/] {escape(m['name'])}: {escape(m['detail'])}\n  [bold]fix:[/] {escape(m['fix'])}")
        if not missing:
            out.print("[green]everything expenv needs is here[/]")
    raise typer.Exit(1 if missing else 0)


@app.command()
def up(json_out: bool = JSON, workspace: Path = WORKSPACE, port: int = typer.Option(None, help="MLflow port.")) -> None:
    """Start the workspace's embedded services (the MLflow tracking server) and say how to attach an editor."""
    from expenv.services.environment import bring_up

    ws = _workspace(workspace)
    if ws.config is None:
        err.print(f"[red]expenv up: no valid expenv.toml in {escape(str(ws.root))}[/]")
        for p in ws.problems:
            err.print(escape(f"  {ws.config_path}:{p.line}:{p.column}: {p.message}"))
        raise typer.Exit(2)
    from expenv.domain.errors import ExpenvError

    try:
        with err.status("starting the embedded MLflow server…"):
            result = bring_up(ws, mlflow_port=port)
    except ExpenvError as exc:
        err.print(f"[red]expenv up: {escape(str(exc))}[/]")
        raise typer.Exit(1) from None
    if json_out:
        emit_json(result)
        return
    out.print(f"[green]expenv is up[/] for project {escape(repr(result['project']))} in {escape(result['root'])}")
    out.print(escape(f"  tracking URI: {result['tracking_uri']}"))
    for line in result["attach"]:
        out.print(escape(f"  {line}"))


@app.command()
def down(json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """Stop what `expenv up` started."""
    from expenv.services.environment import bring_down

    result = bring_down(_workspace(workspace))
    emit_json(result) if json_out else out.print(f"stopped: {', '.join(result['stopped']) or 'nothing was running'}")


example_app = typer.Typer(help="The example churn project used by demos and tests.", no_args_is_help=True)
app.add_typer(example_app, name="example")


@example_app.command("create")
def example_create(
    dest: Path,
    rows: int = typer.Option(1_000_000, help="Rows in the biggest raw dataset."),
    seed: int = typer.Option(7, help="Random seed (same seed, same data)."),
    overwrite: bool = typer.Option(False, help="Write into a non-empty folder."),
    json_out: bool = JSON,
) -> None:
    """Create the example project (data generated deterministically) in DEST."""
    from expenv.services.example import create_example

    try:
        with err.status("generating the example project…") as spinner:
            project = create_example(dest, rows=rows, seed=seed, overwrite=overwrite,
                                     progress=lambda msg: spinner.update(msg))
    except (FileExistsError, ValueError) as exc:   # a non-empty folder; --rows or --seed out of range
        err.print(f"[red]expenv example create: {escape(str(exc))}[/]")
        raise typer.Exit(2) from None
    result = {"root": str(project.root), "rows": project.rows, "files": [str(f) for f in project.files],
              "tables": project.tables}
    emit_json(result) if json_out else out.print(f"[green]example project created in {escape(str(project.root))}[/]")


from expenv.cli.ci import ci_app  # noqa: E402 - registered after the app exists
from expenv.cli.clusters import cluster_app  # noqa: E402
from expenv.cli.data import data_app  # noqa: E402
from expenv.cli.environment import images_app, kernels_app  # noqa: E402
from expenv.cli.environment import parity as parity_command  # noqa: E402
from expenv.cli.features import check as features_check  # noqa: E402
from expenv.cli.features import features_app  # noqa: E402
from expenv.cli.pipelines import pipeline_app  # noqa: E402
from expenv.cli.project import new as new_command  # noqa: E402
from expenv.cli.runs import runs_app  # noqa: E402

app.add_typer(data_app, name="data")
app.add_typer(cluster_app, name="cluster")
app.add_typer(runs_app, name="runs")
app.add_typer(pipeline_app, name="pipeline")
app.add_typer(features_app, name="features")
app.command("check")(features_check)
app.command("parity")(parity_command)
app.command("new")(new_command)
app.add_typer(kernels_app, name="kernels")
app.add_typer(images_app, name="images")
app.add_typer(ci_app, name="ci")


def main() -> None:
    app(prog_name="expenv")


if __name__ == "__main__":
    sys.exit(main())
