"""The code action "Add to the production requirements" on a parity diagnostic (an import or a
`%pip install` the production image lacks): one edit of the requirements file the image installs."""

from __future__ import annotations

from lsprotocol import types

from expenv.domain.errors import ExpenvError
from expenv.lsp.server import ExpenvLanguageServer

PARITY_CODES = ("parity_import", "parity_pip")


def parity_actions(ls: ExpenvLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    diagnostics = [d for d in params.context.diagnostics
                   if d.source == "expenv" and d.code in PARITY_CODES and isinstance(d.data, dict)
                   and isinstance(d.data.get("requirement"), str)]
    ws = ls.workspace_for_uri(params.text_document.uri)
    if not diagnostics or ws is None or ws.services is None:
        return []
    from expenv.services.parity.requirements import requirement_edit

    path = ws.services.config.requirements_file
    uri = path.resolve().as_uri()
    open_doc = ls.open_document(uri)
    text = open_doc.source if open_doc is not None else (path.read_text(encoding="utf-8") if path.exists() else "")
    actions, seen = [], set()
    for diagnostic in diagnostics:
        requirement = diagnostic.data["requirement"]
        if requirement in seen:
            continue
        seen.add(requirement)
        try:
            new_text, _, replaced = requirement_edit(text, requirement)
        except ExpenvError as exc:
            ls.log_to_client(f"expenv: cannot add {requirement!r}: {exc}", types.MessageType.Warning)
            continue
        lines = text.split("\n")
        whole = types.Range(start=types.Position(line=0, character=0),
                            end=types.Position(line=len(lines) - 1, character=len(lines[-1])))
        changes: list = [] if path.exists() or open_doc is not None else [
            types.CreateFile(uri=uri, options=types.CreateFileOptions(ignore_if_exists=True))]
        changes.append(types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
            edits=[types.TextEdit(range=whole, new_text=new_text)]))
        where = str(path.relative_to(ws.root)) if path.is_relative_to(ws.root) else str(path)
        instead = f", replacing {replaced.strip()}" if replaced else ""
        actions.append(types.CodeAction(
            title=f"Add to the production requirements: {requirement} ({where}{instead})",
            kind=types.CodeActionKind.QuickFix, diagnostics=[diagnostic], is_preferred=True,
            edit=types.WorkspaceEdit(document_changes=changes)))
    return actions
