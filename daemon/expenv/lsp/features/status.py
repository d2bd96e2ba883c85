"""`workspace/executeCommand` `expenv.status`: version, parsed configs, and which real parts answer."""

from __future__ import annotations

from typing import Any

from expenv.lsp.errors import command_options
from expenv.lsp.server import ExpenvLanguageServer
from expenv.services.status import status_report


def register(server: ExpenvLanguageServer) -> None:
    @server.command("expenv.status")
    async def status(ls: ExpenvLanguageServer, *args: Any) -> dict[str, Any]:
        options = command_options(args)
        report = await ls.run_blocking(status_report, ls.workspaces.all(), bool(options.get("deep")))
        return {**report, "editor_settings": ls.settings.to_json()}   # the editor's, as the daemon applies them
