"""The expenv language server: state lives here so each feature handler stays a few lines."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import attrs
from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path

from expenv import __version__
from expenv.domain.config import CONFIG_FILENAME
from expenv.domain.secrets import known_secrets, redact_data
from expenv.lsp import client_units
from expenv.lsp.answers import DEFAULT_TIMEOUT_MS, AnswersInTime, SharedAnswers, SharedRequests
from expenv.lsp.client_units import REQUESTED_TEXT, requested_text
from expenv.lsp.logs import set_stderr_level
from expenv.lsp.settings import EditorSettings, parse
from expenv.lsp.transport import exit_now
from expenv.lsp.watching import FileWatching
from expenv.services.ledger import set_process_role
from expenv.services.workspace import Workspace, WorkspaceSet

log = logging.getLogger(__name__)
SETTINGS_PULL_SECONDS = 10
WORKSPACE_CHANGED = "expenv/workspaceChanged"  # {workspace, what}: the editor's views read again


class ExpenvProtocol(LanguageServerProtocol):
    """Position encoding: expenv's features count columns in Python characters (code points), so
    UTF-32 when the client offers it (Neovim, Helix, ...), else UTF-16, the LSP default, which
    lsp/client_units.py converts at the edge. pygls would take the client's first choice, often
    UTF-8, where every non-ASCII character before a column ("Zürich") would shift hovers."""

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams):
        general = params.capabilities.general
        if general is not None and general.position_encodings:
            offered = list(general.position_encodings)
            general.position_encodings = [types.PositionEncodingKind.Utf32 if types.PositionEncodingKind.Utf32
                                          in offered else types.PositionEncodingKind.Utf16]
        return (yield from super().lsp_initialize(params))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.shared_requests = SharedRequests()   # identical hovers/completions in flight (transport)

    def _send_data(self, data):
        """Everything the daemon sends (results, hovers, lenses, diagnostics, logs, errors) is
        redacted here, once; only the text of an edit to the user's own file is left as is."""
        result = getattr(data, "result", None)
        if hasattr(data, "id") and attrs.has(type(result)):   # an LSP type (hover, completions)
            data = {"jsonrpc": data.jsonrpc, "id": data.id, "result": self._redacted_result(result)}
        elif data:
            data = redact_data(json.loads(json.dumps(data, default=self._serialize_message)), keep=_KEEP)
            _drop_traceback(data)
        sent = super()._send_data(data)
        if isinstance(data, dict) and "method" not in data and data.get("id") is not None:
            self._answer_followers(data)
        return sent

    def _answer_followers(self, response: dict) -> None:
        """The requests that followed the one just answered (answers.SharedRequests) get a copy of
        its result, serialized once; after an error, each is handled on its own instead."""
        followers = self.shared_requests.answered(response["id"])
        if not followers:
            return
        if "error" in response:   # cancelled, invalid, failed: not theirs to share
            for _, message in followers:
                self.shared_requests.redispatch(message)
            return
        result = json.dumps(response.get("result"))
        frames = []
        for follower_id, _ in followers:
            body = f'{{"jsonrpc": "2.0", "id": {json.dumps(follower_id)}, "result": {result}}}'.encode()
            frames.append(f"Content-Length: {len(body)}\r\nContent-Type: {self.CONTENT_TYPE}; "
                          f"charset={self.CHARSET}\r\n\r\n".encode() + body)
        # One write for all: each write gives up the GIL, and getting it back from a busy thread (a
        # launch's imports) costs up to a switch interval.
        written = self.writer.write(b"".join(frames))
        if inspect.isawaitable(written):
            asyncio.ensure_future(written)

    def _redacted_result(self, result):
        """The JSON of a result, redacted. Requests that share one answer (SharedAnswers) send the
        same object many times: its JSON is kept, by identity, while the secrets to mask are the same."""
        secrets = known_secrets()
        with _SENT_LOCK:
            kept = _sent_results.get(id(result))
        if kept is not None and kept[0] is result and kept[1] == secrets:
            return kept[2]
        redacted = redact_data(json.loads(json.dumps(result, default=self._serialize_message)), keep=_KEEP)
        with _SENT_LOCK:
            _sent_results[id(result)] = (result, secrets, redacted)   # the object is held: its id stays its own
            while len(_sent_results) > SENT_RESULTS_KEPT:
                _sent_results.popitem(last=False)
        return redacted

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):
        """A change whose range ends before it starts is no edit an editor makes, and pygls would
        apply it by writing the text between its two ends twice (fuzzed edits doubled a document to
        3.6 MB in ten changes): such a change is skipped, with a warning in the log."""
        kept = [change for change in params.content_changes if not _reversed(change)]
        if len(kept) < len(params.content_changes):
            log.warning("skipped %d change(s) to %s whose range ends before it starts",
                        len(params.content_changes) - len(kept), params.text_document.uri)
            params.content_changes = kept
        return (yield from super().lsp_text_document__did_change(params))

    def handle_message(self, message):
        """pygls sorts each message by testing it against typing Protocols (RPCRequest, ...), which
        Python 3.11 does attribute by attribute: a tenth of a hover's cost in a burst. A request
        (an id and a method) goes straight to pygls' request handling, after the same checks."""
        method = getattr(message, "method", None)
        if (not isinstance(method, str) or getattr(message, "id", None) is None
                or getattr(message, "jsonrpc", None) != self.VERSION or (self._shutdown and method != types.EXIT)):
            return super().handle_message(message)
        context = contextvars.copy_context()
        uri = getattr(getattr(message.params, "text_document", None), "uri", None)
        if isinstance(uri, str) and self._workspace is not None \
                and (document := self._workspace.text_documents.get(unquote(uri))) is not None:
            context.run(REQUESTED_TEXT.set, (unquote(uri), document.source, document.version))
        context.run(self._handle_request, message.id, method, message.params)

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args):
        """Exit at once (transport.exit_now), not through pygls' wait for busy threads."""
        if (user_handler := self.fm.features.get(types.EXIT)) is not None:
            yield user_handler, args, None
        exit_now(0 if self._shutdown else 1)


_KEEP = frozenset({"newText"})
SENT_RESULTS_KEPT = 64
_SENT_LOCK = threading.Lock()   # results are sent from the loop and from pygls' worker threads
_sent_results: OrderedDict[int, tuple[Any, list[str], Any]] = OrderedDict()


def _reversed(change: types.TextDocumentContentChangeEvent) -> bool:
    r = getattr(change, "range", None)
    return r is not None and (r.end.line, r.end.character) < (r.start.line, r.start.character)


def _drop_traceback(message: dict) -> None:
    """pygls puts the Python traceback of an unexpected error into the response's `data`: the
    client gets the (redacted) one-line message, the traceback stays in the daemon's log."""
    error = message.get("error") if isinstance(message, dict) else None
    if isinstance(error, dict) and isinstance(error.get("data"), dict) and "traceback" in error["data"]:
        del error["data"]


class ExpenvLanguageServer(LanguageServer):
    """One daemon for every folder of a (multi-root) workspace."""

    def __init__(self) -> None:
        super().__init__(
            "expenv",
            __version__,
            protocol_cls=ExpenvProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            notebook_document_sync=types.NotebookDocumentSyncOptions(
                notebook_selector=[
                    types.NotebookDocumentFilterWithCells(
                        notebook="jupyter-notebook",
                        cells=[types.NotebookCellLanguage(language="python")],
                    )
                ]
            ),
        )
        self.workspaces = WorkspaceSet()
        self.watching = FileWatching(self)
        set_process_role("daemon")
        self._warmed: set[Path] = set()
        # Feature modules that follow Python documents or a workspace's feature repo add a
        # callback here: pygls allows one handler per notification.
        self.document_listeners: list = []
        self.repo_listeners: list = []
        # (ls, uri) -> [CodeLens] of feature modules other than the tracking lens (one handler per method).
        self.lens_providers: list = []
        self.initialized_listeners: list = []   # called once the client is initialized (background tasks)
        self.answers = AnswersInTime()
        self.shared_answers = SharedAnswers()   # identical hovers/completions in flight
        self.settings = EditorSettings()   # the user's editor settings (lsp/settings.py)

    # --- positions: the client's units at the edge, code points inside (lsp/client_units.py) ---

    def feature(self, feature_name: str, options: Any | None = None):
        register = super().feature(feature_name, options)
        if feature_name not in client_units.POSITIONED_REQUESTS:
            return register

        def register_in_client_units(handler):
            register(client_units.in_client_units(self, handler))
            return handler

        return register_in_client_units

    def text_document_publish_diagnostics(self, params: types.PublishDiagnosticsParams) -> None:
        super().text_document_publish_diagnostics(client_units.to_client(self, params))

    # --- workspace folders and configs ---------------------------------------------------

    def add_folder_uri(self, uri: str) -> Workspace | None:
        path = to_fs_path(uri)
        return self.workspaces.add(Path(path)) if path else None

    def publish_config_problems(self, ws: Workspace) -> None:
        from expenv.lsp.convert import problems_to_diagnostics

        uri = ws.config_path.as_uri()
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=problems_to_diagnostics(ws.problems))
        )

    def reload_config(self, uri: str, text: str | None = None) -> None:
        """Re-read one `expenv.toml` (from the editor's text when given) and publish its problems."""
        path = to_fs_path(uri)
        if not path or Path(path).name != CONFIG_FILENAME:
            return
        ws = self.workspaces.for_config_file(Path(path))
        before = ws.generation
        ws.load(text)
        self.publish_config_problems(ws)
        if ws.generation != before:
            self.log_to_client(f"expenv: reloaded services for {ws.root}", types.MessageType.Info)
            self.workspace_changed(ws, "config")
            if ws.services is not None and ws.services.config.features.repo:
                self.feature_repo_changed(ws)
            self.recheck_open_documents(ws)
            self.watching.update()  # the repo, requirements or pipeline paths may have moved
        elif ws.problems and any(p.severity.value == "error" for p in ws.problems):
            kept = "kept the last valid config" if ws.config else "no services until it is fixed"
            self.log_to_client(f"expenv: {ws.config_path} has errors; {kept}", types.MessageType.Warning)

    # --- documents and the services behind them ----------------------------------------

    def open_document(self, uri: str):
        """The editor's text of an open document or notebook cell, else None (pygls keys its
        documents by the unquoted URI: cell URIs arrive quoted, `...#W0sZmlsZQ%3D%3D`)."""
        return self.workspace.text_documents.get(unquote(uri))

    def notebook_text(self, cell_uri: str) -> str:
        """All cells of the notebook holding `cell_uri` ("" for a plain document)."""
        notebook = self.workspace.get_notebook_document(cell_uri=cell_uri)
        if notebook is None:
            return ""
        docs = (self.open_document(cell.document) for cell in notebook.cells)
        return "\n".join(doc.source for doc in docs if doc is not None)

    def path_for_uri(self, uri: str) -> Path | None:
        """The file of a document, or of the notebook that holds a cell."""
        notebook = self.workspace.get_notebook_document(cell_uri=uri)
        path = to_fs_path(notebook.uri if notebook else uri)
        return Path(path) if path else None

    def workspace_for_uri(self, uri: str) -> Workspace | None:
        """The workspace of a file, or of the notebook that holds a cell."""
        path = self.path_for_uri(uri)
        return self.workspaces.owning(path) if path else None

    def data_for_uri(self, uri: str):
        ws = self.workspace_for_uri(uri)
        return ws.services.data if ws and ws.services else None

    def document_source(self, uri: str) -> str:
        """The text of a document: the editor's when open, else the file's, else "" (a request
        may name a document that was never opened and does not exist)."""
        return client_units.document_text(self, uri) or ""

    def python_document_changed(self, uri: str) -> None:
        for listener in self.document_listeners:
            listener(self, uri)

    def apply_settings(self, raw: Any) -> None:
        """The editor's settings, at once: a bad value is named to the user and keeps its default."""
        settings, problems = parse(raw)
        for problem in problems:
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning,
                                                             message=f"expenv: ignored a setting: {problem}"))
        before, self.settings = self.settings, settings
        if settings.log_level != before.log_level:
            set_stderr_level(settings.log_level)
        if settings.diagnostics != before.diagnostics:   # shown again, or cleared
            for ws in self.workspaces.all():
                self.recheck_open_documents(ws)

    async def pull_settings(self) -> None:
        """A didChangeConfiguration without values (`settings: null`, the pull model of LSP 3.17
        clients such as Neovim's): ask for the `expenv` section. A client that cannot be asked keeps
        the settings it has; nothing is reset to defaults by a bare change notice."""
        workspace = self.client_capabilities.workspace if self.client_capabilities else None
        if not (workspace and workspace.configuration):
            log.debug("settings changed without values, and the client answers no workspace/configuration")
            return
        try:
            pulled = await asyncio.wait_for(self.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section="expenv")])), SETTINGS_PULL_SECONDS)
        except Exception as exc:   # noqa: BLE001 - the client's answer is outside our control
            log.warning("could not read the editor's expenv settings: %s", exc)
            return
        self.apply_settings(pulled[0] if pulled else None)

    def recheck_open_documents(self, ws: Workspace) -> None:
        """What the open Python documents and notebook cells of `ws` depend on changed."""
        for uri in self.open_python_uris(ws):
            self.python_document_changed(uri)

    def open_python_uris(self, ws: Workspace) -> list[str]:
        cells: set[str] = set()
        out = []
        for nb_uri, notebook in self.workspace.notebook_documents.items():
            cells.update(unquote(cell.document) for cell in notebook.cells)
            path = to_fs_path(nb_uri)
            if path and self.workspaces.owning(Path(path)) is ws:
                out += [cell.document for cell in notebook.cells if cell.kind == types.NotebookCellKind.Code
                        and (doc := self.open_document(cell.document)) is not None and doc.language_id == "python"]
        for uri, doc in self.workspace.text_documents.items():
            if uri in cells or not (uri.endswith(".py") or doc.language_id == "python"):
                continue
            if (path := to_fs_path(uri)) and self.workspaces.owning(Path(path)) is ws:
                out.append(uri)
        return out

    def clear_diagnostics(self, uris: list[str]) -> None:
        for uri in uris:
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def feature_repo_changed(self, ws: Workspace) -> None:
        for listener in self.repo_listeners:
            listener(self, ws)
        self.workspace_changed(ws, "features")

    def warm_data(self, uri: str) -> None:
        """Once per workspace, import the data engines in the background, so the first hover
        does not wait ~0.3 s for pyarrow. Only when a Python document opens: idle stays small."""
        ws = self.workspace_for_uri(uri)
        if ws is None or ws.services is None or ws.root in self._warmed:
            return
        self._warmed.add(ws.root)
        asyncio.get_running_loop().run_in_executor(None, ws.services.data.warm)

    def workspace_for_command(self, options: dict[str, Any]) -> Workspace:
        """`options["workspace"]` (a folder path or URI), else the only configured workspace."""
        from expenv.domain.errors import ExpenvError

        given = options.get("workspace")
        if given is not None and not isinstance(given, str):
            from expenv.lsp.errors import InvalidArgument

            raise InvalidArgument("workspace", "workspace must be a folder path or a file:// URI")
        if given:
            path = to_fs_path(given) if "://" in str(given) else str(given)
            ws = self.workspaces.owning(Path(path)) if path else None
        else:
            configured = [w for w in self.workspaces.all() if w.services]
            if len(configured) > 1:
                raise ExpenvError("several expenv workspaces are open: pass {\"workspace\": <folder>}")
            ws = configured[0] if configured else None
        if ws is None or ws.services is None:
            raise ExpenvError(f"no workspace with a valid expenv.toml{f' at {given}' if given else ''}")
        return ws

    # --- output ---------------------------------------------------------------------------

    def report_server_error(self, error: Exception, source) -> None:
        """A failed notification or an unreadable message goes to the log (stderr and the client's
        output channel), not to a pop-up per message as pygls does."""
        log.error("%s: %s", getattr(source, "__name__", source), error)

    def workspace_changed(self, ws: Workspace, what: str) -> None:
        """Tell the editor's views that `what` (config | features | clusters | pipelines) of `ws`
        changed, so they read it again instead of polling (`expenv/workspaceChanged`)."""
        self.protocol.notify(WORKSPACE_CHANGED, {"workspace": str(ws.root), "what": what})

    def log_to_client(self, message: str, kind: types.MessageType = types.MessageType.Log) -> None:
        self.window_log_message(types.LogMessageParams(type=kind, message=message))

    async def answer_in_time(self, uri: str, key, fn, *args, network: bool = True):
        """fn(*args) off the loop; when it waits on the `network`, `answers.LATE` once the `[lsp]
        answer_timeout_ms` of the document's workspace is up (the work goes on; lsp/answers.py)."""
        ws = self.workspace_for_uri(uri)
        config = ws.services.config if ws is not None and ws.services is not None else None
        timeout = self.settings.answer_timeout_ms or (
            config.lsp.answer_timeout_ms if config is not None else DEFAULT_TIMEOUT_MS)
        return await self.answers.within(timeout if network else None, (id(config), *key), fn, *args)

    async def shared_answer(self, method: str, params, answer):
        """`await answer()` for a positioned request, shared with the identical request (same
        document version and position) still in flight (lsp/answers.py: SharedAnswers)."""
        uri = params.text_document.uri
        if (requested := requested_text(uri)) is not None:
            version = requested[2]
        else:
            version = document.version if (document := self.open_document(uri)) is not None else None
        key = (method, uri, version, params.position.line, params.position.character)
        return await self.shared_answers.shared(key, answer)

    async def run_blocking(self, fn, *args):
        """Run slow service work off the event loop so the editor never waits on it."""
        return await asyncio.to_thread(fn, *args)


def create_server() -> ExpenvLanguageServer:
    """Build the server and register every feature module (one LSP feature per file)."""
    from expenv.lsp.features import register_all

    server = ExpenvLanguageServer()
    register_all(server)
    return server
