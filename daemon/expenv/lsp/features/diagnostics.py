"""`textDocument/publishDiagnostics` for Python documents, notebook cells and the Feast repo:
unknown feature views, features and services in references; direct raw/curated reads in pipeline
code (the production sourcing policy: errors on the branches that require the feature store);
imports and `%pip install`s that the production image lacks (parity); what Spark Connect cannot run
in code that talks to a Spark Connect server; and a broken feature repo
(feature_store.yaml, registry, Python errors, missing sources) on the right file."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from lsprotocol import types

from expenv.domain.errors import ExpenvError
from expenv.lsp.server import ExpenvLanguageServer

log = logging.getLogger(__name__)
DEBOUNCE_SECONDS = 0.3
# Past this many lines a document gets one notice instead of the checks: they tokenize the whole
# text in pure Python (~0.3 ms a line), so a 27,000-line file cost a core for 10 s on every edit.
# `expenv check` still checks every file whatever its size.
MAX_CHECKED_LINES = 20_000
MAX_CHECKED_CHARS = 2_000_000   # the same limit for a file of few, very long lines
_SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning,
             "information": types.DiagnosticSeverity.Information}


def _diag(line: int, col: int, end_line: int, end_col: int, message: str, severity: str, code: str,
          data: dict | None = None) -> types.Diagnostic:
    return types.Diagnostic(
        range=types.Range(start=types.Position(line=line, character=col),
                          end=types.Position(line=end_line, character=max(end_col, col + 1) if end_line == line
                                             else end_col)),
        message=message, severity=_SEVERITY.get(severity, types.DiagnosticSeverity.Error), source="expenv",
        code=code, data=data)


def _spark_connect(ws, path: Path, source: str, context: str) -> list[types.Diagnostic]:
    from expenv.services.clusters.code import spark_connect_findings

    return [_diag(f.line, f.column, f.end_line, f.end_column, f.message, "warning", f.code)
            for f in spark_connect_findings(source, context)]


def _feature_refs(ws, path: Path, source: str, context: str) -> list[types.Diagnostic]:
    if not ws.services.config.features.repo:
        return []
    try:
        problems = ws.services.features.mention_problems(source)
    except ExpenvError:
        return []  # no loadable registry: the repo's own diagnostics say why
    return [_diag(p.mention.line, p.mention.start, p.mention.end_line, p.mention.end, p.message, "error",
                  "feature_ref") for p in problems]


def _policy(ws, path: Path, source: str, context: str) -> list[types.Diagnostic]:
    return [_diag(v.line - 1, v.column - 1, v.end_line - 1, v.end_column - 1, v.message, v.severity, "policy")
            for v in ws.services.features.check_document(path, source)]


def _parity(ws, path: Path, source: str, context: str) -> list[types.Diagnostic]:
    if not ws.services.config.environment.production_image:
        return []
    return [_diag(f.line, f.column, f.line, f.end_column, f.message, "warning", f.code,
                  {"requirement": f.requirement} if f.requirement else None)
            for f in ws.services.parity.findings(source, path)]


PROVIDERS = (_spark_connect, _feature_refs, _policy, _parity)


def document_diagnostics(ws, path: Path, source: str, context: str = "") -> list[types.Diagnostic]:
    """Problems of one document's text (0-based ranges); `context` is the rest of its notebook.
    Each provider is isolated: one that fails is logged and the others' diagnostics still go out."""
    out: list[types.Diagnostic] = []
    for provider in PROVIDERS:
        try:
            out += provider(ws, path, source, context)
        except Exception:  # noqa: BLE001 - a failing provider must not drop the others
            log.exception("diagnostics provider %s failed for %s", provider.__name__.lstrip("_"), path)
    return out


def repo_diagnostics(ws) -> dict[Path, list[types.Diagnostic]]:
    """Problems of the feature repo, by file (1-based positions in, 0-based out)."""
    by_file: dict[Path, list[types.Diagnostic]] = {}
    if ws.services is None or not ws.services.config.features.repo:
        return by_file
    for p in ws.services.features.validate():
        by_file.setdefault(Path(p.path).resolve(), []).append(
            _diag(p.line - 1, p.column - 1, p.line - 1, p.column, p.message, p.severity, p.code or "feature_repo"))
    return by_file


def register(server: ExpenvLanguageServer) -> None:
    pending: dict[str, asyncio.Task] = {}
    repo_files: dict[Path, set[Path]] = {}  # workspace root -> files that got repo diagnostics

    async def publish_document(ls: ExpenvLanguageServer, uri: str) -> None:
        await asyncio.sleep(DEBOUNCE_SECONDS)
        ws = ls.workspace_for_uri(uri)
        path = ls.path_for_uri(uri)  # a cell's is its notebook's
        if ws is None or ws.services is None or path is None or (doc := ls.open_document(uri)) is None:
            return
        if not ls.settings.diagnostics:   # the user turned them off (expenv.diagnostics.enabled)
            ls.clear_diagnostics([uri])
            return
        source = doc.source
        if (lines := source.count("\n") + 1) > MAX_CHECKED_LINES or len(source) > MAX_CHECKED_CHARS:
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[_diag(
                0, 0, 0, 1, f"expenv checks documents of up to {MAX_CHECKED_LINES:,} lines ({MAX_CHECKED_CHARS:,} "
                            f"characters) in the editor; this one has {lines:,} ({len(source):,}). "
                            "`expenv check` still checks it.", "information", "too_large")]))
            return
        try:
            found = await ls.run_blocking(document_diagnostics, ws, path, source, ls.notebook_text(uri))
            repo = (await ls.run_blocking(repo_diagnostics, ws)).get(path.resolve(), [])
        except Exception as exc:  # noqa: BLE001 - diagnostics must never take the daemon down
            ls.log_to_client(f"expenv diagnostics failed for {path}: {exc}", types.MessageType.Warning)
            return
        if ls.open_document(uri) is not doc or not ls.settings.diagnostics:  # closed, or turned off, meanwhile
            return
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=found + repo))

    async def publish_repo(ls: ExpenvLanguageServer, ws) -> None:
        try:
            by_file = await ls.run_blocking(repo_diagnostics, ws)
        except Exception as exc:  # noqa: BLE001
            ls.log_to_client(f"expenv: feature repo check failed: {exc}", types.MessageType.Warning)
            return
        stale = repo_files.get(ws.root, set()) - set(by_file)
        for path in stale:
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=path.as_uri(), diagnostics=[]))
        for path, diagnostics in by_file.items():
            if path.as_uri() not in ls.workspace.text_documents:  # open files get theirs with their text
                ls.text_document_publish_diagnostics(
                    types.PublishDiagnosticsParams(uri=path.as_uri(), diagnostics=diagnostics))
        repo_files[ws.root] = set(by_file)

    def document_changed(ls: ExpenvLanguageServer, uri: str) -> None:
        if (task := pending.get(uri)) is not None:
            task.cancel()
        pending[uri] = asyncio.ensure_future(publish_document(ls, uri))

    def repo_changed(ls: ExpenvLanguageServer, ws) -> None:
        asyncio.ensure_future(publish_repo(ls, ws))

    server.document_listeners.append(document_changed)
    server.repo_listeners.append(repo_changed)
