"""Code actions on a dataset literal: "Insert a loading snippet" (in the library the
file already uses) and "Profile this dataset"."""

from __future__ import annotations

from lsprotocol import types

from expenv.lsp.answers import LATE
from expenv.lsp.server import ExpenvLanguageServer
from expenv.services.code.reads import candidate_at
from expenv.services.code.snippets import SnippetInsert, snippet_insert

INSERT_SNIPPET = "Insert a loading snippet"
PROFILE = "Profile this dataset"


async def data_actions(ls: ExpenvLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction | types.Command]:
    """None while the storage or warehouse is slower than `[lsp] answer_timeout_ms` (lsp/answers.py)."""
    uri = params.text_document.uri
    data = ls.data_for_uri(uri)
    found = candidate_at(ls.document_source(uri), params.range.start.line, params.range.start.character) \
        if data is not None else None
    if found is None:
        return []
    ref = await ls.answer_in_time(uri, ("find", found.text), data.find, found.text,
                                  network=data.on_network(found.text))
    if ref is None or ref is LATE:
        return []
    mention = found.named(ref)
    ws = ls.workspace_for_uri(uri)
    insert = snippet_insert(ls.document_source(uri), mention,
                            ws.services.config.curated.url if ws and ws.services else None)
    return actions_of(uri, insert, mention.text, str(ws.root) if ws else None)


def actions_of(uri: str, insert: SnippetInsert, dataset: str, workspace: str | None) -> list:
    """The snippet insertion as an edit, and profiling as a command."""
    at = types.Position(line=insert.line, character=0)
    edit = types.WorkspaceEdit(changes={uri: [
        types.TextEdit(range=types.Range(start=at, end=at), new_text=insert.text)]})
    return [
        types.CodeAction(title=INSERT_SNIPPET, kind=types.CodeActionKind.Refactor, edit=edit),
        # A bare Command is a valid code action; clients (lsprotocol's among them) read
        # {title, command} as one, so a CodeAction wrapping a command would be misread.
        types.Command(title=PROFILE, command="expenv.data.profile",
                      arguments=[{"dataset": dataset, "workspace": workspace}]),
    ]
