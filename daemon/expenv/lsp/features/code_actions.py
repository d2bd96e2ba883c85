"""`textDocument/codeAction`: dataset literal actions, the feature-store rewrite of direct reads,
"Add to the production requirements" on parity diagnostics, and "Run this on cluster profile NAME"."""

from __future__ import annotations

from lsprotocol import types

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
        found = [*await ls.run_blocking(policy_actions, ls, params), *parity_actions(ls, params),
                 *data_actions(ls, params), *cluster_actions(ls, params)]
        return found or None
