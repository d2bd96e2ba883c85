"""Wording shared by the data backends: how a user's text and an engine's error appear in a message."""

from __future__ import annotations

import re

from expenv.domain.secrets import redact

_DRIVER_NOISE = re.compile(r"\(Background on this error at: [^)]*\)|\[SQL: .*?\]|\(psycopg[\w.]*\.\w+\)|"
                           r"\(sqlite3\.\w+\)|\(pymysql\.\w+\)", re.DOTALL)
_ENGINE_PREFIX = re.compile(r"^(?:[A-Z][A-Za-z ]*(?:Error|Exception)|IO Error|Invalid Input Error|Binder Error|"
                            r"Catalog Error|Parser Error|Conversion Error):\s*")


def shown(text: str) -> str:
    """The user's text inside a message: double-quoted, on one line, at most 80 characters."""
    flat = " ".join(str(text).split())
    if len(flat) > 80:
        flat = flat[:77] + "..."
    return '"' + flat.replace('"', '\\"') + '"'


def engine_message(exc: BaseException, limit: int = 300) -> str:
    """The useful first part of an engine's error: no SQL echo, no links, no password, one line."""
    text = _DRIVER_NOISE.sub("", str(exc))
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith(("LINE ", "^"))]
    first = _ENGINE_PREFIX.sub("", lines[0]) if lines else type(exc).__name__
    rest = [ln for ln in lines[1:3] if not ln.startswith(("Possible fixes", "*", "See also", "HINT"))]
    message = "; ".join([first, *rest]) if rest and len(first) < 80 else first
    message = redact(message) or ""
    return message if len(message) <= limit else message[: limit - 3] + "..."


def human_size(size: int | None) -> str:
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
