"""Editor settings: the user's own preferences, passed by the editor to the daemon.

VS Code sends its `expenv.*` settings in `initializationOptions.settings` when it starts the daemon
and again in `workspace/didChangeConfiguration` (`settings.expenv`) on every change; another client
sends the same object. They belong to the person, not the project: expenv.toml stays the project's
contract, and a setting only tunes how the editor behaves for this user (whether the checks show,
how long a hover waits on a slow backend, how much the daemon logs). Each applies at once, without
a restart. A bad value keeps the default and is named back to the user.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

LOG_LEVELS = ("debug", "info", "warning", "error")
MAX_TIMEOUT_MS = 60_000


@dataclass(frozen=True)
class EditorSettings:
    diagnostics: bool = True               # expenv.diagnostics.enabled
    answer_timeout_ms: int | None = None   # expenv.answerTimeoutMs; None: [lsp] of expenv.toml
    log_level: str | None = None           # expenv.logLevel; None: `expenv serve --log-level`

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def section(raw: Any) -> Any:
    """The expenv section of a didChangeConfiguration's `settings` (VS Code nests it under
    `expenv`; a client that sends the section itself is read as is)."""
    return raw.get("expenv", raw) if isinstance(raw, dict) else raw


def parse(raw: Any) -> tuple[EditorSettings, list[str]]:
    """The settings in `raw` (absent keys keep their defaults) and a message per bad value."""
    if raw is None:
        return EditorSettings(), []
    if not isinstance(raw, dict):
        return EditorSettings(), [f"expenv settings must be an object, not {type(raw).__name__}"]
    problems: list[str] = []
    values: dict[str, Any] = {}

    diagnostics = raw.get("diagnostics")
    enabled = diagnostics.get("enabled") if isinstance(diagnostics, dict) else diagnostics
    if isinstance(enabled, bool):
        values["diagnostics"] = enabled
    elif enabled is not None:
        problems.append(f"expenv.diagnostics.enabled must be true or false, not {enabled!r}")

    timeout = raw.get("answerTimeoutMs")   # 0 or absent: expenv.toml's
    if isinstance(timeout, int) and not isinstance(timeout, bool) and 0 < timeout <= MAX_TIMEOUT_MS:
        values["answer_timeout_ms"] = timeout
    elif timeout not in (None, 0):
        problems.append(f"expenv.answerTimeoutMs must be a whole number of milliseconds from 0 (expenv.toml's) "
                        f"to {MAX_TIMEOUT_MS}, not {timeout!r}")

    level = raw.get("logLevel")   # "default" or absent: `expenv serve --log-level`'s
    if isinstance(level, str) and level.lower() in LOG_LEVELS:
        values["log_level"] = level.lower()
    elif level not in (None, "", "default"):
        problems.append(f"expenv.logLevel must be one of default, {', '.join(LOG_LEVELS)}, not {level!r}")
    return EditorSettings(**values), problems
