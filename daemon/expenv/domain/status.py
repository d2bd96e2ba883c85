"""What `expenv status` and `expenv doctor` report about the real parts."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class PartStatus:
    """One real part (Docker engine, MLflow, Feast repo, ...): can expenv use it, and if not, how to fix it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# The deployment stage of a branch (domain.tracking.stage_of) as `expenv status` names it.
STAGE_NAMES = {"dev": "dev", "preprod": "pre-prod", "prod": "production"}


@dataclass(frozen=True)
class NotebookFinding:
    """A notebook that is not fit for git: committed with outputs, or its jupytext pair missing or
    out of sync. `path` is workspace-relative; `kind` is outputs | unpaired | out_of_sync."""

    path: str
    kind: str
    message: str
    line: int = 1
    column: int = 1
    severity: str = "error"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
