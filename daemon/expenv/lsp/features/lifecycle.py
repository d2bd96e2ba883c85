"""`initialize`, `initialized` and `workspace/didChangeWorkspaceFolders`: find each folder's expenv.toml."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from pygls.uris import to_fs_path

from expenv.lsp.server import ExpenvLanguageServer
from expenv.lsp.settings import section


def register(server: ExpenvLanguageServer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls: ExpenvLanguageServer, params: types.InitializeParams) -> None:
        # Only tomllib parsing here: no service is built until something asks for it.
        # initializationOptions: the editor's settings (lsp/settings.py); over TCP also the token.
        options = params.initialization_options
        if isinstance(options, dict) and "settings" in options:
            ls.apply_settings(options["settings"])
        for folder in ls.workspace.folders.values():
            ls.add_folder_uri(folder.uri)
        if not ls.workspace.folders and ls.workspace.root_uri:
            ls.add_folder_uri(ls.workspace.root_uri)

    @server.feature(types.INITIALIZED)
    def initialized(ls: ExpenvLanguageServer, params: types.InitializedParams) -> None:
        for ws in ls.workspaces.all():
            if ws.problems or ws.has_config_file:
                ls.publish_config_problems(ws)
            if ws.services is not None and ws.services.config.features.repo:
                ls.feature_repo_changed(ws)
        roots = ", ".join(str(ws.root) for ws in ls.workspaces.all()) or "no folder"
        ls.log_to_client(f"expenv {ls.version} serving {roots}", types.MessageType.Info)
        for listener in ls.initialized_listeners:
            listener(ls)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def settings_changed(ls: ExpenvLanguageServer, params: types.DidChangeConfigurationParams) -> None:
        if params.settings is None:   # a change notice without values: pull them
            await ls.pull_settings()
        else:
            ls.apply_settings(section(params.settings))

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def folders_changed(ls: ExpenvLanguageServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
        for removed in params.event.removed:
            if (path := to_fs_path(removed.uri)) is not None:
                ls.workspaces.remove(Path(path))
        for added in params.event.added:
            ws = ls.add_folder_uri(added.uri)
            if ws is not None and (ws.problems or ws.has_config_file):
                ls.publish_config_problems(ws)
        ls.watching.update()
