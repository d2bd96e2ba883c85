"""Where each key of a TOML document sits, so config problems point at a line and column.

`tomllib` parses but forgets positions; this scanner recovers them for the common shapes
(`[table]`, `[[array]]`, `key = ...`, `a.b = ...`). A key it cannot place falls back to its
table's header, which is still where the user should look.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*'))*)\s*=""")


def _split_dotted(key: str) -> tuple[str, ...]:
    parts = re.findall(r"""[A-Za-z0-9_\-]+|"[^"]*"|'[^']*'""", key)
    return tuple(p[1:-1] if p[:1] in "\"'" else p for p in parts)


def key_positions(text: str) -> dict[tuple[str, ...], tuple[int, int]]:
    """Map each dotted key path to its (line, column), both 1-based."""
    positions: dict[tuple[str, ...], tuple[int, int]] = {}
    table: tuple[str, ...] = ()
    in_multiline: str | None = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if in_multiline in line:
                in_multiline = None
            continue
        header = _HEADER.match(line)
        if header:
            table = _split_dotted(header.group(2))
            positions.setdefault(table, (lineno, line.index(header.group(1)) + 1))
            continue
        key = _KEY.match(line)
        if key:
            path = table + _split_dotted(key.group(1))
            positions.setdefault(path, (lineno, len(line) - len(line.lstrip()) + 1))
            rest = line[key.end():]
            for quote in ('"""', "'''"):
                if rest.count(quote) == 1:
                    in_multiline = quote
    return positions


def locate(positions: dict[tuple[str, ...], tuple[int, int]], path: tuple[str, ...]) -> tuple[int, int]:
    """The position of `path`, or of its nearest located ancestor, or the file start."""
    while path:
        if path in positions:
            return positions[path]
        path = path[:-1]
    return (1, 1)
