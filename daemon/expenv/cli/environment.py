"""`expenv parity` and `expenv kernels ls|start|stop|restart|interrupt`: the environment service
from a terminal or CI. `--json` prints what the LSP commands `expenv.environment.*` return."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import typer
from rich.markup import escape
from rich.table import Table

from expenv.cli.output import emit_json, err, out

kernels_app = typer.Typer(help="Notebook kernels in the production Python: ls, start, stop, restart, interrupt.",
                          no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON (the same shape the LSP command returns).")
WORKSPACE = typer.Option(None, "--workspace", "-w", help="Workspace folder (default: nearest with expenv.toml).")
KERNEL_ID = typer.Argument(..., help="The kernel id (from `expenv kernels ls`).")


def _workspace(workspace: Path | None):
    from expenv.services.workspace import WorkspaceSet

    here = (workspace or Path.cwd()).resolve()
    root = next((f for f in (here, *here.parents) if (f / "expenv.toml").is_file()), here)
    return WorkspaceSet().add(root)


def _fail(command: str, message: str, code: int = 2) -> None:
    err.print(f"[red]expenv {command}: {escape(message)}[/]")
    raise typer.Exit(code)


def _call(command: str, fn: Callable[[], Any]) -> Any:
    from expenv.domain.errors import ExpenvError

    try:
        return fn()
    except ExpenvError as exc:
        _fail(command, str(exc))


def parity(
    json_out: bool = JSON,
    image: str = typer.Option(None, "--image", help="Production image (default: [environment] production_image)."),
    python: str = typer.Option(None, "--python", help="The kernel's interpreter (default: the one expenv starts "
                               "kernels with: $EXPENV_KERNEL_PYTHON, /opt/venv/bin/python, else this venv's)."),
    kernel: str = typer.Option(None, "--kernel", help="Check a running kernel's interpreter (an id from kernels ls)."),
    refresh: bool = typer.Option(False, "--refresh", help="Read the image again instead of its cached snapshot."),
    workspace: Path = WORKSPACE,
) -> None:
    """Compare the kernel's environment with the production image's. Exit 1 when they differ."""
    from expenv.services.parity import check_parity, check_workspace_parity
    from expenv.services.kernels.spec import default_python

    ws = _workspace(workspace)
    if kernel:
        python = _call("parity", lambda: _kernels(ws).get(kernel).python)
    with err.status("comparing the kernel with the production image…"):
        if ws.config is not None:
            report = _call("parity", lambda: check_workspace_parity(ws.config, image, python, refresh))
        elif image:
            report = _call("parity", lambda: check_parity(image, python or default_python(),
                                                          ws.root / ".expenv" / "parity", refresh))
        else:
            _fail("parity", f"no valid expenv.toml in {ws.root}: pass --image")
    if json_out:
        emit_json(report.as_dict())
    else:
        _print_report(report)
    raise typer.Exit(0 if report.ok else 1)


def _print_report(report) -> None:
    colour = "green" if report.ok else "yellow"
    out.print(f"[{colour}]{escape(report.summary())}[/]")
    out.print(escape(f"  kernel {report.kernel_python} · image {report.image} ({report.image_id[:19]})"
                     + (" · image snapshot cached" if report.image_snapshot_cached else "")))
    rows = [("not in the image (installed by hand?)", d.name, d.kernel or "", d.image or "", d.requirement or "")
            for d in report.missing_in_image]
    rows += [("other version", d.name, d.kernel or "", d.image or "", d.requirement or "") for d in report.version_drift]
    rows += [("missing in the kernel", d.name, "", d.image or "", "") for d in report.missing_in_kernel]
    rows += [("platform", d.name, d.kernel or "", d.image or "", "")
             for d in ([report.python] if report.python else []) + report.os_drift]
    if rows:
        table = Table()
        for column in ("difference", "name", "kernel", "image", "add to requirements"):
            table.add_column(column)
        for row in rows:
            table.add_row(*(escape(c) for c in row))
        out.print(table)
    if report.dev_tools:
        out.print(escape(f"  devcontainer tools (not drift): {', '.join(report.dev_tools)}"))


def _kernels(ws):
    """The workspace's kernel service (the composition root's); a folder without a valid
    expenv.toml still has kernels, told nothing about tracking."""
    if ws.services is not None:
        return ws.services.kernels
    from expenv.services.kernels import NotebookKernels

    return NotebookKernels(ws.root / ".expenv", workspace=ws.root)


def _print_kernels(records) -> None:
    table = Table(title="kernels")
    for column in ("id", "state", "pid", "python", "started", "detail"):
        table.add_column(column, overflow="fold")
    for r in records:
        colour = {"alive": "green", "dead": "red"}.get(r.state, "yellow")
        started = time.strftime("%H:%M:%S", time.localtime(r.started_at)) if r.started_at else ""
        table.add_row(r.id, f"[{colour}]{r.state}[/]", str(r.pid), escape(r.python), started, escape(r.detail))
    out.print(table)


@kernels_app.command("ls")
def kernels_ls(json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """The workspace's kernels, alive or dead (a dead one says how it ended)."""
    records = _call("kernels ls", lambda: _kernels(_workspace(workspace)).list())
    if json_out:
        return emit_json({"kernels": [r.as_dict() for r in records]})
    _print_kernels(records) if records else out.print("no kernels")


@kernels_app.command("start")
def kernels_start(
    python: str = typer.Option(None, "--python", help="Interpreter (default: the production Python)."),
    cluster_address: str = typer.Option(None, "--cluster-address", help="Handed to the kernel as "
                                        "EXPENV_CLUSTER_ADDRESS."),
    cluster: str = typer.Option(None, "--cluster", help="A running cluster id or a profile (launched when none "
                                "runs): its address goes into the kernel's EXPENV_CLUSTER_ADDRESS."),
    json_out: bool = JSON,
    workspace: Path = WORKSPACE,
) -> None:
    """Start a kernel (it keeps running after this command returns)."""
    ws = _workspace(workspace)
    if cluster:
        if cluster_address:
            _fail("kernels start", "give --cluster or --cluster-address, not both")
        if ws.services is None:
            _fail("kernels start", f"--cluster needs a valid expenv.toml in {ws.root}")
        cluster_address = _call("kernels start", lambda: ws.services.clusters.attach(cluster, python))["address"]
    record = _call("kernels start", lambda: _kernels(ws).start(python, cluster_address))
    if json_out:
        return emit_json(record.as_dict())
    if record.state != "alive":
        _fail("kernels start", record.detail, 1)
    out.print(f"[green]kernel {record.id} started[/] (pid {record.pid}, {escape(record.python)})")
    out.print(escape(f"  connect: jupyter console --existing {record.connection_file}"))


def _one(verb: str, action: Callable[[Any, str], Any]) -> Callable[..., None]:
    def command(kernel_id: str = KERNEL_ID, json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
        record = _call(f"kernels {verb}", lambda: action(_kernels(_workspace(workspace)), kernel_id))
        if json_out:
            return emit_json(record.as_dict())
        out.print(f"kernel {record.id}: {record.state}" + (f" ({escape(record.detail)})" if record.detail else ""))

    command.__name__ = f"kernels_{verb}"
    return command


kernels_app.command("stop", help="Shut a kernel down (asks it, then signals) and forget it.")(
    _one("stop", lambda k, i: k.stop(i)))
kernels_app.command("restart", help="Restart a kernel, alive or dead (same id and connection file).")(
    _one("restart", lambda k, i: k.restart(i)))
kernels_app.command("interrupt", help="Interrupt what the kernel is running (SIGINT).")(
    _one("interrupt", lambda k, i: k.interrupt(i)))


images_app = typer.Typer(help="Images: the base, the production image and the devcontainer (local engine, "
                         "no registry).", no_args_is_help=True)


@images_app.command("build")
def images_build(
    dev: bool = typer.Option(True, "--dev/--no-dev", help="Also build the devcontainer image (TAG-dev)."),
    force: bool = typer.Option(False, "--force", help="Rebuild even when an image of the same recipe exists."),
    json_out: bool = JSON,
    workspace: Path = WORKSPACE,
) -> None:
    """Build the base (expenv-base:bookworm, or pull the one the Dockerfile names), the production image of
    expenv.toml from the project's Dockerfile (writing pipelines/requirements.lock), and the devcontainer image."""
    from expenv.services import images

    ws = _workspace(workspace)
    if ws.config is None or not ws.config.environment.production_image:
        _fail("images build", f"no [environment] production_image in a valid expenv.toml at {ws.root}")
    tag = ws.config.environment.production_image
    requirements = ws.config.requirements_file
    result: dict[str, Any] = {}
    base = images.dockerfile_base(ws.root)
    with err.status(f"the base image {escape(base)} (expenv's: debootstrap, a minute or two uncached)…") as status:
        result["base"] = _call("images build", lambda: images.ensure_base(base, force=force)).as_dict()
        status.update(f"building the production image {escape(tag)}…")
        result["production"] = _call("images build", lambda: images.build_production(
            ws.root, tag, requirements, base=base, force=force)).as_dict()
        if dev:
            dev_tag = _dev_tag(tag)
            status.update(f"building the devcontainer image {escape(dev_tag)}…")
            result["dev"] = _call("images build", lambda: images.build_dev(tag, dev_tag, force=force)).as_dict()
    if json_out:
        return emit_json(result)
    for role, built in result.items():
        how = "cached" if built["cached"] else f"built in {built['seconds']:.0f} s"
        out.print(f"{role}: [bold]{escape(built['tag'])}[/] {built['id'][:19]} ({how})")
    lock = result["production"]["lock"]
    out.print(escape(f"{lock}: {'written: commit it' if result['production']['lock_changed'] else 'unchanged'}"))


@images_app.command("devcontainer")
def images_devcontainer(json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """Write .devcontainer/ into the workspace (FROM its production image) for `devcontainer up`,
    VS Code "Reopen in Container" and Codespaces."""
    from expenv.services import images

    ws = _workspace(workspace)
    if ws.config is None or not ws.config.environment.production_image:
        _fail("images devcontainer", f"no [environment] production_image in a valid expenv.toml at {ws.root}")
    path = _call("images devcontainer", lambda: images.prepare_devcontainer(
        ws.root / ".devcontainer", ws.config.environment.production_image))
    emit_json({"devcontainer_json": str(path)}) if json_out else out.print(f"wrote {escape(str(path))}")


def _dev_tag(production_tag: str) -> str:
    name, _, tag = production_tag.rpartition(":") if ":" in production_tag.split("/")[-1] else (production_tag, "", "")
    return f"{name}-dev:{tag or 'latest'}"
