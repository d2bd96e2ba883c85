"""Runs and models read through MLflow's own client (imported on first use)."""

from __future__ import annotations

from expenv.domain.errors import ExpenvError
from expenv.domain.secrets import redact, without_credentials
from expenv.domain.tracking import TAG_GIT_BRANCH, TAG_PIPELINE, RunComparison, RunSummary

STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")


class TrackingError(ExpenvError):
    pass


def _quote(value: str) -> str:
    """A value for an MLflow filter string; quotes cannot be escaped there, so refuse them."""
    if "'" in value or '"' in value or "\n" in value:
        raise TrackingError(f"filter values may not contain quotes: {value!r}")
    return f"'{value}'"


def filter_string(branch: str | None = None, pipeline: str | None = None, status: str | None = None) -> str:
    clauses = []
    if branch:
        clauses.append(f"tags.`{TAG_GIT_BRANCH}` = {_quote(branch)}")
    if pipeline:
        clauses.append(f"tags.`{TAG_PIPELINE}` = {_quote(pipeline)}")
    if status:
        if status.upper() not in STATUSES:
            raise TrackingError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        clauses.append(f"attributes.status = '{status.upper()}'")
    return " and ".join(clauses)


class RunReader:
    def __init__(self, uri: str):
        self.uri = uri

    def _client(self):
        from mlflow.tracking import MlflowClient

        from expenv.services.tracking.embedded import healthy

        # MLflow's client retries a dead server for minutes; the editor needs an answer now.
        if self.uri.startswith(("http://", "https://")) and not healthy(self.uri, timeout=3.0):
            raise TrackingError(f"MLflow at {redact(self.uri)} failed: the server does not answer "
                                "(start it with `expenv up`, or fix [tracking] uri)")

        return MlflowClient(tracking_uri=self.uri)

    def _fail(self, exc: Exception) -> TrackingError:
        return TrackingError(f"MLflow at {redact(self.uri)} failed: {redact(str(exc))[:300]}")

    def run_url(self, experiment_id: str, run_id: str) -> str:
        """The run's page; never with the URI's credentials (the browser asks for them)."""
        return f"{without_credentials(self.uri).rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"

    def runs(self, experiment: str, branch: str | None = None, pipeline: str | None = None,
             status: str | None = None, max_results: int = 100) -> list[RunSummary]:
        query = filter_string(branch, pipeline, status)
        try:
            client = self._client()
            exp = client.get_experiment_by_name(experiment)
            if exp is None:
                return []
            found = client.search_runs([exp.experiment_id], filter_string=query, max_results=max_results,
                                       order_by=["attributes.start_time DESC"])
            models = self._models_by_run(client)
        except TrackingError:
            raise
        except Exception as exc:  # noqa: BLE001 - MLflow raises many kinds; the user needs one message
            raise self._fail(exc) from None
        return [self._summary(r, experiment, models.get(r.info.run_id, [])) for r in found]

    def run(self, run_id: str) -> RunSummary:
        try:
            client = self._client()
            r = client.get_run(run_id)
            experiment = client.get_experiment(r.info.experiment_id).name
            models = self._models_by_run(client)
        except TrackingError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._fail(exc) from None
        return self._summary(r, experiment, models.get(run_id, []))

    def compare(self, run_ids: list[str]) -> RunComparison:
        if len(run_ids) < 2:
            raise TrackingError("compare needs two or more run ids")
        runs = [self.run(r) for r in run_ids]
        params = {k: {r.run_id: r.params.get(k) for r in runs} for k in sorted({k for r in runs for k in r.params})}
        metrics = {k: {r.run_id: r.metrics.get(k) for r in runs}
                   for k in sorted({k for r in runs for k in r.metrics})}
        differing = [k for k, values in params.items() if len(set(values.values())) > 1]
        return RunComparison(run_ids, params, metrics, differing)

    def _models_by_run(self, client) -> dict[str, list[dict]]:
        by_run: dict[str, list[dict]] = {}
        for mv in client.search_model_versions(max_results=1000):
            by_run.setdefault(mv.run_id, []).append(
                {"name": mv.name, "version": mv.version, "status": mv.status, "source": mv.source})
        return by_run

    def _summary(self, r, experiment: str, models: list[dict]) -> RunSummary:
        return RunSummary(
            run_id=r.info.run_id, experiment=experiment, name=r.info.run_name, status=r.info.status,
            start_time=r.info.start_time, end_time=r.info.end_time, params=dict(r.data.params),
            metrics=dict(r.data.metrics), tags={k: v for k, v in r.data.tags.items()
                                                 if not k.startswith("mlflow.log-model")},
            artifact_uri=r.info.artifact_uri, url=self.run_url(r.info.experiment_id, r.info.run_id),
            models=models,
        )
