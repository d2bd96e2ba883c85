"""The one interface every pipeline backend implements (local, docker, kubernetes, plugins)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from expenv.domain.config import TargetSection
from expenv.domain.pipelines import PipelineRun, PipelineSpec


@dataclass(frozen=True)
class SubmitContext:
    """What the service decided before handing a run to a runner.

    `env` goes to every step (tracking URI, experiment, EXPENV_RUN_TAGS, parent run id);
    `step_env[step]` adds that step's own (MLFLOW_RUN_ID of its child run, its tags). `code` is a
    tar of the workspace at `commit` (plus the shipped patch, if any); a runner copies it into
    each step, never bind-mounts the workspace. `run_dir` holds the run's record and step logs.
    """

    root: Path
    target: TargetSection
    commit: str
    code: Path
    run_dir: Path
    image: str | None = None
    image_digest: str | None = None
    tracking_uri: str = ""
    experiment: str = ""
    env: dict[str, str] = field(default_factory=dict)
    step_env: dict[str, dict[str, str]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)   # app.kubernetes.io/managed-by, expenv.workspace, expenv.run

    def env_for(self, step: str) -> dict[str, str]:
        return {**self.env, **self.step_env.get(step, {})}


class PipelineRunner(Protocol):
    """A backend chosen by `[targets.NAME] backend`. `submit` returns once the run is started
    (status() follows it); every method may be called from another process than submit's."""

    def submit(self, spec: PipelineSpec, run: PipelineRun, context: SubmitContext) -> PipelineRun: ...

    def status(self, run: PipelineRun) -> PipelineRun: ...

    def logs(self, run: PipelineRun, follow: bool) -> Iterator[str]: ...

    def cancel(self, run: PipelineRun) -> PipelineRun: ...

    def render(self, spec: PipelineSpec, run: PipelineRun, context: SubmitContext) -> list[dict]: ...
