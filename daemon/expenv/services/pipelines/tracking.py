"""A pipeline run in MLflow: one parent run, one child run per step, created at submission so each
step is handed its own run id (MLFLOW_RUN_ID: the step's plain `mlflow.start_run()` resumes it,
nested under the parent). Statuses are mirrored as steps end. MLflow is imported on first use."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from pathlib import Path
from typing import Any

from expenv.domain.pipelines import MLFLOW_STATUS, PipelineRun, PipelineSpec
from expenv.domain.secrets import redact
from expenv.services.tracking.runs import TrackingError

log = logging.getLogger(__name__)
PARENT_TAG = "mlflow.parentRunId"
RUN_TAG = "expenv.pipeline_run"
TARGET_TAG = "expenv.target"
UNTOLD = "MLflow could not be told the status"


SUBMIT_REFUSED = "a run would lose its tracking, so it is not submitted"
# Said of a run already under way: its own record keeps the truth, and status tells MLflow later.
KEPT_LOCALLY = "expenv keeps the run's status and logs and tells MLflow when it answers again"


def _client(uri: str, consequence: str = SUBMIT_REFUSED):
    from mlflow.tracking import MlflowClient

    from expenv.services.tracking.embedded import healthy

    if uri.startswith(("http://", "https://")) and not healthy(uri, timeout=3.0):
        raise TrackingError(f"MLflow at {redact(uri)} does not answer: {consequence} (start it with `expenv up`, "
                            "or fix the tracking URI)")
    return MlflowClient(tracking_uri=uri)


def _flat_params(params: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {f"{step}.{name}": str(value) for step, values in params.items() for name, value in values.items()}


def open_runs(uri: str, experiment: str, spec: PipelineSpec, run: PipelineRun,
              tags: dict[str, str]) -> tuple[str, dict[str, str], str]:
    """Create the parent and the step runs; (parent id, {step: child id}, the parent's UI url)."""
    from mlflow.entities import Param

    client = _client(uri)
    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found else client.create_experiment(experiment)
    common = {**tags, RUN_TAG: run.id, TARGET_TAG: run.target}
    parent = client.create_run(experiment_id, run_name=f"{spec.name} ({run.id})", tags=common)
    parent_id = parent.info.run_id
    client.log_batch(parent_id, params=[Param(k, v) for k, v in _flat_params(run.params).items()])
    children = {}
    for step in spec.steps:
        child = client.create_run(experiment_id, run_name=step.name,
                                  tags={**common, PARENT_TAG: parent_id, "expenv.step": step.name,
                                        "expenv.step.kind": step.kind})
        # Step parameters are the parent's params (step.name); the step's own code may log the same
        # names on its run, and MLflow refuses a param logged twice with another spelling.
        children[step.name] = child.info.run_id
    url = f"{uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{parent_id}" if uri.startswith("http") else ""
    return parent_id, children, url


def mirror_status(uri: str, run_id: str | None, status: str) -> str | None:
    """Set a run's terminal status; the error as text when the server cannot be told (the run
    record keeps the truth either way)."""
    if not run_id:
        return None
    try:
        client = _client(uri, KEPT_LOCALLY)
        current = client.get_run(run_id).info.status
        wanted = MLFLOW_STATUS[status]
        # MLflow writes "View run ... at" to stdout when a run ends: stdout is the CLI's JSON and
        # the daemon's protocol, so it goes to stderr.
        with contextlib.redirect_stdout(sys.stderr):
            if current != wanted:
                if wanted == "RUNNING":
                    client.update_run(run_id, status="RUNNING")
                else:
                    client.set_terminated(run_id, status=wanted)
    except Exception as exc:  # noqa: BLE001 - tracking trouble must not lose the run's own record
        log.warning("could not mirror status %s to MLflow run %s: %s", status, run_id, exc)
        return f"{UNTOLD} ({redact(str(exc))[:200]})"
    return None


def log_artifact(uri: str, run_id: str | None, path: Path, artifact_path: str | None = None) -> str | None:
    if not run_id or not path.is_file():
        return None
    try:
        _client(uri, KEPT_LOCALLY).log_artifact(run_id, str(path), artifact_path)
    except Exception as exc:  # noqa: BLE001
        log.warning("could not log %s to MLflow run %s: %s", path, run_id, exc)
        return f"could not log {path.name} to MLflow ({redact(str(exc))[:200]})"
    return None


def roll_up_metrics(uri: str, parent: str | None, children: dict[str, str | None]) -> None:
    """The steps' final metrics on the parent as STEP.METRIC, so the run list shows them."""
    from mlflow.entities import Metric

    if not parent:
        return
    try:
        client = _client(uri, KEPT_LOCALLY)
        metrics = []
        for step, child in children.items():
            if child:
                for name, value in client.get_run(child).data.metrics.items():
                    metrics.append(Metric(f"{step}.{name}", value, int(time.time() * 1000), 0))
        if metrics:
            client.log_batch(parent, metrics=metrics)
    except Exception as exc:  # noqa: BLE001
        log.warning("could not copy the steps' metrics to MLflow run %s: %s", parent, exc)
