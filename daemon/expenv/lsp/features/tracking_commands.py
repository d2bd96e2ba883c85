"""`workspace/executeCommand` `expenv.tracking.{runs,compare,open}`: runs from the workspace's one
MLflow server, the same JSON as `expenv runs ... --json`."""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from expenv.domain.data import to_json
from expenv.domain.errors import ExpenvError
from expenv.lsp.errors import command_options, user_errors
from expenv.lsp.server import ExpenvLanguageServer



def register(server: ExpenvLanguageServer) -> None:
    @server.command("expenv.tracking.runs")
    @user_errors
    async def runs(ls: ExpenvLanguageServer, *args: Any) -> Any:
        o = command_options(args)
        tracking = ls.workspace_for_command(o).services.tracking
        found = await ls.run_blocking(lambda: tracking.runs(
            branch=o.get("branch"), pipeline=o.get("pipeline"), status=o.get("status"),
            experiment=o.get("experiment"), max_results=int(o.get("max_results", 100))))
        return to_json(found)

    @server.command("expenv.tracking.compare")
    @user_errors
    async def compare(ls: ExpenvLanguageServer, *args: Any) -> Any:
        o = command_options(args)
        ids = o.get("run_ids")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ExpenvError('pass {"run_ids": ["<run id>", "<run id>", ...]}')
        tracking = ls.workspace_for_command(o).services.tracking
        return to_json(await ls.run_blocking(tracking.compare, ids))

    @server.command("expenv.tracking.open")
    @user_errors
    async def open_run(ls: ExpenvLanguageServer, *args: Any) -> Any:
        """Open a run's page in the MLflow UI (the client opens it in a browser)."""
        o = command_options(args)
        if not isinstance(o.get("run_id"), str):
            raise ExpenvError('pass {"run_id": "<run id>"}')
        tracking = ls.workspace_for_command(o).services.tracking
        run = await ls.run_blocking(tracking.run, o["run_id"])
        await ls.window_show_document_async(types.ShowDocumentParams(uri=run.url, external=True))
        return {"url": run.url}
