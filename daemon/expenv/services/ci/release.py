"""The release steps of CI: the pull-request comment of a pre-prod run (which also marks that MLflow
run as the release candidate) and the promotion on a merge into main, which finds the pre-prod run
through its MLflow tags and registers its model under an alias, without retraining."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from expenv.domain.errors import ExpenvError
from expenv.services.repository.git import output as git

CI_DIR = "ci"                       # under the workspace's .expenv/
RELEASE_TAG = "expenv.ci.release"   # set on the pre-prod MLflow run by the comment step
SOURCE_TAG = "expenv.ci.from"
TREE_TAG = "expenv.ci.tree"
KEY_METRICS = 8


def _client(uri: str):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri)


def tracking_uri(services, target: str) -> str:
    section = services.config.targets.get(target)
    if section is None:
        raise ExpenvError(f"target: no [targets.{target}] in expenv.toml")
    uri = section.tracking_uri or services.tracking.require_uri()
    if uri.startswith(("http://", "https://")):
        from expenv.domain.secrets import redact
        from expenv.services.http_probe import http_get

        try:   # any answer will do: MLflow's client would retry an absent host for minutes
            http_get(uri.rstrip("/") + "/health", timeout=5)
        except OSError as exc:
            raise ExpenvError(f"the tracking server of target {target} ({redact(uri)}) does not answer: "
                              f"{exc}") from None
    return uri


def pr_comment_text(run, metrics: dict[str, float], source: str | None, target: str | None) -> str:
    """The pull request's comment: what ran where, the MLflow run's link and its key metrics."""
    lines = [f"### expenv pre-prod run: `{run.pipeline}` on `{run.target}` ({run.backend})", "",
             f"{source or '?'} → {target or '?'} · commit `{(run.commit or '')[:12]}` · **{run.status}**", "",
             f"MLflow run: [{run.mlflow_run_id}]({run.mlflow_url})" if run.mlflow_url
             else f"MLflow run: {run.mlflow_run_id}"]
    if metrics:
        lines += ["", "| metric | value |", "|---|---|"]
        lines += [f"| {name} | {value:.4g} |" for name, value in sorted(metrics.items())[:KEY_METRICS]]
    return "\n".join(lines) + "\n"


def _pr_number(explicit: int | None) -> int | None:
    if explicit:
        return explicit
    event_path = os.environ.get("GITHUB_EVENT_PATH")
    if event_path and Path(event_path).is_file():
        return (json.loads(Path(event_path).read_text()).get("pull_request") or {}).get("number")
    return None


def comment(services, pipeline: str, target: str, source: str | None, release: str | None,
            pr: int | None = None) -> dict[str, Any]:
    """Write (and post, with a GitHub token) the comment of the newest finished run of PIPELINE on
    TARGET at HEAD; tag that MLflow run with the release it is a candidate for."""
    root = services.config.root
    head = git(root, "rev-parse", "HEAD")
    runs = [r for r in services.pipelines.runs() if r.pipeline == pipeline and r.target == target and r.commit == head]
    if not runs:
        raise ExpenvError(f"no run of {pipeline} on {target} at {head[:12]}: run "
                          f"`expenv pipeline submit {pipeline} --target {target} --wait` first")
    run = runs[0]
    metrics: dict[str, float] = {}
    if run.mlflow_run_id:
        client = _client(tracking_uri(services, target))
        metrics = dict(client.get_run(run.mlflow_run_id).data.metrics)
        tree = git(root, "rev-parse", "HEAD^{tree}")
        for key, value in ((RELEASE_TAG, release), (SOURCE_TAG, source), (TREE_TAG, tree)):
            if value:
                client.set_tag(run.mlflow_run_id, key, value)
    text = pr_comment_text(run, metrics, source, release)
    path = services.config.state_dir / CI_DIR / "pr-comment.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    posted = None
    number = _pr_number(pr)
    if os.environ.get("GITHUB_TOKEN") and number and shutil.which("gh"):
        subprocess.run(["gh", "pr", "comment", str(number), "--body-file", str(path)], cwd=root, check=True)
        posted = number
    return {"run": run.id, "status": run.status, "mlflow_run_id": run.mlflow_run_id, "mlflow_url": run.mlflow_url,
            "metrics": metrics, "comment": text, "path": str(path), "posted_to_pr": posted}
