"""`expenv new DEST`: a new ML repository from the copier template (the same JSON as the LSP
command `expenv.project.new`)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from expenv.cli.output import emit_json, out

JSON = typer.Option(False, "--json", help="Print JSON (the same shape the LSP command returns).")


def parse_answers(pairs: list[str] | None) -> dict[str, str]:
    answers = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--data")
        answers[key.strip()] = value
    return answers


def new(
    dest: Path = typer.Argument(..., help="The new repository's folder (new or empty)."),
    data: list[str] = typer.Option(None, "--data", "-d", metavar="KEY=VALUE", help="An answer (repeatable)."),
    defaults: bool = typer.Option(False, "--defaults", help="Take the default of every question not in --data "
                                  "(else copier asks on the terminal)."),
    template: str = typer.Option(None, "--template", help="A copier template (folder or git URL; default: "
                                 "expenv's own, or $EXPENV_TEMPLATE)."),
    vcs_ref: str = typer.Option(None, "--vcs-ref", help="The template's git ref to render."),
    setup: bool = typer.Option(True, "--setup/--no-setup", help="Run the repository's setup step (git init, "
                               "the notebook filter)."),
    json_out: bool = JSON,
) -> None:
    """Create a new ML repository from the copier template in DEST."""
    from expenv.cli.environment import _call
    from expenv.services.repository import create_project

    answers = parse_answers(data)
    result = _call("new", lambda: create_project(dest, answers, defaults=defaults or json_out, template=template,
                                                 vcs_ref=vcs_ref, setup=setup))
    if json_out:
        emit_json(result)
        return
    out.print(f"[green]created {escape(result['answers'].get('project_name', ''))} in {escape(result['root'])}[/] "
              f"({len(result['files'])} files); read its README.md and CONTRIBUTING.md")
