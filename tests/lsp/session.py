"""Helpers for driving the daemon with pytest-lsp."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities


def capabilities(profile: str) -> types.ClientCapabilities:
    caps = client_capabilities(profile)
    if profile == "visual_studio_code" and caps.notebook_document is None:
        # the recorded VS Code (1.65) predates notebook sync; current VS Code has it
        caps.notebook_document = types.NotebookDocumentClientCapabilities(
            synchronization=types.NotebookDocumentSyncClientCapabilities())
    return caps


async def start(client: LanguageClient, *folders: Path, options: dict | None = None) -> types.InitializeResult:
    return await client.initialize_session(types.InitializeParams(
        capabilities=capabilities(client.profile),
        root_uri=folders[0].as_uri() if folders else None,
        workspace_folders=[types.WorkspaceFolder(uri=f.as_uri(), name=f.name) for f in folders],
        initialization_options=options,
    ))


async def status(client: LanguageClient) -> dict:
    return await command(client, "expenv.status", {})


async def command(client: LanguageClient, name: str, options: dict[str, Any]) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=[options]))


async def wait_for(predicate, timeout: float = 10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def open_python(client: LanguageClient, path: Path, text: str) -> str:
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    return uri


def open_notebook(client: LanguageClient, path: Path, cells: list[str]) -> list[str]:
    """Open a notebook with one code cell per source; returns the cell URIs."""
    nb_uri = path.as_uri()
    cell_uris = [f"vscode-notebook-cell:{path}#W{i}sZmlsZQ%3D%3D" for i in range(len(cells))]
    client.notebook_document_did_open(types.DidOpenNotebookDocumentParams(
        notebook_document=types.NotebookDocument(
            uri=nb_uri, notebook_type="jupyter-notebook", version=1,
            cells=[types.NotebookCell(kind=types.NotebookCellKind.Code, document=u) for u in cell_uris]),
        cell_text_documents=[types.TextDocumentItem(uri=u, language_id="python", version=1, text=t)
                             for u, t in zip(cell_uris, cells)]))
    return cell_uris


def position_of(text: str, needle: str, offset: int = 1) -> types.Position:
    """The position `offset` characters into the first occurrence of `needle`."""
    index = text.index(needle) + offset
    line = text.count("\n", 0, index)
    return types.Position(line=line, character=index - (text.rfind("\n", 0, index) + 1))
