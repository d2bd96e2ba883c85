"""Code actions on a direct raw/curated read in pipeline code: rewrite it as a feature-store
retrieval when a feature service covers its columns, else scaffold a feature view for its source."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from pygls.uris import to_fs_path

from expenv.domain.data import Layer
from expenv.domain.errors import ExpenvError
from expenv.lsp.server import ExpenvLanguageServer
from expenv.services.code.reads import find_reads


def _range(e) -> types.Range:
    return types.Range(start=types.Position(line=e.line, character=e.character),
                       end=types.Position(line=e.end_line, character=e.end_character))


def policy_actions(ls: ExpenvLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    uri = params.text_document.uri
    ws = ls.workspace_for_uri(uri)
    if ws is None or ws.services is None or not ws.services.config.features.repo:
        return []
    source = ls.document_source(uri)
    at = (params.range.start.line, params.range.start.character)
    reads = [r for r in find_reads(source, ws.services.data)
             if r.layer in (Layer.RAW, Layer.CURATED) and (r.line, r.start) <= at <= (r.end_line, r.end)]
    if not reads:
        return []
    path = to_fs_path(uri)
    try:
        rewrite = ws.services.features.rewrite(source, reads[0], Path(path) if path else None)
    except ExpenvError as exc:
        ls.log_to_client(f"expenv: no feature-store rewrite: {exc}", types.MessageType.Warning)
        return []
    if rewrite is None:
        return []
    diagnostics = [d for d in params.context.diagnostics if d.source == "expenv" and d.code == "policy"]
    if rewrite.kind == "retrieval":
        edit = types.WorkspaceEdit(changes={uri: [types.TextEdit(range=_range(e), new_text=e.new_text)
                                                  for e in rewrite.edits]})
    else:
        new_uri = (ws.root / rewrite.new_file).resolve().as_uri()
        start = types.Position(line=0, character=0)
        edit = types.WorkspaceEdit(document_changes=[
            types.CreateFile(uri=new_uri, options=types.CreateFileOptions(ignore_if_exists=True)),
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(uri=new_uri, version=None),
                edits=[types.TextEdit(range=types.Range(start=start, end=start), new_text=rewrite.new_file_text)]),
        ])
    return [types.CodeAction(title=rewrite.title, kind=types.CodeActionKind.QuickFix, edit=edit,
                             diagnostics=diagnostics or None, is_preferred=rewrite.kind == "retrieval")]
