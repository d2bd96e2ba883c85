"""LSP features, one per module; each module exposes `register(server)`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from expenv.lsp.server import ExpenvLanguageServer


def register_all(server: ExpenvLanguageServer) -> None:
    from expenv.lsp.features import (
        config_file,
        data_actions,
        data_commands,
        data_completion,
        data_hover,
        lifecycle,
        status,
        tracking_commands,
        tracking_lens,
    )

    for module in (lifecycle, config_file, status, data_hover, data_completion, data_actions, data_commands,
                   tracking_commands, tracking_lens):
        module.register(server)
