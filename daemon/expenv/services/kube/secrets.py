"""Credentials reach pods only by reference to Kubernetes Secrets, never as values."""

from __future__ import annotations

from expenv.domain.secrets import is_credential_key, redact, without_credentials


def env_from(secret_names: tuple[str, ...] | list[str]) -> list[dict]:
    """`envFrom` entries: every key of each named Secret becomes an env variable in the pod."""
    return [{"secretRef": {"name": name}} for name in secret_names]


def plain_env(env: dict[str, str]) -> list[dict]:
    """Env entries for values safe to write in a manifest.

    A variable whose name says it is a credential is left out (it must come from a Secret), URLs
    lose their `user:password@`, and any known credential or token-like query value is masked.
    """
    out = []
    for name, value in sorted(env.items()):
        if is_credential_key(name):
            continue
        text = str(value)
        if "://" in text and not any(c.isspace() for c in text):
            text = without_credentials(text)
        out.append({"name": name, "value": redact(text) or ""})
    return out
