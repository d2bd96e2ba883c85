"""Positions in the client's units.

expenv's features count columns in code points (Python string indices). The daemon asks for
UTF-32 (see `ExpenvProtocol`); a client that cannot take it (VS Code) counts UTF-16 units, where
a character outside the Basic Multilingual Plane (an emoji) takes two. So every position that
comes in and every range that goes out is converted here, at two choke points rather than in each
feature: position-taking request handlers are wrapped when they register
(`ExpenvLanguageServer.feature`), and published diagnostics are converted on the way out
(`ExpenvLanguageServer.text_document_publish_diagnostics`).
"""

from __future__ import annotations

import asyncio
import contextvars
import re
from pathlib import Path
from urllib.parse import unquote
from typing import TYPE_CHECKING, Any, Callable

import attrs
from lsprotocol import types
from pygls.feature_manager import has_ls_param_or_annotation
from pygls.uris import to_fs_path

if TYPE_CHECKING:
    from expenv.lsp.server import ExpenvLanguageServer

# Requests whose params name a position or range in a document, or whose result carries ranges.
POSITIONED_REQUESTS = frozenset({
    types.TEXT_DOCUMENT_HOVER, types.TEXT_DOCUMENT_COMPLETION, types.TEXT_DOCUMENT_CODE_ACTION,
    types.TEXT_DOCUMENT_CODE_LENS, types.TEXT_DOCUMENT_DEFINITION, types.TEXT_DOCUMENT_REFERENCES,
    types.TEXT_DOCUMENT_DECLARATION, types.TEXT_DOCUMENT_TYPE_DEFINITION, types.TEXT_DOCUMENT_IMPLEMENTATION,
    types.TEXT_DOCUMENT_DOCUMENT_HIGHLIGHT, types.TEXT_DOCUMENT_DOCUMENT_LINK, types.TEXT_DOCUMENT_DOCUMENT_SYMBOL,
    types.TEXT_DOCUMENT_SIGNATURE_HELP, types.TEXT_DOCUMENT_INLAY_HINT, types.TEXT_DOCUMENT_RENAME,
    types.TEXT_DOCUMENT_PREPARE_RENAME,
})
# Fields whose values are the feature's own JSON (command arguments, resolve data): never units.
_OPAQUE_FIELDS = frozenset({"arguments", "data"})
_LINE_BREAK = re.compile(r"\r\n|\r|\n")   # LSP's line breaks (str.splitlines also splits on \x0c, \u2028, ...)


def _width(encoding: str) -> Callable[[str], int]:
    if encoding == types.PositionEncodingKind.Utf8:
        return lambda ch: len(ch.encode("utf-8"))
    return lambda ch: 2 if ord(ch) > 0xFFFF else 1


class _Pass:
    """One conversion of one message: reads each document's lines once."""

    def __init__(self, ls: ExpenvLanguageServer, to_client: bool):
        self.ls, self.to_client = ls, to_client
        encoding = ls.workspace.position_encoding or types.PositionEncodingKind.Utf16
        self.width = _width(encoding)
        self.utf16 = encoding != types.PositionEncodingKind.Utf8
        self._lines: dict[str, list[str] | None] = {}

    def lines(self, uri: str) -> list[str] | None:
        """The document's lines, or None when its units and code points agree everywhere."""
        if uri not in self._lines:
            text = document_text(self.ls, uri)
            same = text is None or text.isascii() or (self.utf16 and max(text) <= "\uffff")
            self._lines[uri] = None if same else _LINE_BREAK.split(text)
        return self._lines[uri]

    def position(self, uri: str | None, pos: types.Position) -> types.Position:
        lines = self.lines(uri) if uri else None
        if not lines or pos.line >= len(lines) or lines[pos.line].isascii():
            return pos
        line = lines[pos.line]
        if self.to_client:
            head = line[:pos.character]
            beyond = max(pos.character - len(line), 0)   # a range may end past the line's text
            return types.Position(line=pos.line, character=sum(map(self.width, head)) + beyond)
        units = index = 0
        while index < len(line) and units < pos.character:
            units += self.width(line[index])
            index += 1
        return types.Position(line=pos.line, character=index + max(pos.character - units, 0))

    def convert(self, value: Any, uri: str | None) -> Any:
        """`value` with every Position and Range in it converted; unchanged objects are reused."""
        if isinstance(value, types.Position):
            return self.position(uri, value)
        if isinstance(value, types.Range):
            start, end = self.position(uri, value.start), self.position(uri, value.end)
            return value if (start, end) == (value.start, value.end) else types.Range(start=start, end=end)
        if isinstance(value, list):
            items = [self.convert(item, uri) for item in value]
            return value if all(a is b for a, b in zip(items, value)) else items
        if isinstance(value, types.Command) or not attrs.has(type(value)):
            return value
        uri = _uri_of(value) or uri
        changed = {}
        for field in attrs.fields(type(value)):
            current = getattr(value, field.name)
            if field.name in _OPAQUE_FIELDS or current is None:
                continue
            if field.name == "changes" and isinstance(current, dict):   # WorkspaceEdit: edits by document
                new = {doc: self.convert(edits, doc) for doc, edits in current.items()}
            else:
                new = self.convert(current, uri)
            if new is not current:
                changed[field.name] = new
        return attrs.evolve(value, **changed) if changed else value


def _uri_of(value: Any) -> str | None:
    """The document that the ranges inside `value` belong to, when `value` names one."""
    for name in ("uri", "target_uri"):
        if isinstance(found := getattr(value, name, None), str):
            return found
    document = getattr(value, "text_document", None)
    return document.uri if isinstance(getattr(document, "uri", None), str) else None


# The text of the document a request names, as it was when the request was read: the request
# answers for it even if an edit read right after it is applied before its handler reads the text
# (a burst of requests is handed over at once; lsp/transport.py).
REQUESTED_TEXT: contextvars.ContextVar[tuple[str, str, int | None] | None] = contextvars.ContextVar(
    "expenv_requested_text", default=None)


def requested_text(uri: str) -> tuple[str, str, int | None] | None:
    """(uri, text, version) of `uri` as the request being handled found it (REQUESTED_TEXT), else None."""
    requested = REQUESTED_TEXT.get()
    return requested if requested is not None and requested[0] == unquote(uri) else None


def document_text(ls: ExpenvLanguageServer, uri: str) -> str | None:
    """The editor's text of an open document or cell, else the file on disk (what a client
    counts in for a location in a file it has not opened). A request reads the text it was sent about."""
    if (requested := requested_text(uri)) is not None:
        return requested[1]
    document = ls.open_document(uri)
    try:
        if document is not None:
            return document.source
        path = to_fs_path(uri)
        return Path(path).read_text(encoding="utf-8") if path else None
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def counts_code_points(ls: ExpenvLanguageServer) -> bool:
    return ls.workspace.position_encoding == types.PositionEncodingKind.Utf32


def to_client(ls: ExpenvLanguageServer, value: Any, uri: str | None = None) -> Any:
    return value if counts_code_points(ls) else _Pass(ls, to_client=True).convert(value, uri)


def from_client(ls: ExpenvLanguageServer, value: Any, uri: str | None = None) -> Any:
    return value if counts_code_points(ls) else _Pass(ls, to_client=False).convert(value, uri)


def in_client_units(server: ExpenvLanguageServer, handler: Callable) -> Callable:
    """`handler` taking params in code points and answering in code points, as a handler that
    takes and answers in the client's units."""
    call = (lambda params: handler(server, params)) if has_ls_param_or_annotation(handler, type(server)) \
        else handler

    if asyncio.iscoroutinefunction(handler):
        async def positioned(ls, params):
            if counts_code_points(ls):
                return await call(params)
            return to_client(ls, await call(from_client(ls, params)), _uri_of(params))
    else:
        def positioned(ls, params):
            if counts_code_points(ls):
                return call(params)
            return to_client(ls, call(from_client(ls, params)), _uri_of(params))
    positioned.__dict__.update(handler.__dict__)   # keeps pygls' marks, e.g. `@server.thread()`
    positioned.__name__, positioned.__doc__ = handler.__name__, handler.__doc__
    return positioned
