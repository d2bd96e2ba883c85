"""`workspace/executeCommand` `expenv.features.{lineage,apply}`: lineage as nodes and edges (the
same JSON as `expenv features lineage --json`), and `feast plan` then apply on confirmation."""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from expenv.domain.data import to_json
from expenv.lsp.errors import InvalidArgument, command_options, user_errors
from expenv.lsp.server import ExpenvLanguageServer

APPLY, CANCEL = "Apply", "Cancel"



def register(server: ExpenvLanguageServer) -> None:
    @server.command("expenv.features.lineage")
    @user_errors
    async def lineage(ls: ExpenvLanguageServer, *args: Any) -> Any:
        o = command_options(args)
        depth = o.get("depth")
        if depth is not None and (not isinstance(depth, int) or isinstance(depth, bool) or depth < 0):
            raise InvalidArgument("depth", "depth must be a non-negative integer")
        direction = o.get("direction", "both")
        if direction not in ("both", "up", "down"):
            raise InvalidArgument("direction", "direction must be one of both, up, down")
        features = ls.workspace_for_command(o).services.features
        graph = await ls.run_blocking(lambda: features.lineage(center=o.get("center"), depth=depth,
                                                               direction=direction))
        return to_json(graph)

    @server.command("expenv.features.apply")
    @user_errors
    async def apply(ls: ExpenvLanguageServer, *args: Any) -> Any:
        """Run `feast plan`, show what would change, apply only when confirmed (`{"yes": true}` skips asking)."""
        o = command_options(args)
        ws = ls.workspace_for_command(o)
        features = ws.services.features
        plan = await ls.run_blocking(features.plan)
        result: dict[str, Any] = {"plan": to_json(plan), "applied": False}
        if not plan.ok:
            return result
        confirmed = o.get("yes") is True
        if not confirmed:
            summary = plan.output.strip().splitlines()[-12:]
            answer = await ls.window_show_message_request_async(types.ShowMessageRequestParams(
                type=types.MessageType.Info, message="feast plan:\n" + "\n".join(summary),
                actions=[types.MessageActionItem(title=APPLY), types.MessageActionItem(title=CANCEL)]))
            confirmed = answer is not None and answer.title == APPLY
        if confirmed:
            applied = await ls.run_blocking(features.apply)
            result.update(applied=applied.ok, apply=to_json(applied))
            ls.feature_repo_changed(ws)
        return result
