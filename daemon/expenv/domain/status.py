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
