"""`expenv ci plan|run` (what CI runs for an event, and running it here) and the CI-only steps the
plans call: `expenv ci image-test|comment|promote|template-update`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from expenv.cli.output import emit_json, err, out

ci_app = typer.Typer(help="CI/CD: the plan of an event, running it here, and its promotion steps.",
                     no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON (the same shape the LSP command returns).")
WORKSPACE = typer.Option(None, "--workspace", "-w", help="Workspace folder (default: nearest with expenv.toml).")
EVENT = typer.Option(..., "--event", "-e", help="pull_request | push | schedule (GitHub's event names).")
SOURCE = typer.Option(None, "--from", help="The pull request's head branch (e.g. feature/x).")
TARGET = typer.Option(None, "--to", help="The branch merged into or pushed to (e.g. release/1.0, main).")
PIPELINE = typer.Option(None, "--pipeline", help="The pipeline deployed to pre-prod (default: train, else the first).")
PREPROD = typer.Option("preprod", "--target", help="The pre-prod [targets.NAME].")
ALIAS = typer.Option("champion", "--alias", help="The model registry alias a promotion sets.")
MODEL = typer.Option(None, "--model", help="The registered model's name (default: the project name).")


def _ws(workspace: Path | None):
    from expenv.cli.main import _workspace

    return _workspace(workspace)


def _services(workspace: Path | None, what: str):
    from expenv.cli.main import workspace_services

    return workspace_services(workspace, f"ci {what}")


def _call(what: str, fn, *args, **kwargs):
    from expenv.domain.errors import ExpenvError
    from expenv.domain.secrets import redact

    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        # the tracking server's and the engine's errors are the user's to read too (redacted, no traceback)
        if not isinstance(exc, ExpenvError) and not type(exc).__module__.startswith(("mlflow", "docker", "requests")):
            raise
        err.print(f"[red]expenv ci {what}: {escape(redact(str(exc)))}[/]")
        raise typer.Exit(1) from None


def _plan(event: str, source: str | None, target: str | None, pipeline: str | None, preprod: str, alias: str,
          model: str | None, workspace: Path | None):
    from expenv.services.ci.plan import plan_for

    ws = _ws(workspace)
    return ws.root, _call("plan", plan_for, ws.root, ws.config, event, source, target,
                          pipeline=pipeline, preprod=preprod, alias=alias, model=model)


@ci_app.command("plan")
def ci_plan(event: str = EVENT, source: str = SOURCE, target: str = TARGET, pipeline: str = PIPELINE,
            preprod: str = PREPROD, alias: str = ALIAS, model: str = MODEL, json_out: bool = JSON,
            workspace: Path = WORKSPACE) -> None:
    """The ordered steps CI runs for an event (each a short expenv/make command line)."""
    _, plan = _plan(event, source, target, pipeline, preprod, alias, model, workspace)
    if json_out:
        return emit_json(plan.as_dict())
    out.print(f"[bold]{escape(plan.event)}[/] {escape(plan.source or '')} → {escape(plan.target or '')}: {plan.kind}")
    for number, step in enumerate(plan.steps, 1):
        out.print(escape(f"{number}. {step.name}: {step.command}"), highlight=False)
    for note in plan.notes:
        out.print(escape(f"note: {note}"))


@ci_app.command("run")
def ci_run(event: str = EVENT, source: str = SOURCE, target: str = TARGET, pipeline: str = PIPELINE,
           preprod: str = PREPROD, alias: str = ALIAS, model: str = MODEL, json_out: bool = JSON,
           workspace: Path = WORKSPACE) -> None:
    """Run the plan's steps here, in order, stopping at the first failure (exit 1)."""
    from expenv.services.ci.run import run_plan

    root, plan = _plan(event, source, target, pipeline, preprod, alias, model, workspace)

    def line(step: str, text: str) -> None:
        (err if json_out else out).print(escape(f"[{step}] {text}"), highlight=False)

    results = run_plan(plan, root, line)
    failed = [r for r in results if r.exit_code not in (0, None)]
    if json_out:
        emit_json({**plan.as_dict(), "results": [r.as_dict() for r in results], "ok": not failed})
    for r in results:
        state = "not run" if r.exit_code is None else ("ok" if r.exit_code == 0 else f"FAILED (exit {r.exit_code})")
        err.print(escape(f"{r.name}: {state}"))
    if failed:
        raise typer.Exit(1)


@ci_app.command("image-test")
def ci_image_test(json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """Test the pipeline code inside the production image: syntax, the image has every module it
    imports, and tests/ with pytest."""
    from expenv.services.ci.jobs import image_test

    services = _services(workspace, "image-test")
    result = _call("image-test", image_test, services.config)
    emit_json(result) if json_out else out.print(escape(result["output"].rstrip()), highlight=False)
    if result["exit_code"] != 0:
        raise typer.Exit(1)


@ci_app.command("comment")
def ci_comment(pipeline: str = typer.Option(..., "--pipeline"), preprod: str = PREPROD, source: str = SOURCE,
               target: str = TARGET, pr: int = typer.Option(None, "--pr", help="Pull request number (default: "
                                                            "from $GITHUB_EVENT_PATH)."),
               json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """The pull request's comment on the pre-prod run at HEAD (posted with gh when GITHUB_TOKEN is set,
    else printed and written to .expenv/ci/pr-comment.md)."""
    from expenv.services.ci.release import comment

    services = _services(workspace, "comment")
    result: dict[str, Any] = _call("comment", comment, services, pipeline, preprod, source, target, pr)
    emit_json(result) if json_out else out.print(escape(result["comment"]), highlight=False)


@ci_app.command("promote")
def ci_promote(preprod: str = PREPROD, pipeline: str = PIPELINE, alias: str = ALIAS, model: str = MODEL,
               json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """Register the model of the release commit's pre-prod run under the alias, tag the image with the
    commit and the release. No retraining."""
    from expenv.services.ci.promote import promote

    result = _call("promote", promote, _services(workspace, "promote"), preprod, pipeline, alias, model)
    if json_out:
        return emit_json(result)
    out.print(escape(f"{result['model']} version {result['version']} is now @{result['alias']} (pre-prod run "
                     f"{result['preprod_run']}, release {result['release']}, commit {result['commit'][:12]})"))
    for image in result["images"]:
        out.print(escape(f"tagged {image}"))
    if result["tag"]:
        out.print(escape(f"tagged {result['commit'][:12]} {result['tag']}"
                         f"{' (pushed to origin)' if result['tag_pushed'] else ''}"))
    if result.get("tag_error"):
        err.print(escape(f"expenv ci promote: the git tag: {result['tag_error']}"))


@ci_app.command("template-update")
def ci_template_update(vcs_ref: str = typer.Option(None, "--vcs-ref", help="Template version (default: newest)."),
                       json_out: bool = JSON, workspace: Path = WORKSPACE) -> None:
    """`copier update` against the newest template; a branch + commit (and a PR with a token) when it changed."""
    from expenv.services.ci.jobs import template_update

    result = _call("template-update", template_update, _ws(workspace).root, vcs_ref)
    if json_out:
        return emit_json(result)
    if not result["changed"]:
        return out.print("the template did not change")
    out.print(escape(f"{len(result['changed'])} file(s) changed on branch {result['branch']}"
                     + (f": {result['pull_request']}" if result["pull_request"] else " (no GITHUB_TOKEN: not pushed)")))
