"""`textDocument/hover`: datasets first, then feature-store names; nothing for other symbols."""

from __future__ import annotations

from lsprotocol import types

from expenv.lsp.features.data_hover import data_hover
from expenv.lsp.features.feature_refs import feature_hover
from expenv.lsp.server import ExpenvLanguageServer


def register(server: ExpenvLanguageServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: ExpenvLanguageServer, params: types.HoverParams) -> types.Hover | None:
        async def answer() -> types.Hover | None:
            for provider in (data_hover, feature_hover):
                if (found := await provider(ls, params)) is not None:
                    return found
            return None

        return await ls.shared_answer(types.TEXT_DOCUMENT_HOVER, params, answer)
