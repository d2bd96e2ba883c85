"""A pipeline run as the pipeline service hands it to a runner (spec, run record, submit context)."""

from __future__ import annotations

from pathlib import Path

from expenv.domain.clusters import workspace_label
from expenv.domain.pipelines import PipelineRun, StepRun
from expenv.services.config import load_config
from expenv.services.pipelines.interface import SubmitContext

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def run_parts(root: Path, pipeline: str, target: str, run_id: str = "r-1a2b3c4d", patch: str | None = None):
    config = load_config(root)
    spec, tgt = config.pipelines[pipeline], config.targets[target]
    run = PipelineRun(id=run_id, pipeline=pipeline, target=target, backend=tgt.backend, commit=COMMIT,
                      branch="feature/x", patch=patch, params=spec.resolve_params(),
                      steps=[StepRun(s.name) for s in spec.steps])
    uri = tgt.tracking_uri or ""
    context = SubmitContext(
        root=root, target=tgt, commit=COMMIT, code=root / "code.tar", run_dir=root / ".expenv" / run_id,
        image=config.environment.production_image, tracking_uri=uri, experiment=config.project.name,
        env={"MLFLOW_TRACKING_URI": uri, "MLFLOW_EXPERIMENT_NAME": config.project.name,
             "EXPENV_RUN_TAGS": '{"expenv.pipeline": "%s"}' % pipeline},
        step_env={s.name: {"MLFLOW_RUN_ID": f"child-{s.name}"} for s in spec.steps},
        labels={"app.kubernetes.io/managed-by": "expenv", "expenv.workspace": workspace_label(root),
                "expenv.run": run_id})
    return spec, run, context
