"""Credentials reach pods only by reference to Kubernetes Secrets, never as values."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from expenv.domain.secrets import redact

# Env names whose values are credentials whatever they look like.
_CREDENTIAL_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_KEY|CREDENTIAL|PRIVATE)", re.I)


def env_from(secret_names: tuple[str, ...] | list[str]) -> list[dict]:
    """`envFrom` entries: every key of each named Secret becomes an env variable in the pod."""
    return [{"secretRef": {"name": name}} for name in secret_names]


def secret_env(name: str, secret: str, key: str) -> dict:
    """One env variable read from a Secret's key."""
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def without_userinfo(uri: str) -> str:
    """The URI with any user:password@ removed: credentials come from a Secret instead."""
    parts = urlsplit(uri)
    if not parts.username and not parts.password:
        return uri
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def plain_env(env: dict[str, str]) -> list[dict]:
    """Env entries for values safe to write in a manifest.

    A variable whose name says it is a credential is left out (it must come from a Secret), and
    URLs lose their passwords and token-like query values.
    """
    out = []
    for name, value in sorted(env.items()):
        if _CREDENTIAL_NAME.search(name):
            continue
        text = str(value)
        if "://" in text and not any(c.isspace() for c in text):
            text = without_userinfo(text)
        out.append({"name": name, "value": redact(text) or ""})
    return out
