"""`textDocument/codeAction`: dataset literal actions, the feature-store rewrite of direct reads,
"Add to the production requirements" on parity diagnostics, and "Run this on cluster profile NAME"."""

from __future__ import annotations

from lsprotocol import types

from expenv.lsp.answers import LATE
from expenv.lsp.features.cluster_actions import cluster_actions
from expenv.lsp.features.data_actions import data_actions
from expenv.lsp.features.parity_actions import parity_actions
from expenv.lsp.features.policy_actions import policy_actions
from expenv.lsp.server import ExpenvLanguageServer


def register(server: ExpenvLanguageServer) -> None:
    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.Refactor,
                                                   types.CodeActionKind.RefactorRewrite]),
    )
    async def code_actions(ls: ExpenvLanguageServer, params: types.CodeActionParams,
                           ) -> list[types.CodeAction | types.Command] | None:
        # The policy rewrite asks about every dataset the document names: at most [lsp] answer_timeout_ms
        # when one of them may sit behind a network endpoint.
        uri = params.text_document.uri
        at = (uri, params.range.start.line, params.range.start.character, hash(ls.document_source(uri)))
        data = ls.data_for_uri(uri)
        policy = await ls.answer_in_time(uri, ("policy-actions", *at), policy_actions, ls, params,
                                         network=data is not None and data.on_network())
        found = [*(policy if policy is not LATE else []), *parity_actions(ls, params),
                 *await data_actions(ls, params), *cluster_actions(ls, params)]
        return found or None
