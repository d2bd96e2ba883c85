"""`workspace/executeCommand` `expenv.ci.plan`: what CI runs for an event, the same JSON as
`expenv ci plan --json` (running the plan stays a terminal's `expenv ci run`)."""

from __future__ import annotations

from typing import Any

from expenv.lsp.errors import InvalidArgument, command_options, text_option, user_errors
from expenv.lsp.server import ExpenvLanguageServer

# option → (default, example): the CLI's --event/--from/--to/--pipeline/--target/--alias/--model
OPTIONS = {"event": (None, "pull_request"), "from": (None, "feature/x"), "to": (None, "release/1.0"),
           "pipeline": (None, "train"), "target": ("preprod", "preprod"), "alias": ("champion", "champion"),
           "model": (None, "churn")}


def _option(options: dict[str, Any], key: str) -> str | None:
    default, example = OPTIONS[key]
    return text_option(options, key, example=example, default=default)


def register(server: ExpenvLanguageServer) -> None:
    @server.command("expenv.ci.plan")
    @user_errors
    async def ci_plan(ls: ExpenvLanguageServer, *args: Any) -> Any:
        """{"event", "from"?, "to"?, "pipeline"?, "target"?: "preprod", "alias"?: "champion", "model"?,
        "workspace"?} → {"event", "source", "target", "kind", "steps": [{name, command, argv, why}], "notes"}."""
        from expenv.services.ci.plan import plan_for

        o = command_options(args)
        if not _option(o, "event"):
            raise InvalidArgument("event", 'event is missing: pass {"event": "pull_request"} (or push, schedule)')
        ws = ls.workspace_for_command(o)
        plan = await ls.run_blocking(lambda: plan_for(
            ws.root, ws.config, _option(o, "event"), _option(o, "from"), _option(o, "to"),
            pipeline=_option(o, "pipeline"), preprod=_option(o, "target"), alias=_option(o, "alias"),
            model=_option(o, "model")))
        return plan.as_dict()
