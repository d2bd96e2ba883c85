"""The daemon watches its own files, so every client gets reloads (ruff's server does the same):
with a client that supports dynamic registration, it registers watchers for what its workspaces
depend on (`client/registerCapability` of `workspace/didChangeWatchedFiles`); with one that does
not (Neovim by default), it polls them itself. Either way a change (an edit, `git checkout`,
`feast apply` in a terminal) reaches `FileWatching.changed`."""

from __future__ import annotations

import asyncio
import json
import logging
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.uris import to_fs_path

from expenv.domain.config import CONFIG_FILENAME
from expenv.services.watched_files import CONFIG, FEATURE_REPO, WatchSpec, kinds_changed

if TYPE_CHECKING:
    from expenv.lsp.server import ExpenvLanguageServer
    from expenv.services.file_poller import FilePoller

log = logging.getLogger(__name__)
CLIENT, POLL = "client", "poll"
_ALL_EVENTS = types.WatchKind.Create | types.WatchKind.Change | types.WatchKind.Delete


def watchers_for(specs: list[WatchSpec], relative_patterns: bool) -> list[types.FileSystemWatcher]:
    """The LSP watchers of `specs`: relative patterns when the client takes them, else absolute globs."""
    out = []
    for spec in specs:
        if not spec.registered:
            continue
        pattern = (types.RelativePattern(base_uri=spec.base.as_uri(), pattern=spec.pattern) if relative_patterns
                   else f"{spec.base.as_posix()}/{spec.pattern}")
        out.append(types.FileSystemWatcher(glob_pattern=pattern, kind=_ALL_EVENTS))
    return out


def paths_of(params: types.DidChangeWatchedFilesParams) -> list[Path]:
    return [Path(p) for change in params.changes if (p := to_fs_path(change.uri))]


class FileWatching:
    """Keeps the client's watchers (or the poller's) equal to what the workspaces depend on."""

    def __init__(self, server: ExpenvLanguageServer):
        self.server = server
        self.mode: str | None = None  # set by start(), after `initialize`
        self._relative = False
        self._registered: tuple[str, str] | None = None  # (registration id, watchers as JSON)
        self._wanted: str | None = None
        self._ids = count(1)
        self._lock = asyncio.Lock()
        self._poller: FilePoller | None = None

    def specs(self) -> list[WatchSpec]:
        return [spec for ws in self.server.workspaces.all() for spec in ws.watches()]

    def start(self) -> None:
        workspace = self.server.client_capabilities.workspace
        watched = workspace.did_change_watched_files if workspace else None
        self.mode = CLIENT if watched is not None and watched.dynamic_registration else POLL
        self._relative = bool(watched and watched.relative_pattern_support)
        self.update()

    def stop(self) -> None:
        if self._poller is not None:
            self._poller.stop()

    def update(self) -> None:
        """After a folder or config change: watch what the workspaces depend on now."""
        if self.mode == CLIENT:
            watchers = watchers_for(self.specs(), self._relative)
            wanted = json.dumps(self.server.protocol._converter.unstructure(watchers), sort_keys=True)
            if wanted != self._wanted:
                self._wanted = wanted
                asyncio.ensure_future(self._register(watchers, wanted))
        elif self.mode == POLL:
            self._poll(self.specs())

    async def _register(self, watchers: list[types.FileSystemWatcher], wanted: str) -> None:
        method = types.WORKSPACE_DID_CHANGE_WATCHED_FILES
        async with self._lock:
            if wanted != self._wanted:
                return  # a later update supersedes this one
            old = self._registered
            new_id = f"expenv-watched-files-{next(self._ids)}"
            try:
                await self.server.client_register_capability_async(types.RegistrationParams(registrations=[
                    types.Registration(id=new_id, method=method,
                                       register_options=types.DidChangeWatchedFilesRegistrationOptions(
                                           watchers=watchers))]))
            except Exception as exc:  # noqa: BLE001 - a client that refuses still deserves reloads
                self.server.log_to_client(f"expenv: the editor did not take file watchers ({exc}); "
                                          "watching the files itself", types.MessageType.Warning)
                self.mode = POLL
                self.update()
                return
            self._registered = (new_id, wanted)
            self.server.log_to_client(f"expenv: the editor watches {len(watchers)} file patterns for expenv")
            if old is not None:
                try:
                    await self.server.client_unregister_capability_async(types.UnregistrationParams(
                        unregisterations=[types.Unregistration(id=old[0], method=method)]))
                except Exception as exc:  # noqa: BLE001 - the old watchers only add events we filter
                    log.warning("expenv: could not drop the previous file watchers: %s", exc)

    def _poll(self, specs: list[WatchSpec]) -> None:
        from expenv.services.file_poller import POLL_SECONDS, FilePoller

        started = self._poller is None
        if started:
            loop = asyncio.get_running_loop()
            self._poller = FilePoller(lambda changes: loop.call_soon_threadsafe(
                self.changed, [path for path, _ in changes]))
        self._poller.watch(specs)
        if started:
            self._poller.start()
            self.server.log_to_client(f"expenv: watching {sum(s.polled for s in specs)} file patterns itself "
                                      f"(every {POLL_SECONDS:g} s; the editor does not offer to watch them)")

    def changed(self, paths: list[Path]) -> None:
        """Files changed on disk: reload a config, recheck a feature repo, rediagnose open documents."""
        ls = self.server
        paths = [Path(p).resolve() for p in paths]
        for path in dict.fromkeys(p for p in paths if p.name == CONFIG_FILENAME):
            if ls.open_document(path.as_uri()) is None:  # an open one: the editor's text is the truth
                ls.reload_config(path.as_uri())
        for ws in ls.workspaces.all():
            kinds = kinds_changed(ws.watches(), paths) - {CONFIG}
            if ws.services is None or not kinds:
                continue
            log.info("%s changed for %s", ", ".join(sorted(kinds)), ws.root)
            if FEATURE_REPO in kinds:
                ls.feature_repo_changed(ws)
            ls.recheck_open_documents(ws)
        self.update()
