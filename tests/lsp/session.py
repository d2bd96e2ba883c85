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


def accept_registrations(client: LanguageClient) -> None:
    """Answer `client/(un)registerCapability` as an editor does, keeping what the server registered
    in `client.registrations` (id -> Registration)."""
    if hasattr(client, "registrations"):
        return
    client.registrations = {}

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(ls, params: types.RegistrationParams):
        ls.registrations.update({r.id: r for r in params.registrations})

    @client.feature(types.CLIENT_UNREGISTER_CAPABILITY)
    def unregister(ls, params: types.UnregistrationParams):
        for gone in params.unregisterations:
            ls.registrations.pop(gone.id, None)


async def start(client: LanguageClient, *folders: Path, options: dict | None = None) -> types.InitializeResult:
    accept_registrations(client)
    return await client.initialize_session(types.InitializeParams(
        capabilities=capabilities(client.profile),
        root_uri=folders[0].as_uri() if folders else None,
        workspace_folders=[types.WorkspaceFolder(uri=f.as_uri(), name=f.name) for f in folders],
        initialization_options=options,
    ))


async def end_session(client: LanguageClient) -> None:
    """`shutdown` then `exit`. When the test failed before the session started, or the daemon does
    not answer `shutdown`, `exit` is sent anyway: pytest-lsp then waits for the process to end, and
    without `exit` that wait hung the whole suite (pytest's timeout does not reach it)."""
    if client.capabilities is None:   # never initialized, or the test ended the session itself
        server = getattr(client, "_server", None)
        if server is not None and server.returncode is None:
            server.kill()   # `exit` cannot be sent before `initialize`
        return
    try:
        await asyncio.wait_for(client.shutdown_async(None), 60)
    finally:
        client.exit(None)


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


class EditorFileWatcher:
    """What an editor does with the watchers a server registered (`client.registrations`, see
    tests/conftest.py): it notices changes on disk under the workspace folders and sends
    `workspace/didChangeWatchedFiles` for the files that a registered watcher matches, nothing
    else. A client without dynamic registration has no watchers, so it sends nothing: then the
    server must notice the change by itself."""

    def __init__(self, client: LanguageClient, *folders: Path):
        self.client, self.folders = client, [f.resolve() for f in folders]
        self.seen = self._scan()

    def _scan(self) -> dict[Path, tuple[int, int, int]]:
        out = {}
        for folder in self.folders:
            for path in folder.rglob("*"):
                if ".git/objects" in path.as_posix() or not path.is_file():
                    continue
                st = path.stat()
                out[path] = (st.st_mtime_ns, st.st_size, st.st_ino)
        return out

    def watchers(self) -> list[types.FileSystemWatcher]:
        from lsprotocol.converters import get_converter

        options = [get_converter().structure(r.register_options, types.DidChangeWatchedFilesRegistrationOptions)
                   for r in self.client.registrations.values() if r.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES]
        return [w for o in options for w in o.watchers]

    def watched(self, path: Path, kind: types.WatchKind = types.WatchKind.Change) -> bool:
        """Does a registered watcher match `path` for events of `kind`?"""
        for watcher in self.watchers():
            if watcher.kind is not None and not watcher.kind & kind:
                continue
            pattern = watcher.glob_pattern
            if isinstance(pattern, str):
                base, glob = "", pattern
            else:
                base_uri = pattern.base_uri if isinstance(pattern.base_uri, str) else pattern.base_uri.uri
                base, glob = base_uri.removeprefix("file://").rstrip("/") + "/", pattern.pattern
            if _glob(base + glob).fullmatch(path.resolve().as_posix()):
                return True
        return False

    def send_changes(self) -> list[str]:
        """Send the changes since the last call that the registered watchers cover; their URIs."""
        now = self._scan()
        changes = [(p, types.FileChangeType.Deleted, types.WatchKind.Delete) for p in self.seen if p not in now]
        changes += [(p, types.FileChangeType.Created, types.WatchKind.Create) if p not in self.seen else
                    (p, types.FileChangeType.Changed, types.WatchKind.Change)
                    for p, stamp in now.items() if self.seen.get(p) != stamp]
        self.seen = now
        events = [types.FileEvent(uri=p.as_uri(), type=t) for p, t, kind in changes if self.watched(p, kind)]
        if events:
            self.client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=events))
        return [e.uri for e in events]


def _glob(pattern: str):
    """An LSP glob (`**`, `*`, `?`, `{a,b}`) as a regular expression over a whole path."""
    import re

    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] in "*?":
            out, i = out + ("[^/]*" if pattern[i] == "*" else "[^/]"), i + 1
        elif pattern[i] == "{":
            end = pattern.index("}", i)
            out, i = out + "(?:" + "|".join(map(re.escape, pattern[i + 1:end].split(","))) + ")", end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def dynamic_file_watching(client: LanguageClient) -> bool:
    watched = capabilities(client.profile).workspace.did_change_watched_files
    return bool(watched and watched.dynamic_registration)


async def watching_started(client: LanguageClient) -> None:
    """Wait until the server watches its files: registered with the client, or polling itself."""
    if dynamic_file_watching(client):
        await wait_for(lambda: EditorFileWatcher(client).watchers(), timeout=15)
    else:
        await wait_for(lambda: any("file patterns itself" in m.message for m in client.log_messages), timeout=15)
