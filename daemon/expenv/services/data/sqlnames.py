"""Table names as users write them: validated before any query, quoted when one is built.

A name is `table` or `schema.table`. Each part is a plain identifier (letters, digits, `_`, `$`,
not starting with a digit) or a double-quoted simple name (letters, digits, `_`, `$`, space, `-`).
Anything else (semicolons, comments, quotes inside quotes, parentheses) is refused, so user text
never reaches SQL except through `quote_ident` after the catalog has confirmed the name exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from expenv.domain.errors import DataError
from expenv.services.data.messages import shown

_PLAIN = r"[A-Za-z_][A-Za-z0-9_$]*"
_QUOTED = r'"[A-Za-z0-9_$ \-]+"'
_PART = rf"(?:{_PLAIN}|{_QUOTED})"
_NAME = re.compile(rf"^\s*({_PART})(?:\s*\.\s*({_PART}))?\s*$")
MAX_NAME = 256


@dataclass(frozen=True)
class TableName:
    """A parsed name. `quoted` parts are matched exactly; plain parts case-insensitively."""

    schema: str | None
    table: str
    schema_quoted: bool = False
    table_quoted: bool = False

    def __str__(self) -> str:
        return f"{self.schema}.{self.table}" if self.schema else self.table


def _unquote(part: str) -> tuple[str, bool]:
    if part.startswith('"'):
        return part[1:-1], True
    return part, False


def parse_table_name(text: str) -> TableName:
    """`text` as a table name, or DataError saying it is not one."""
    match = _NAME.match(text) if len(text) <= MAX_NAME else None
    if match is None:
        raise DataError(f"{shown(text)} is not a table name (expected table or schema.table, "
                        "letters, digits and _ only)")
    first, second = match.group(1), match.group(2)
    if second is None:
        table, tq = _unquote(first)
        return TableName(None, table, table_quoted=tq)
    schema, sq = _unquote(first)
    table, tq = _unquote(second)
    return TableName(schema, table, sq, tq)


def is_table_name(text: str) -> bool:
    return len(text) <= MAX_NAME and _NAME.match(text) is not None


def quote_ident(name: str) -> str:
    """A double-quoted SQL identifier (standard SQL; DuckDB and PostgreSQL agree)."""
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, table: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(table)}"
