"""Keep credentials out of everything a user or a log can see.

Two kinds of masking, applied together by `redact`:
- by shape: the password of `scheme://user:password@host`, and token-like query values;
- by value: every credential expenv knows of, wherever it appears. Those are the values of
  credential-like keys in a config (e.g. `[data.raw] storage_options`), the passwords of URLs in a
  config, the values of credential-like environment variables (AWS_SECRET_ACCESS_KEY,
  *_TOKEN, *_PASSWORD, ...) and the passwords of URLs held in any environment variable
  (MLFLOW_TRACKING_URI, DOCKER_HOST, ...). Values shorter than `MIN_SECRET` are left to the
  shape rules: masking "abc" everywhere would garble output.

Outputs apply `redact_data` at their boundary (CLI JSON, LSP messages, log formatting) so that a
field added later cannot leak what an older field hid.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import asdict, is_dataclass
from typing import Any
from urllib.parse import quote, unquote

MASK = "***"
MIN_SECRET = 8

# scheme://user:password@host -> scheme://user:***@host
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)(?P<pw>[^@\s/]*)(?P<at>@)")
_QUERY_SECRET = re.compile(
    r"(?P<key>[?&](?:password|passwd|pwd|token|secret|access_token|api_key|apikey|sig|signature|"
    r"x-amz-signature|x-amz-credential|x-amz-security-token|sas|code)=)[^&\s\"']*",
    re.IGNORECASE,
)
# Keys whose values are credentials: storage_options (key, secret, token, aws_secret_access_key,
# account_key, sas_token, client_secret, connection_string...), cluster options, and the like.
_CREDENTIAL_KEY = re.compile(
    r"(?i)(secret|token|passw|pwd|credential|private|signature|api[_-]?key|access[_-]?key|account[_-]?key|"
    r"session|conn(ection)?[_-]?str|^key$|_key$|^sas|^auth)")
# Environment variables whose values are credentials.
_CREDENTIAL_ENV = re.compile(r"(?i)(SECRET|TOKEN|PASSW|CREDENTIAL|PRIVATE|API_?KEY|ACCESS_KEY|ACCOUNT_KEY|_KEY$)")
_NAMES_A_PLACE = re.compile(r"(?i)_(FILE|PATH|DIR|SOCK)$")  # AWS_SHARED_CREDENTIALS_FILE names a file, not a secret
_NOT_SECRETS = {"true", "false", "none", "null", "yes", "no"}

_known: set[str] = set()
_lock = threading.Lock()


def _variants(value: str) -> set[str]:
    """A secret as it may appear: itself, URL-decoded and URL-encoded."""
    value = value.strip()
    out = {value, unquote(value), quote(value, safe=""), quote(value)}
    return {v for v in out if len(v) >= MIN_SECRET and v.lower() not in _NOT_SECRETS}


def url_passwords(text: str) -> list[str]:
    """The passwords of every `scheme://user:password@host` in `text`."""
    return [m["pw"] for m in _URL_PASSWORD.finditer(text) if m["pw"]]


def is_credential_key(key: str) -> bool:
    return bool(_CREDENTIAL_KEY.search(str(key)))


def secrets_in(value: Any, credential: bool = False) -> set[str]:
    """Every credential in a config value: values under credential-like keys (at any depth) and
    passwords of URLs anywhere."""
    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    found: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            found |= secrets_in(v, credential or is_credential_key(k))
    elif isinstance(value, (list, tuple, set)):
        for v in value:
            found |= secrets_in(v, credential)
    elif isinstance(value, str):
        if credential:
            found |= _variants(value)
        for pw in url_passwords(value):
            found |= _variants(pw)
    elif credential and isinstance(value, (int, float)) and not isinstance(value, bool):
        found |= _variants(str(value))
    return found


def remember(values: set[str] | list[str]) -> None:
    """Make these credentials masked in every later output of this process."""
    with _lock:
        _known.update(v for v in values if len(v) >= MIN_SECRET)


def environment_secrets(environ: dict[str, str] | None = None) -> set[str]:
    """Credentials in the environment: values of credential-like variables, passwords of URLs."""
    environ = os.environ if environ is None else environ
    found: set[str] = set()
    for name, value in environ.items():
        if not value:
            continue
        if _CREDENTIAL_ENV.search(name) and not _NAMES_A_PLACE.search(name):
            found |= _variants(value)
        if "@" in value:
            for pw in url_passwords(value):
                found |= _variants(pw)
    return found


def _environment_now() -> dict:
    """The process environment as a plain dict, cheaply (os.environ keeps one, `_data`, on POSIX)."""
    data = getattr(os.environ, "_data", None)
    return data if isinstance(data, dict) else dict(os.environ)


_last: tuple[int, dict, list[str]] | None = None  # (remembered count, environment, secrets) of the last answer


def known_secrets() -> list[str]:
    """Every credential to mask now, longest first (so a secret holding another is masked whole).
    Every message the daemon sends asks, so the answer is kept until the environment or the
    remembered credentials change (`_known` only grows: its size tells)."""
    global _last
    environ = _environment_now()
    with _lock:
        last, values = _last, set(_known)
    if last is not None and last[0] == len(values) and last[1] == environ:
        return list(last[2])
    snapshot = dict(environ)  # taken before reading: a change made meanwhile is seen as one next time
    found = sorted(values | environment_secrets(), key=len, reverse=True)
    with _lock:
        _last = (len(values), snapshot, found)
    return list(found)


def _redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    if "@" in text:  # cheap tests first: a preview holds many strings, few of them URLs
        text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}{m['at']}", text)
    if "=" in text:
        text = _QUERY_SECRET.sub(lambda m: f"{m['key']}{MASK}", text)
    return text


def redact(text: str | None) -> str | None:
    """`text` with URL passwords, token-like query values and every known credential masked."""
    if text is None:
        return None
    return _redact(str(text), known_secrets())


_USERINFO = re.compile(r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)[^/@\s]*@")


def without_credentials(url: str) -> str:
    """`url` without its `user:password@` part, e.g. for a link a browser opens."""
    return redact(_USERINFO.sub(lambda m: m["scheme"], url)) or ""


def redact_data(data: Any, keep: frozenset[str] = frozenset()) -> Any:
    """A copy of JSON-like `data` with every string redacted. Values under keys in `keep` are left
    as they are (e.g. the `newText` of an edit to the user's own file)."""
    secrets = known_secrets()

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return _redact(value, secrets)
        if isinstance(value, dict):
            return {(_redact(k, secrets) if isinstance(k, str) else k): (v if k in keep else walk(v))
                    for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v) for v in value]
        return value

    return walk(data)


def masked_options(options: dict[str, Any]) -> dict[str, Any]:
    """Options for display: credential-like keys show `***`, other values are redacted."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        if is_credential_key(key) and value not in (None, "", False):
            out[key] = MASK
        elif isinstance(value, dict):
            out[key] = masked_options(value)
        else:
            out[key] = redact_data(value)
    return out


class RedactingStream:
    """A text stream whose every write is redacted (a log handler or rich writes whole lines)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(redact(text) or "")

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


class RedactingFormatter(logging.Formatter):
    """A log formatter whose every line (message, arguments and traceback) is redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record)) or ""
