"""`workspace/executeCommand` `expenv.tracking.{runs,compare,open}`: runs from the workspace's one
MLflow server, the same JSON as `expenv runs ... --json`."""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from expenv.domain.data import to_json
from expenv.lsp.errors import InvalidArgument, command_options, user_errors
from expenv.lsp.server import ExpenvLanguageServer



def register(server: ExpenvLanguageServer) -> None:
    @server.command("expenv.tracking.runs")
    @user_errors
    async def runs(ls: ExpenvLanguageServer, *args: Any) -> Any:
        o = command_options(args)
        max_results = o.get("max_results", 100)
        if not isinstance(max_results, int) or isinstance(max_results, bool) or max_results < 1:
            raise InvalidArgument("max_results", "max_results must be a positive integer")
        tracking = ls.workspace_for_command(o).services.tracking
        found = await ls.run_blocking(lambda: tracking.runs(
            branch=o.get("branch"), pipeline=o.get("pipeline"), status=o.get("status"),
            experiment=o.get("experiment"), max_results=max_results))
        return to_json(found)

    @server.command("expenv.tracking.compare")
    @user_errors
    async def compare(ls: ExpenvLanguageServer, *args: Any) -> Any:
        o = command_options(args)
        ids = o.get("run_ids")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise InvalidArgument("run_ids", 'pass {"run_ids": ["<run id>", "<run id>", ...]}')
        tracking = ls.workspace_for_command(o).services.tracking
        return to_json(await ls.run_blocking(tracking.compare, ids))

    @server.command("expenv.tracking.open")
    @user_errors
    async def open_run(ls: ExpenvLanguageServer, *args: Any) -> Any:
        """Open a run's page in the MLflow UI (the client opens it in a browser)."""
        o = command_options(args)
        if not isinstance(o.get("run_id"), str):
            raise InvalidArgument("run_id", 'pass {"run_id": "<run id>"}')
        tracking = ls.workspace_for_command(o).services.tracking
        run = await ls.run_blocking(tracking.run, o["run_id"])
        await ls.window_show_document_async(types.ShowDocumentParams(uri=run.url, external=True))
        return {"url": run.url}
