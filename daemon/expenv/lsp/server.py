"""The expenv language server: state lives here so each feature handler stays a few lines."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from expenv import __version__
from expenv.domain.config import CONFIG_FILENAME
from expenv.services.workspace import Workspace, WorkspaceSet

log = logging.getLogger(__name__)


class ExpenvLanguageServer(LanguageServer):
    """One daemon for every folder of a (multi-root) workspace."""

    def __init__(self) -> None:
        super().__init__(
            "expenv",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            notebook_document_sync=types.NotebookDocumentSyncOptions(
                notebook_selector=[
                    types.NotebookDocumentFilterWithCells(
                        notebook="jupyter-notebook",
                        cells=[types.NotebookCellLanguage(language="python")],
                    )
                ]
            ),
        )
        self.workspaces = WorkspaceSet()
        self.initialization_options: dict[str, Any] = {}

    # --- workspace folders and configs ---------------------------------------------------

    def add_folder_uri(self, uri: str) -> Workspace | None:
        path = to_fs_path(uri)
        return self.workspaces.add(Path(path)) if path else None

    def publish_config_problems(self, ws: Workspace) -> None:
        from expenv.lsp.convert import problems_to_diagnostics

        uri = ws.config_path.as_uri()
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=problems_to_diagnostics(ws.problems))
        )

    def reload_config(self, uri: str, text: str | None = None) -> None:
        """Re-read one `expenv.toml` (from the editor's text when given) and publish its problems."""
        path = to_fs_path(uri)
        if not path or Path(path).name != CONFIG_FILENAME:
            return
        ws = self.workspaces.for_config_file(Path(path))
        before = ws.generation
        ws.load(text)
        self.publish_config_problems(ws)
        if ws.generation != before:
            self.log_to_client(f"expenv: reloaded services for {ws.root}", types.MessageType.Info)
        elif ws.problems and any(p.severity.value == "error" for p in ws.problems):
            kept = "kept the last valid config" if ws.config else "no services until it is fixed"
            self.log_to_client(f"expenv: {ws.config_path} has errors; {kept}", types.MessageType.Warning)

    # --- output ---------------------------------------------------------------------------

    def log_to_client(self, message: str, kind: types.MessageType = types.MessageType.Log) -> None:
        self.window_log_message(types.LogMessageParams(type=kind, message=message))

    async def run_blocking(self, fn, *args):
        """Run slow service work off the event loop so the editor never waits on it."""
        return await asyncio.to_thread(fn, *args)


def create_server() -> ExpenvLanguageServer:
    """Build the server and register every feature module (one LSP feature per file)."""
    from expenv.lsp.features import register_all

    server = ExpenvLanguageServer()
    register_all(server)
    return server
