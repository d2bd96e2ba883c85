"""`textDocument/codeLens` over training entrypoints and notebook cells that log to MLflow: the
latest run's status and key metric (services.tracking.lens). Clicking opens the run in the MLflow UI."""

from __future__ import annotations

from lsprotocol import types

from expenv.lsp.server import ExpenvLanguageServer


def code_lens_of(lens) -> types.CodeLens:
    """A RunLens (services.tracking.lens) as an LSP code lens at the start of its line."""
    position = types.Position(line=lens.line, character=0)
    return types.CodeLens(range=types.Range(start=position, end=position),
                          command=types.Command(title=lens.title, command=lens.command, arguments=[lens.arguments]))


def register(server: ExpenvLanguageServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_CODE_LENS)
    async def code_lens(ls: ExpenvLanguageServer, params: types.CodeLensParams) -> list[types.CodeLens] | None:
        # pygls takes one handler per method: other features' lenses come from ls.lens_providers.
        uri = params.text_document.uri
        lenses = [lens for provider in ls.lens_providers for lens in provider(ls, uri)]
        return (lenses + (await tracking_lens(ls, uri) or [])) or None

    async def tracking_lens(ls: ExpenvLanguageServer, uri: str) -> list[types.CodeLens] | None:
        ws = ls.workspace_for_uri(uri)
        if ws is None or ws.services is None:
            return None
        in_notebook = ls.workspace.get_notebook_document(cell_uri=uri) is not None
        lens = await ls.run_blocking(ws.services.tracking.lenses.lens, ls.document_source(uri),
                                     ls.path_for_uri(uri), in_notebook)
        return [code_lens_of(lens)] if lens is not None else None
