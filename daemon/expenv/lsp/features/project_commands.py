"""`workspace/executeCommand` `expenv.project.questions` and `expenv.project.new`: the repository
template's questions (for the editor's quick inputs), and a rendering (the same JSON as
`expenv new DEST --json`)."""

from __future__ import annotations

from typing import Any

from expenv.domain.errors import ExpenvError
from expenv.lsp.errors import command_options, user_errors
from expenv.lsp.server import ExpenvLanguageServer


def register(server: ExpenvLanguageServer) -> None:
    @server.command("expenv.project.questions")
    @user_errors
    async def project_questions(ls: ExpenvLanguageServer, *args: Any) -> Any:
        """{"template"?} → {"questions": [{"name", "help", "type", "default", "choices", "when"}]}."""
        from expenv.services.repository import questions

        asked = await ls.run_blocking(questions, command_options(args).get("template"))
        return {"questions": [{"name": name, **q} for name, q in asked.items()]}

    @server.command("expenv.project.new")
    @user_errors
    async def project_new(ls: ExpenvLanguageServer, *args: Any) -> Any:
        """{"dest", "answers"?: {question: value}, "template"?, "vcs_ref"?, "setup"?: true} → the rendering."""
        from expenv.services.repository import create_project

        o = command_options(args)
        dest, answers = o.get("dest"), o.get("answers") or {}
        if not isinstance(dest, str) or not dest.strip():
            raise ExpenvError("dest must be the new repository's folder (a non-empty string)")
        if not isinstance(answers, dict):
            raise ExpenvError("answers must be an object {question: value}")
        return await ls.run_blocking(lambda: create_project(dest, answers, template=o.get("template"),
                                                            vcs_ref=o.get("vcs_ref"), setup=o.get("setup", True) is not False))
