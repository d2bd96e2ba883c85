"""`workspace/didChangeWatchedFiles`: files the daemon asked the client to watch changed on disk
(registered in `lsp.watching`, which also polls for clients that cannot watch)."""

from __future__ import annotations

from lsprotocol import types

from expenv.lsp.server import ExpenvLanguageServer
from expenv.lsp.watching import paths_of


def register(server: ExpenvLanguageServer) -> None:
    server.initialized_listeners.append(lambda ls: ls.watching.start())

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched_changed(ls: ExpenvLanguageServer, params: types.DidChangeWatchedFilesParams) -> None:
        ls.watching.changed(paths_of(params))

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: ExpenvLanguageServer, params: None) -> None:
        ls.watching.stop()
