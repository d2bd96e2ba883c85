"""A pipeline run in MLflow: one parent run, one child run per step, created at submission so each
step is handed its own run id (MLFLOW_RUN_ID: the step's plain `mlflow.start_run()` resumes it,
nested under the parent). Statuses are mirrored as steps end. MLflow is imported on first use."""

from __future__ import annotations

import contextlib
import logging
import sys
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
# (tracking URI, experiment name) -> the experiment's id, as this process was told (ids never change;
# a deleted experiment is asked again).
_EXPERIMENT_IDS: dict[tuple[str, str], str] = {}


def _require_answer(uri: str, consequence: str) -> None:
    """Refuse when an http tracking server does not answer its /health (one probe per use)."""
    from expenv.services.tracking.embedded import healthy
    from expenv.services.tracking.rest import is_rest

    if is_rest(uri) and not healthy(uri, timeout=3.0):
        raise TrackingError(f"MLflow at {redact(uri)} does not answer: {consequence} (start it with "
                            "`expenv up`, or fix the tracking URI)")


def _mlflow_client(uri: str):
    """MLflow's own client (artifacts a server does not proxy, and tracking URIs that are no http server)."""
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _api(uri: str, consequence: str = SUBMIT_REFUSED):
    """The tracking server's REST API (http URIs, no mlflow import), else the same calls on the
    mlflow client (file or database URIs); refuses when an http server does not answer."""
    from expenv.services.tracking.rest import MlflowRest, is_rest

    _require_answer(uri, consequence)
    return MlflowRest(uri) if is_rest(uri) else _ClientCalls(_mlflow_client(uri), uri)


def _flat_params(params: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {f"{step}.{name}": str(value) for step, values in params.items() for name, value in values.items()}


def tracking_ready(uri: str, experiment: str):
    """Before a submission: the server answers (else refused) and the experiment's id is known
    (asked once per process and server; created when missing). Returns the API to open runs with."""
    api = _api(uri, SUBMIT_REFUSED)
    key = (api.uri, experiment)
    if key not in _EXPERIMENT_IDS:
        _EXPERIMENT_IDS[key] = api.experiment_id(experiment)
    return api


def open_runs(api, experiment: str, spec: PipelineSpec, run: PipelineRun,
              tags: dict[str, str]) -> tuple[str, dict[str, str], str]:
    """Create the parent and the step runs (`api`: tracking_ready's); (parent id, {step: child id},
    the parent's UI url)."""
    key = (api.uri, experiment)
    common = {**tags, RUN_TAG: run.id, TARGET_TAG: run.target}
    try:
        parent_id = api.create_run(_EXPERIMENT_IDS[key], f"{spec.name} ({run.id})", common)
    except Exception:  # noqa: BLE001 - the remembered experiment may be deleted: ask once more
        _EXPERIMENT_IDS[key] = api.experiment_id(experiment)
        parent_id = api.create_run(_EXPERIMENT_IDS[key], f"{spec.name} ({run.id})", common)
    experiment_id = _EXPERIMENT_IDS[key]
    params = _flat_params(run.params)
    if params:
        api.log_batch(parent_id, params=params)
    children = {}
    for step in spec.steps:
        # Step parameters are the parent's params (step.name); the step's own code may log the same
        # names on its run, and MLflow refuses a param logged twice with another spelling.
        children[step.name] = api.create_run(experiment_id, step.name,
                                             {**common, PARENT_TAG: parent_id, "expenv.step": step.name,
                                              "expenv.step.kind": step.kind})
    url = f"{api.uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{parent_id}" if api.uri.startswith("http") else ""
    return parent_id, children, url


class _ClientCalls:
    """The MlflowRest calls on mlflow's client, for tracking URIs that are no http server."""

    def __init__(self, client, uri: str):
        self.client = client
        self.uri = uri

    def experiment_id(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        return found.experiment_id if found else self.client.create_experiment(name)

    def create_run(self, experiment_id: str, run_name: str, tags: dict[str, str]) -> str:
        return self.client.create_run(experiment_id, run_name=run_name, tags=tags).info.run_id

    def log_batch(self, run_id: str, params: dict[str, str] | None = None,
                  metrics: list[dict[str, Any]] | None = None) -> None:
        from mlflow.entities import Metric, Param

        self.client.log_batch(run_id, params=[Param(k, v) for k, v in (params or {}).items()],
                              metrics=[Metric(m["key"], m["value"], m["timestamp"], m["step"])
                                       for m in metrics or []])

    def upload(self, run_id: str, path: Path, artifact_path: str | None = None) -> bool:
        """False: no server proxies the artifacts here (the caller logs them with the client)."""
        return False

    def get_run(self, run_id: str) -> dict[str, Any]:
        run = self.client.get_run(run_id)
        return {"info": {"status": run.info.status},
                "data": {"metrics": [{"key": k, "value": v} for k, v in run.data.metrics.items()]}}

    def update_run(self, run_id: str, status: str, end_time: int | None = None) -> None:
        # MLflow writes "View run ... at" to stdout when a run ends: stdout is the CLI's JSON and
        # the daemon's protocol, so it goes to stderr.
        with contextlib.redirect_stdout(sys.stderr):
            if end_time is None:
                self.client.update_run(run_id, status=status)
            else:
                self.client.set_terminated(run_id, status=status, end_time=end_time)


def mirror_status(uri: str, run_id: str | None, status: str) -> str | None:
    """Set a run's terminal status; the error as text when the server cannot be told (the run
    record keeps the truth either way)."""
    from expenv.services.tracking.rest import now_ms

    if not run_id:
        return None
    try:
        api = _api(uri, KEPT_LOCALLY)
        current = api.get_run(run_id)["info"]["status"]
        wanted = MLFLOW_STATUS[status]
        if current != wanted:
            api.update_run(run_id, wanted, None if wanted == "RUNNING" else now_ms())
    except Exception as exc:  # noqa: BLE001 - tracking trouble must not lose the run's own record
        log.warning("could not mirror status %s to MLflow run %s: %s", status, run_id, exc)
        return f"{UNTOLD} ({redact(str(exc))[:200]})"
    return None


def log_artifact(uri: str, run_id: str | None, path: Path, artifact_path: str | None = None) -> str | None:
    if not run_id or not path.is_file():
        return None
    try:
        if not _api(uri, KEPT_LOCALLY).upload(run_id, path, artifact_path):   # the server's artifact proxy
            _mlflow_client(uri).log_artifact(run_id, str(path), artifact_path)
    except Exception as exc:  # noqa: BLE001
        log.warning("could not log %s to MLflow run %s: %s", path, run_id, exc)
        return f"could not log {path.name} to MLflow ({redact(str(exc))[:200]})"
    return None


def roll_up_metrics(uri: str, parent: str | None, children: dict[str, str | None]) -> None:
    """The steps' final metrics on the parent as STEP.METRIC, so the run list shows them."""
    from expenv.services.tracking.rest import metrics_of, now_ms

    if not parent:
        return
    try:
        api = _api(uri, KEPT_LOCALLY)
        metrics = []
        for step, child in children.items():
            if child:
                for name, value in metrics_of(api.get_run(child)).items():
                    metrics.append({"key": f"{step}.{name}", "value": value, "timestamp": now_ms(), "step": 0})
        if metrics:
            api.log_batch(parent, metrics=metrics)
    except Exception as exc:  # noqa: BLE001
        log.warning("could not copy the steps' metrics to MLflow run %s: %s", parent, exc)
