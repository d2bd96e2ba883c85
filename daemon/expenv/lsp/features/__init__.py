"""LSP features, one per module; each module exposes `register(server)`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from expenv.lsp.server import ExpenvLanguageServer


def register_all(server: ExpenvLanguageServer) -> None:
    from expenv.lsp.features import config_file, lifecycle, status

    for module in (lifecycle, config_file, status):
        module.register(server)
