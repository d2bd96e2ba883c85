"""Code actions on a dataset literal: "Insert a loading snippet" (in the library the
file already uses) and "Profile this dataset"."""

from __future__ import annotations

from lsprotocol import types

from expenv.domain.data import Layer
from expenv.lsp.server import ExpenvLanguageServer
from expenv.services.code.snippets import indentation_of, loading_snippet, statement_end_line

INSERT_SNIPPET = "Insert a loading snippet"
PROFILE = "Profile this dataset"


def data_actions(ls: ExpenvLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction | types.Command]:
    uri = params.text_document.uri
    found = ls.dataset_at(uri, params.range.start)
    if found is None:
        return []
    mention, _data = found
    source = ls.workspace.get_text_document(uri).source
    ws = ls.workspace_for_uri(uri)
    url = ws.services.config.curated.url if ws and ws.services else None
    duckdb_file = url[len("duckdb:///"):] if url and url.startswith("duckdb:///") else None
    warehouse = duckdb_file if mention.ref.layer is Layer.CURATED else None
    line = statement_end_line(source, mention.end_line) + 1
    snippet = indentation_of(source, mention.line) + loading_snippet(mention.ref, source, warehouse) + "\n"
    insert_at = types.Position(line=line, character=0)
    edit = types.WorkspaceEdit(changes={uri: [
        types.TextEdit(range=types.Range(start=insert_at, end=insert_at), new_text=snippet)]})
    args = [{"dataset": mention.text, "workspace": str(ws.root) if ws else None}]
    return [
        types.CodeAction(title=INSERT_SNIPPET, kind=types.CodeActionKind.Refactor, edit=edit),
        # A bare Command is a valid code action; clients (lsprotocol's among them) read
        # {title, command} as one, so a CodeAction wrapping a command would be misread.
        types.Command(title=PROFILE, command="expenv.data.profile", arguments=args),
    ]
