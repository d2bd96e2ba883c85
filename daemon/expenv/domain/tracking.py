"""Runs and models as expenv shows them: one shape for notebook, local and remote runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Tags expenv puts on every run it starts (MLflow's own names where MLflow has one).
TAG_GIT_SHA = "mlflow.source.git.commit"
TAG_GIT_BRANCH = "mlflow.source.git.branch"
TAG_STAGE = "expenv.stage"
TAG_IMAGE = "expenv.image"
TAG_IMAGE_DIGEST = "expenv.image_digest"
TAG_PIPELINE = "expenv.pipeline"
TAG_STEP = "expenv.step"
TAG_FEATURE_SERVICE = "expenv.feature_service"
TAG_RUNNER = "expenv.runner"  # notebook | local | docker | kubernetes


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    experiment: str
    name: str | None
    status: str
    start_time: int | None  # ms since the epoch, as MLflow gives it
    end_time: int | None
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    artifact_uri: str
    url: str
    models: list[dict[str, Any]] = field(default_factory=list)  # registered versions made from this run


@dataclass(frozen=True)
class RunComparison:
    run_ids: list[str]
    params: dict[str, dict[str, str | None]]  # param -> run_id -> value
    metrics: dict[str, dict[str, float | None]]
    differing_params: list[str]


def stage_of(branch: str | None) -> str:
    """The deployment stage a branch stands for (the CI/CD flow of property 6)."""
    if not branch:
        return "dev"
    if branch in ("main", "master"):
        return "prod"
    if branch.startswith("release/"):
        return "preprod"
    return "dev"
