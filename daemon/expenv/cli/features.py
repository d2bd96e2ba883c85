"""`expenv features ls|lineage|apply` and `expenv check`: the feature store and the production
sourcing policy, with the same JSON as the LSP commands."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from expenv.cli.output import emit_json, err, out

features_app = typer.Typer(help="Feature store (Feast): ls, lineage, apply.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON (the same shape the LSP command returns).")
WORKSPACE = typer.Option(None, "--workspace", "-w", help="Workspace folder (default: nearest with expenv.toml).")


def _services(workspace: Path | None, command: str):
    from expenv.cli.main import workspace_services

    return workspace_services(workspace, command)


def _features(workspace: Path | None, command: str):
    services = _services(workspace, command)
    features = getattr(services, "features", None)
    if features is None:  # until the composition root builds it
        from expenv.services.features import FeatureService

        features = FeatureService(services.config, data=services.data, tracking=services.tracking)
    return features


def _shown(path: str) -> str:
    try:
        return os.path.relpath(path) if Path(path).is_absolute() and not os.path.relpath(path).startswith("..") else path
    except ValueError:
        return path


def _fail(features, command: str, exc: Exception) -> typer.Exit:
    err.print(f"[red]expenv {command}: {escape(str(exc))}[/]")
    for p in features.validate():
        err.print(escape(f"{_shown(p.path)}:{p.line}:{p.column}: {p.severity}: {p.message}"))
    return typer.Exit(1)


@features_app.command("ls")
def features_ls(json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """Entities, data sources, feature views and feature services of the Feast repo."""
    from expenv.domain.data import to_json
    from expenv.domain.errors import ExpenvError

    features = _features(workspace, "features ls")
    try:
        catalog = features.catalog()
    except ExpenvError as exc:
        raise _fail(features, "features ls", exc) from None
    if json_out:
        emit_json({"project": catalog.project, "repo": str(catalog.repo),
                   "entities": to_json(list(catalog.entities.values())),
                   "data_sources": to_json(list(catalog.sources.values())),
                   "feature_views": to_json(list(catalog.views.values())),
                   "feature_services": to_json(list(catalog.services.values()))})
        return
    views = Table(title=f"feature views of project {catalog.project} ({catalog.repo})")
    for column in ("view", "kind", "entities", "features", "ttl", "source", "dataset"):
        views.add_column(column)
    for v in catalog.views.values():
        src = catalog.sources.get(v.source) if v.source else None
        ttl = f"{v.ttl_seconds // 86400} d" if v.ttl_seconds else ""
        feats = ", ".join(f"{f.name}:{f.dtype}" for f in v.features[:6]) + (" …" if len(v.features) > 6 else "")
        upstream = v.source or ", ".join(v.source_views)
        views.add_row(escape(v.name), v.kind, escape(", ".join(v.entities)), escape(feats), ttl, escape(upstream or ""),
                      escape(src.dataset or "") if src else "")
    out.print(views)
    services = Table(title="feature services")
    services.add_column("service")
    services.add_column("views")
    services.add_column("features")
    for s in catalog.services.values():
        services.add_row(escape(s.name), escape(", ".join(s.views)), str(len(s.features)))
    out.print(services)
    out.print(f"entities: {escape(', '.join(catalog.entities)) or '-'}")


@features_app.command("lineage")
def features_lineage(
    name: str = typer.Argument(None, help="Centre node: a name or id (feature_view:x), or a view:feature ref."),
    depth: int = typer.Option(None, "--depth", min=0, help="Hops from the centre (default: all)."),
    direction: str = typer.Option("both", "--direction", help="up (sources), down (consumers) or both."),
    json_out: bool = JSON, workspace: Path = WORKSPACE,
) -> None:
    """Lineage from raw/curated datasets through Feast to training runs and registered models."""
    from expenv.domain.data import to_json
    from expenv.domain.errors import ExpenvError

    if direction not in ("up", "down", "both"):
        err.print(f"[red]expenv features lineage: --direction must be up, down or both, not {escape(direction)}[/]")
        raise typer.Exit(2)
    features = _features(workspace, "features lineage")
    try:
        graph = features.lineage(name, depth, direction)  # type: ignore[arg-type]
    except ExpenvError as exc:
        raise _fail(features, "features lineage", exc) from None
    if json_out:
        emit_json(to_json(graph))
        return
    labels = {n.id: f"{n.kind} {n.name}" for n in graph.nodes}
    for e in sorted(graph.edges, key=lambda e: (labels.get(e.source, e.source), e.relation)):
        out.print(escape(f"{labels.get(e.source, e.source)} --{e.relation}--> {labels.get(e.target, e.target)}"))
    mlflow = graph.attrs.get("mlflow", {})
    if not mlflow.get("joined"):
        err.print(f"[yellow]{escape(mlflow.get('detail', 'runs and models are not shown'))}[/]")
    out.print(f"{len(graph.nodes)} nodes, {len(graph.edges)} edges")


def _feast_failed(result, what: str, tail: str = "") -> typer.Exit:
    """Print a failed feast command's located problems; the exit to raise."""
    for p in result.problems:
        err.print(escape(f"{_shown(p.path)}:{p.line}:{p.column}: error: {p.message}"))
    err.print(f"[red]expenv features apply: {what} failed (exit {result.returncode}){tail}[/]")
    return typer.Exit(1)


@features_app.command("apply")
def features_apply(yes: bool = typer.Option(False, "--yes", "-y", help="Apply without asking."),
                   workspace: Path = WORKSPACE) -> None:
    """Show `feast plan`, then run `feast apply` on confirmation (with --yes: `feast apply` at once,
    which prints each change it makes)."""
    features = _features(workspace, "features apply")
    if not yes:   # the plan is there to decide on: without a question, skip a second Feast start-up (~10 s)
        with err.status("feast plan…"):
            plan = features.plan()
        out.print(escape(plan.output))
        if not plan.ok:
            raise _feast_failed(plan, "feast plan", "; nothing applied")
        if not typer.confirm("Apply these changes to the registry?", default=False):
            err.print("not applied")
            raise typer.Exit(1)
    with err.status("feast apply…"):
        result = features.apply()
    out.print(escape(result.output))
    if not result.ok:
        raise _feast_failed(result, "feast apply")


def check(
    paths: list[Path] = typer.Argument(None, help="Pipeline files or folders (default: [policy] pipeline_paths)."),
    branch: str = typer.Option(None, "--branch", help="Check as if on this branch (default: git's current one)."),
    json_out: bool = JSON, workspace: Path = WORKSPACE,
) -> None:
    """Check the production sourcing policy (pipeline code must read from the feature store), the
    notebooks in git (committed without outputs, jupytext pairs in sync) and, when no file is named,
    the requirements lock (made from requirements.txt, the same versions as the production image when
    it is here). Exits 1
    when a policy violation is an error (on a branch listed in [policy] feature_store_required), a
    notebook is not fit, or the lock is stale, differs from the image, or is missing on such a branch."""
    from expenv.domain.data import to_json
    from expenv.services.features.policy import check_policy, current_branch, required_on
    from expenv.services.parity.lock import check_lock
    from expenv.services.repository import check_notebooks

    services = _services(workspace, "check")
    config = services.config
    resolved = [p.resolve() for p in paths] if paths else None
    branch = branch or current_branch(config.root)
    violations = check_policy(config, resolved, branch, data=services.data)
    notebooks = check_notebooks(config.root)
    # the lock is the repository's, not a file's: checked when no file is named
    lock = check_lock(config) if not paths else None
    errors = [v for v in violations if v.severity == "error"] + ([lock] if lock and not lock.ok else [])
    if json_out:
        emit_json({"branch": branch, "required": required_on(config, branch),
                   "patterns": list(config.policy.feature_store_required), "violations": to_json(violations),
                   "notebooks": [f.as_dict() for f in notebooks], "lock": lock.as_dict() if lock else None})
    else:
        for v in violations:
            out.print(escape(f"{_shown(v.path)}:{v.line}:{v.column}: {v.severity}: {v.message}"), highlight=False)
        for f in notebooks:
            out.print(escape(f"{_shown(str(config.root / f.path))}:{f.line}:{f.column}: {f.severity}: {f.message}"),
                      highlight=False)
        if lock is not None:
            out.print(escape(f"{lock.severity}: {lock.message}"), highlight=False)
        where = f"branch {branch}" if branch else "no branch"
        rule = "required" if required_on(config, branch) else "not required"
        summary = (f"{len(violations)} direct read(s) in pipeline code; feature store {rule} on {where}; "
                   f"{len(notebooks)} notebook problem(s)")
        (err.print(f"[red]{escape(summary)}[/]") if errors or notebooks else err.print(escape(summary)))
    if errors or notebooks:
        raise typer.Exit(1)
