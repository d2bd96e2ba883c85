"""Text sync (`didOpen`/`didChange`/`didSave`/`didClose`) and notebook sync: `expenv.toml` gets
diagnostics and reloads the services; Python documents and notebook code cells go to the features
that follow them (diagnostics), and a saved file in the feature repo rechecks the repo. Changes on
disk arrive through `file_watching`.

pygls allows one handler per notification, so this module is the one place they arrive."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from pygls.uris import to_fs_path

from expenv.domain.config import CONFIG_FILENAME
from expenv.lsp.server import ExpenvLanguageServer


def _is_config(uri: str) -> bool:
    return uri.rsplit("/", 1)[-1] == CONFIG_FILENAME


def _is_python(ls: ExpenvLanguageServer, uri: str) -> bool:
    if uri.endswith(".py"):
        return True
    doc = ls.open_document(uri)
    return doc is not None and doc.language_id == "python"


def _in_feature_repo(ls: ExpenvLanguageServer, uri: str):
    ws = ls.workspace_for_uri(uri)
    path = to_fs_path(uri)
    if ws is None or ws.services is None or not ws.services.config.features.repo or path is None:
        return None
    repo = (ws.root / ws.services.config.features.repo).resolve()
    return ws if repo == Path(path).resolve().parent or repo in Path(path).resolve().parents else None


def register(server: ExpenvLanguageServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ExpenvLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        uri = params.text_document.uri
        if _is_config(uri):
            ls.reload_config(uri, params.text_document.text)
        elif _is_python(ls, uri):
            ls.warm_data(uri)
            ls.python_document_changed(uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: ExpenvLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        if _is_config(uri):
            doc = ls.open_document(uri)   # None: a change to a file never opened; read it from disk
            ls.reload_config(uri, doc.source if doc is not None else None)
        elif _is_python(ls, uri):
            ls.python_document_changed(uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: ExpenvLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        if (ws := _in_feature_repo(ls, uri)) is not None:
            ls.feature_repo_changed(ws)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ExpenvLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        # The editor's unsaved text is gone: the file on disk is the truth again.
        uri = params.text_document.uri
        if _is_config(uri):
            ls.reload_config(uri)
        elif uri.endswith(".py"):
            # what was said about the unsaved text no longer holds; a repo file gets the repo's word back
            ls.clear_diagnostics([uri])
            if (ws := _in_feature_repo(ls, uri)) is not None:
                ls.feature_repo_changed(ws)

    # pygls keeps the notebook and its cells in the workspace first, then calls these.
    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def notebook_opened(ls: ExpenvLanguageServer, params: types.DidOpenNotebookDocumentParams) -> None:
        cells = [c.uri for c in params.cell_text_documents if c.language_id == "python"]
        if cells:
            ls.warm_data(cells[0])
        for uri in cells:
            ls.python_document_changed(uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def notebook_changed(ls: ExpenvLanguageServer, params: types.DidChangeNotebookDocumentParams) -> None:
        cells = params.change.cells
        if cells is None:
            return
        changed = [c.document.uri for c in cells.text_content or []]
        if cells.structure is not None:
            changed += [c.uri for c in cells.structure.did_open or [] if c.language_id == "python"]
        if changed:
            # a cell's problems read the notebook's other cells (a Spark Connect session made in one
            # and used in another): any cell's change checks every cell again, not only the changed one
            notebook = ls.workspace.get_notebook_document(notebook_uri=params.notebook_document.uri)
            changed += [cell.document for cell in notebook.cells] if notebook is not None else []
        for uri in dict.fromkeys(changed):
            if _is_python(ls, uri):
                ls.python_document_changed(uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def notebook_closed(ls: ExpenvLanguageServer, params: types.DidCloseNotebookDocumentParams) -> None:
        ls.clear_diagnostics([cell.uri for cell in params.cell_text_documents])
