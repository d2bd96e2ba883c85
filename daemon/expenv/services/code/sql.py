"""Table and path references inside SQL text (a string literal holding a query)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_IDENT = r'(?:"[^"]+"|[A-Za-z_][\w$]*)'
_TABLE_AFTER = re.compile(rf"\b(?:from|join|into|update|table)\s+({_IDENT}(?:\s*\.\s*{_IDENT}){{0,2}})", re.IGNORECASE)
_QUOTED = re.compile(r"'([^'\n]+)'")
_SQL = re.compile(r"^\s*(?:with|select|from|describe|summarize|pivot)\b|\bselect\b[\s\S]*\bfrom\b", re.IGNORECASE)
_KEYWORD = re.compile(r"\b(select|from|join|where|by|on|and|or|having|set|into|update|table)\b", re.IGNORECASE)


@dataclass(frozen=True)
class SqlRef:
    kind: str  # "table" | "path"
    value: str
    start: int
    end: int


def looks_like_sql(text: str) -> bool:
    return bool(_SQL.search(text))


def _unquote(name: str) -> str:
    return ".".join(part.strip().strip('"') for part in name.split("."))


def sql_references(text: str) -> list[SqlRef]:
    refs = [SqlRef("path", m.group(1), m.start(1), m.end(1)) for m in _QUOTED.finditer(text)]
    quoted_spans = [(r.start - 1, r.end + 1) for r in refs]
    for m in _TABLE_AFTER.finditer(text):
        if any(a <= m.start(1) < b for a, b in quoted_spans):
            continue
        if m.group(1).lower() in ("select", "lateral", "values", "read_parquet", "read_csv"):
            continue
        refs.append(SqlRef("table", _unquote(m.group(1)), m.start(1), m.end(1)))
    return sorted(refs, key=lambda r: r.start)


def reference_at(text: str, offset: int) -> SqlRef | None:
    for ref in sql_references(text):
        if ref.start <= offset <= ref.end:
            return ref
    return None


def completion_context(before_cursor: str) -> tuple[str, str] | None:
    """('table', partial) after FROM/JOIN, ('column', partial) after SELECT/WHERE/BY/ON..., else None."""
    partial_match = re.search(r'[\w."$]*$', before_cursor)
    partial = partial_match.group(0) if partial_match else ""
    head = before_cursor[: len(before_cursor) - len(partial)]
    keywords = _KEYWORD.findall(head)
    if not keywords:
        return None
    last = keywords[-1].lower()
    if last in ("from", "join", "into", "update", "table"):
        return ("table", partial.replace('"', ""))
    return ("column", partial.replace('"', ""))
