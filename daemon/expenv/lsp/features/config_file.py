"""Text sync and `workspace/didChangeWatchedFiles` for `expenv.toml`: diagnostics and reload.

pygls allows one handler per notification, so later features that care about other documents
hook in here rather than registering didOpen/didChange again.
"""

from __future__ import annotations

from lsprotocol import types

from expenv.domain.config import CONFIG_FILENAME
from expenv.lsp.server import ExpenvLanguageServer


def _is_config(uri: str) -> bool:
    return uri.rsplit("/", 1)[-1] == CONFIG_FILENAME


def register(server: ExpenvLanguageServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ExpenvLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        if _is_config(params.text_document.uri):
            ls.reload_config(params.text_document.uri, params.text_document.text)
        elif params.text_document.language_id == "python":
            ls.warm_data(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: ExpenvLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        if _is_config(uri):
            ls.reload_config(uri, ls.workspace.get_text_document(uri).source)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ExpenvLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        # The editor's unsaved text is gone: the file on disk is the truth again.
        if _is_config(params.text_document.uri):
            ls.reload_config(params.text_document.uri)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched_changed(ls: ExpenvLanguageServer, params: types.DidChangeWatchedFilesParams) -> None:
        for change in params.changes:
            if _is_config(change.uri) and change.uri not in ls.workspace.text_documents:
                ls.reload_config(change.uri)
