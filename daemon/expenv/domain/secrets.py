"""Keep credentials out of everything a user or a log can see."""

from __future__ import annotations

import re

# scheme://user:password@host -> scheme://user:***@host
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)(?P<at>@)")
_QUERY_SECRET = re.compile(
    r"(?P<key>[?&](?:password|passwd|pwd|token|secret|access_token|api_key|apikey|sig)=)[^&\s]*",
    re.IGNORECASE,
)


def redact(text: str | None) -> str | None:
    """Replace passwords and token-like query values in URLs found in `text`."""
    if text is None:
        return None
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}***{m['at']}", text)
    return _QUERY_SECRET.sub(lambda m: f"{m['key']}***", text)
