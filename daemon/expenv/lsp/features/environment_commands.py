"""`workspace/executeCommand` `expenv.environment.parity` and `expenv.environment.kernels`: one JSON
object in, the same JSON as `expenv parity --json` / `expenv kernels ... --json` out."""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from expenv.lsp.errors import command_options, text_option, user_errors
from expenv.lsp.server import ExpenvLanguageServer


def register(server: ExpenvLanguageServer) -> None:
    @server.command("expenv.environment.parity")
    @user_errors
    async def environment_parity(ls: ExpenvLanguageServer, *args: Any) -> Any:
        """{"image"?, "python"?, "kernel"? (an id), "refresh"?, "workspace"?} → the parity report."""
        from expenv.services.parity import check_workspace_parity

        options = command_options(args)
        ws = ls.workspace_for_command(options)
        python = text_option(options, "python")
        if kernel_id := text_option(options, "kernel"):
            python = (await ls.run_blocking(ws.services.kernels.get, kernel_id)).python
        token = f"expenv-parity-{id(options)}"
        progress = ls.client_capabilities.window and ls.client_capabilities.window.work_done_progress
        if progress:
            await ls.work_done_progress.create_async(token)
            ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(title="Comparing the kernel with the "
                                                                                 "production image"))
        try:
            report = await ls.run_blocking(check_workspace_parity, ws.config, text_option(options, "image"), python,
                                           bool(options.get("refresh")))
        finally:
            if progress:
                ls.work_done_progress.end(token, types.WorkDoneProgressEnd())
        return report.as_dict()

    @server.command("expenv.environment.kernels")
    @user_errors
    async def environment_kernels(ls: ExpenvLanguageServer, *args: Any) -> Any:
        """{"action": list|start|stop|restart|interrupt, "id"?, "python"?, "cluster_address"?, "workspace"?}."""
        options = command_options(args)
        kernels = ls.workspace_for_command(options).services.kernels
        result = await ls.run_blocking(kernels.act, options.get("action", "list"), text_option(options, "id"),
                                       text_option(options, "python"), text_option(options, "cluster_address"))
        records = result if isinstance(result, list) else [result]
        for dead in (r for r in records if r.state == "dead"):
            ls.log_to_client(f"expenv: kernel {dead.id} is dead: {dead.detail}", types.MessageType.Warning)
        return {"kernels": [r.as_dict() for r in result]} if isinstance(result, list) else result.as_dict()
