"""LSP features, one per module; each module exposes `register(server)`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from expenv.lsp.server import ExpenvLanguageServer


def register_all(server: ExpenvLanguageServer) -> None:
    from expenv.lsp.features import (
        ci_commands,
        cluster_actions,
        cluster_commands,
        code_actions,
        completion,
        config_file,
        data_commands,
        diagnostics,
        environment_commands,
        feature_commands,
        feature_refs,
        file_watching,
        hover,
        kernel_commands,
        lifecycle,
        pipeline_commands,
        pipeline_lens,
        project_commands,
        status,
        tracking_commands,
        tracking_lens,
    )

    for module in (lifecycle, config_file, status, hover, completion, code_actions, diagnostics, feature_refs,
                   data_commands, feature_commands, environment_commands, tracking_commands, tracking_lens,
                   cluster_commands, cluster_actions, pipeline_commands, pipeline_lens, file_watching,
                   project_commands, kernel_commands, ci_commands):
        module.register(server)
