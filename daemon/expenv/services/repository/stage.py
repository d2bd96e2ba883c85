"""The branch's stage in the promotion flow: feature/* → dev, release/* → pre-prod, main → production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from expenv.domain.status import STAGE_NAMES
from expenv.domain.tracking import stage_of


def branch_stage(root: Path) -> dict[str, Any]:
    """{"branch", "stage"} of the git repository holding `root` (branch None outside a repo or
    on a detached HEAD, whose stage is dev)."""
    from expenv.services.features.policy import current_branch

    branch = current_branch(Path(root))
    return {"branch": branch, "stage": STAGE_NAMES[stage_of(branch)]}
