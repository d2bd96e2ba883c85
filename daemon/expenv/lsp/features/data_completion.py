"""Completion inside string literals: dataset paths under the raw roots, and
table and column names in SQL text. Outside our strings: no items, so other servers answer."""

from __future__ import annotations

from lsprotocol import types

from expenv.domain.errors import ExpenvError
from expenv.lsp.answers import LATE
from expenv.lsp.server import ExpenvLanguageServer
from expenv.services.code.sql import completion_context, looks_like_sql, sql_references
from expenv.services.code.strings import literal_at, open_string_before

TRIGGERS = ["/", '"', "'", ".", " "]


def _string_before_cursor(source: str, position: types.Position) -> tuple[str, str] | None:
    """(content of the string up to the cursor, the whole string) when the cursor is in one."""
    lines = source.split("\n")
    line_text = lines[position.line][: position.character] if position.line < len(lines) else ""
    lit = literal_at(source, position.line, position.character)
    if lit is not None:
        offset = lit.offset_of(position.line, position.character, lines)
        return lit.value[:offset], lit.value
    opened = open_string_before(line_text)
    return (opened[1], opened[1]) if opened else None


def _items(labels: list[str], kind: types.CompletionItemKind, position: types.Position, typed: str,
           detail: str) -> list[types.CompletionItem]:
    start = types.Position(line=position.line, character=max(position.character - len(typed), 0))
    return [types.CompletionItem(
        label=label, kind=kind, detail=detail,
        text_edit=types.TextEdit(range=types.Range(start=start, end=position), new_text=label),
        filter_text=label, sort_text=f"{i:04d}",
    ) for i, label in enumerate(labels)]


def _labels(data, before: str, whole: str) -> tuple[list[str], types.CompletionItemKind, str, str] | None:
    """(labels, kind, typed text they replace, detail) for the string typed so far (worker thread)."""
    if looks_like_sql(whole) or looks_like_sql(before):
        context = completion_context(before)
        if context is None:
            return None
        kind, typed = context
        if kind == "table":
            tables = [t for t in data.tables() if t.startswith(typed) or t.split(".")[-1].startswith(typed)]
            return tables, types.CompletionItemKind.Class, typed, "curated table"
        names: list[str] = []
        for ref in sql_references(whole):
            if ref.kind == "table" and data.find(ref.value) is not None:
                names += data.columns(ref.value)
        return sorted({n for n in names if n.startswith(typed)}), types.CompletionItemKind.Field, typed, "column"
    if " " in before or "\n" in before:
        return None
    return data.complete_path(before), types.CompletionItemKind.File, before, "dataset"


async def data_completion(ls: ExpenvLanguageServer, params: types.CompletionParams) -> types.CompletionList | None:
    """An empty, incomplete list while the storage or warehouse is slower than `[lsp]
    answer_timeout_ms`: the editor asks again as the user types, and the background work has
    filled the caches by then (lsp/answers.py)."""
    data = ls.data_for_uri(params.text_document.uri)
    if data is None:
        return None
    source = ls.document_source(params.text_document.uri)
    found = _string_before_cursor(source, params.position)
    if found is None:
        return None
    before, whole = found
    try:
        in_sql = looks_like_sql(whole) or looks_like_sql(before)
        labels = await ls.answer_in_time(params.text_document.uri, ("complete", before, whole), _labels, data,
                                         before, whole, network=data.on_network("" if in_sql else before))
    except ExpenvError as exc:
        ls.log_to_client(f"expenv completion: {exc}", types.MessageType.Warning)
        return None
    if labels is LATE:
        return types.CompletionList(is_incomplete=True, items=[])
    if not labels or not labels[0]:
        return None
    names, kind, typed, detail = labels
    return types.CompletionList(is_incomplete=False, items=_items(names, kind, params.position, typed, detail))
