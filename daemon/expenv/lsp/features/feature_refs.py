"""Feature references (`"view:feature"`), feature service and view names in code: hover,
completion, definition and references. Anything else: no answer, so other servers answer."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from lsprotocol import types
from pygls.uris import to_fs_path

from expenv.domain.errors import ExpenvError
from expenv.lsp import render
from expenv.lsp.server import ExpenvLanguageServer


def _mention(ls: ExpenvLanguageServer, uri: str, position: types.Position, without_registry: bool = False):
    ws = ls.workspace_for_uri(uri)
    if ws is None or ws.services is None or not ws.services.config.features.repo:
        return None, None
    features = ws.services.features
    source = ls.document_source(uri)
    try:
        return features.mention_at(source, position.line, position.character, without_registry), features
    except ExpenvError:
        return None, features


def _range(m) -> types.Range:
    return types.Range(start=types.Position(line=m.line, character=m.start),
                       end=types.Position(line=m.end_line, character=m.end))


async def feature_hover(ls: ExpenvLanguageServer, params: types.HoverParams) -> types.Hover | None:
    # without a registry, a hover on a reference in a feature call says why it knows nothing of it
    mention, features = await ls.run_blocking(_mention, ls, params.text_document.uri, params.position, True)
    if mention is None:
        return None
    try:
        if mention.kind == "feature_ref":
            info = await ls.run_blocking(features.feature, mention.text)
            if info is None:
                return None
            impact = await ls.run_blocking(features.impact, mention.text)
            text = render.feature_hover(info, impact)
        elif mention.kind == "feature_service":
            service = await ls.run_blocking(features.service, mention.text)
            if service is None:
                return None
            impact = await ls.run_blocking(features.impact, f"feature_service:{mention.text}")
            text = render.service_hover(service, impact)
        else:
            return None
    except ExpenvError as exc:
        text = f"⚠ expenv: {exc}"
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
                       range=_range(mention))


async def feature_completion(ls: ExpenvLanguageServer, params: types.CompletionParams) -> types.CompletionList | None:
    ws = ls.workspace_for_uri(params.text_document.uri)
    if ws is None or ws.services is None or not ws.services.config.features.repo:
        return None
    source = ls.document_source(params.text_document.uri)
    found = await ls.run_blocking(ws.services.features.completions_at, source, params.position.line,
                                  params.position.character)
    return completion_list_of(found[0], found[1], params.position) if found and found[1] else None


def completion_list_of(context, candidates: list[tuple[str, str]], position: types.Position) -> types.CompletionList:
    """Candidates (label, detail) replacing what was typed since the string opened (context.start)."""
    typed = types.Range(start=types.Position(line=position.line, character=context.start), end=position)
    items = [types.CompletionItem(label=label, detail=detail, kind=types.CompletionItemKind.Field,
                                  text_edit=types.TextEdit(range=typed, new_text=label), sort_text=f"{i:04d}")
             for i, (label, detail) in enumerate(candidates)]
    return types.CompletionList(is_incomplete=False, items=items)


def register(server: ExpenvLanguageServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    async def definition(ls: ExpenvLanguageServer, params: types.DefinitionParams) -> types.Location | None:
        """`textDocument/definition`: a feature reference or service name → its Python definition."""
        mention, features = await ls.run_blocking(_mention, ls, params.text_document.uri, params.position)
        if mention is None:
            return None
        name, group = (mention.ref.view, "view") if mention.kind == "feature_ref" else \
            (mention.text, "service" if mention.kind == "feature_service" else "view")
        found = await ls.run_blocking(features.definition_of, name, group)
        if found is None:
            return None
        position = types.Position(line=found.line - 1, character=max(found.column - 1, 0))
        return types.Location(uri=Path(found.path).resolve().as_uri(),
                              range=types.Range(start=position, end=position))

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    async def references(ls: ExpenvLanguageServer, params: types.ReferenceParams) -> list[types.Location] | None:
        """`textDocument/references`: every code and notebook cell that uses a view (or feature, or service)."""
        mention, features = await ls.run_blocking(_mention, ls, params.text_document.uri, params.position)
        if mention is None:
            return None
        if mention.kind == "feature_ref":
            name, feature = mention.ref.view, mention.ref.feature
        else:
            name, feature = mention.text, None
        found = await ls.run_blocking(features.references, name, feature, _open_texts(ls))
        return [types.Location(uri=_location_uri(ls, ref), range=_range(ref)) for ref in found]


def _open_texts(ls: ExpenvLanguageServer) -> dict[Path, list[tuple[int | None, str]]]:
    """The editor's text of open .py files and open notebooks' code cells, by file."""
    out: dict[Path, list[tuple[int | None, str]]] = {}
    cells_of_notebooks = set()
    for nb_uri, notebook in ls.workspace.notebook_documents.items():
        path = to_fs_path(nb_uri)
        if path is None:
            continue
        cells = []
        for index, cell in enumerate(notebook.cells):
            cells_of_notebooks.add(unquote(cell.document))
            doc = ls.open_document(cell.document)
            if cell.kind == types.NotebookCellKind.Code and doc is not None:
                cells.append((index, doc.source))
        out[Path(path)] = cells
    for uri, doc in ls.workspace.text_documents.items():
        if uri in cells_of_notebooks or not uri.startswith("file:") or not uri.endswith(".py"):  # keys: unquoted
            continue
        if (path := to_fs_path(uri)) is not None:
            out[Path(path)] = [(None, doc.source)]
    return out


def _location_uri(ls: ExpenvLanguageServer, ref) -> str:
    """A .py file's URI; for a notebook cell, the open cell's URI when the notebook is open."""
    uri = Path(ref.path).resolve().as_uri()
    if ref.cell is None:
        return uri
    notebook = ls.workspace.notebook_documents.get(uri)
    if notebook is not None and ref.cell < len(notebook.cells):
        return notebook.cells[ref.cell].document
    return uri

