"""The few MLflow REST calls a pipeline run makes (experiment, runs, tags, params, statuses),
over the standard library: importing the mlflow client takes seconds, and a submission and its
driver process would wait for it before a step could start. Honours the client's credential
variables (MLFLOW_TRACKING_USERNAME/PASSWORD, MLFLOW_TRACKING_TOKEN)."""

from __future__ import annotations

import base64
import json
import mimetypes
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

from expenv.domain.secrets import redact
from expenv.services.tracking.runs import TrackingError

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"   # the server's artifact proxy (--serve-artifacts)
RETRIED = (429, 500, 502, 503, 504)   # what the mlflow client retries too (sqlite busy, restarts)
ATTEMPTS = 3


def is_rest(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def now_ms() -> int:
    return int(time.time() * 1000)


class MlflowRest:
    """One tracking server's REST API; errors are TrackingError with the server's message."""

    def __init__(self, uri: str, timeout: float = 15.0):
        parts = urlsplit(uri)
        # user:password in the URI is Basic auth, as the mlflow client (requests) sends it; urllib
        # would take it for part of the host name
        self.userinfo = (unquote(parts.username), unquote(parts.password or "")) if parts.username else None
        if "@" in parts.netloc:
            uri = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        self.base = uri.rstrip("/") + API
        self.uri = uri
        self.timeout = timeout

    def _headers(self) -> dict[str, str]:
        headers = {}
        user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
        if token := os.environ.get("MLFLOW_TRACKING_TOKEN"):
            headers["Authorization"] = f"Bearer {token}"
        elif (user and password) or self.userinfo:
            user, password = (user, password) if user and password else self.userinfo
            headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        return headers

    def call(self, endpoint: str, body: dict[str, Any] | None = None, query: dict[str, str] | None = None,
             missing_ok: bool = False) -> dict[str, Any] | None:
        """POST `body` (or GET with `query`) to api/2.0/mlflow/`endpoint`; None for a 404 when `missing_ok`."""
        url = f"{self.base}/{endpoint}" + (f"?{urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else None
        answer = self._send(url, endpoint, "POST" if data is not None else "GET", data, missing_ok=missing_ok)
        return None if answer is None else json.loads(answer or b"{}")

    def _send(self, url: str, what: str, method: str, data: bytes | None, content_type: str = "application/json",
              missing_ok: bool = False) -> bytes | None:
        for attempt in range(1, ATTEMPTS + 1):
            request = urllib.request.Request(url, data=data, method=method,
                                             headers={**self._headers(), "Content-Type": content_type})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return response.read()
            except urllib.error.HTTPError as exc:
                text = exc.read().decode("utf-8", "replace")
                if exc.code == 404 and missing_ok:
                    return None
                if exc.code in RETRIED and attempt < ATTEMPTS:
                    time.sleep(0.5 * attempt)
                    continue
                raise TrackingError(f"MLflow at {redact(self.uri)} refused {what} "
                                    f"(HTTP {exc.code}): {redact(text)[:300]}") from None
            except (OSError, ValueError) as exc:   # refused, reset, timed out, not JSON
                raise TrackingError(f"MLflow at {redact(self.uri)} did not answer {what}: "
                                    f"{redact(str(exc))[:300]}") from None
        raise AssertionError("unreachable")

    def upload(self, run_id: str, path: Path, artifact_path: str | None = None) -> bool:
        """PUT a file into a run's artifacts when the server serves them (an `mlflow-artifacts:/`
        artifact URI, as `expenv up`'s server); False when the run's artifacts live elsewhere."""
        artifact_uri = urlsplit(self.get_run(run_id)["info"].get("artifact_uri", ""))
        if artifact_uri.scheme != "mlflow-artifacts" or artifact_uri.netloc:
            return False
        parts = [p for p in (artifact_uri.path.strip("/"), (artifact_path or "").strip("/"), path.name) if p]
        url = f"{self.uri.rstrip('/')}{ARTIFACTS}/{quote('/'.join(parts))}"
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self._send(url, f"the upload of {path.name}", "PUT", path.read_bytes(), kind)
        return True

    def experiment_id(self, name: str) -> str:
        """The experiment's id, created when it does not exist yet."""
        found = self.call("experiments/get-by-name", query={"experiment_name": name}, missing_ok=True)
        if found:
            return found["experiment"]["experiment_id"]
        try:
            return self.call("experiments/create", {"name": name})["experiment_id"]
        except TrackingError:   # created meanwhile by another process
            found = self.call("experiments/get-by-name", query={"experiment_name": name})
            return found["experiment"]["experiment_id"]

    def create_run(self, experiment_id: str, run_name: str, tags: dict[str, str]) -> str:
        body = {"experiment_id": str(experiment_id), "run_name": run_name, "start_time": now_ms(),
                "user_id": tags.get("mlflow.user", "unknown"),
                "tags": [{"key": k, "value": str(v)} for k, v in tags.items()]}
        return self.call("runs/create", body)["run"]["info"]["run_id"]

    def log_batch(self, run_id: str, params: dict[str, str] | None = None,
                  metrics: list[dict[str, Any]] | None = None) -> None:
        """Params and metrics in batches the server accepts (100 params, 1000 metrics a request)."""
        params_list = [{"key": k, "value": str(v)} for k, v in (params or {}).items()]
        metrics = metrics or []
        for start in range(0, max(len(params_list), 1), 100):
            if params_list[start:start + 100]:
                self.call("runs/log-batch", {"run_id": run_id, "params": params_list[start:start + 100]})
        for start in range(0, len(metrics), 1000):
            self.call("runs/log-batch", {"run_id": run_id, "metrics": metrics[start:start + 1000]})

    def get_run(self, run_id: str) -> dict[str, Any]:
        return self.call("runs/get", query={"run_id": run_id})["run"]

    def update_run(self, run_id: str, status: str, end_time: int | None = None) -> None:
        body: dict[str, Any] = {"run_id": run_id, "run_uuid": run_id, "status": status}
        if end_time is not None:
            body["end_time"] = end_time
        self.call("runs/update", body)


def metrics_of(run: dict[str, Any]) -> dict[str, float]:
    """A run's latest metrics, as `get_run` returns them."""
    return {m["key"]: float(m["value"]) for m in run.get("data", {}).get("metrics", [])}
