"""`textDocument/completion` inside our strings: feature references and services in retrieval
calls, dataset paths, tables and columns elsewhere."""

from __future__ import annotations

from lsprotocol import types

from expenv.lsp.features.data_completion import TRIGGERS, data_completion
from expenv.lsp.features.feature_refs import feature_completion
from expenv.lsp.server import ExpenvLanguageServer


def register(server: ExpenvLanguageServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[*TRIGGERS, ":"]))
    async def complete(ls: ExpenvLanguageServer, params: types.CompletionParams) -> types.CompletionList | None:
        async def answer() -> types.CompletionList | None:
            late = None   # a provider whose backend was slow: the editor should ask again
            for provider in (feature_completion, data_completion):
                found = await provider(ls, params)
                if found is not None and found.items:
                    return found
                late = late or found
            return late

        return await ls.shared_answer(types.TEXT_DOCUMENT_COMPLETION, params, answer)
