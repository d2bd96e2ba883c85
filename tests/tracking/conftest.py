"""A workspace in a git repository on branch feature/x, with its embedded MLflow running (started by
`expenv up`, as a user does), and runs read back through MLflow's REST API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tracked_workspace(tmp_path_factory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("tracked") / "churn"
    root.mkdir()
    (root / "expenv.toml").write_text('[project]\nname = "churn"\n')
    (root / "pipelines").mkdir()
    (root / "pipelines" / "train.py").write_text(
        "import mlflow, os\n\nif __name__ == '__main__':\n"
        "    with mlflow.start_run():\n        mlflow.log_metric('auc', float(os.environ.get('AUC', '0.7')))\n"
        "        mlflow.log_param('C', os.environ.get('C', '1.0'))\n")
    (root / ".gitignore").write_text(".expenv/\n")
    git = ["git", "-C", str(root), "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", "-b", "feature/x"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], check=True)
    sha = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    up = subprocess.run([sys.executable, "-m", "expenv", "up", "--json", "-w", str(root)],
                        capture_output=True, text=True, timeout=180)
    assert up.returncode == 0, up.stderr
    yield root, sha
    subprocess.run([sys.executable, "-m", "expenv", "down", "-w", str(root)], capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def tracking(tracked_workspace):
    from expenv.services.workspace import WorkspaceSet

    return WorkspaceSet().add(tracked_workspace[0]).services.tracking


def runs_json(root: Path, *args: str) -> list[dict]:
    result = subprocess.run([sys.executable, "-m", "expenv", "runs", "ls", "--json", "-w", str(root), *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def assert_nothing_preset() -> None:
    """The test process hands its children no tracking settings: what they get, expenv gave them."""
    preset = sorted(k for k in os.environ if k.startswith(("MLFLOW_", "EXPENV_")))
    assert not preset, f"the test environment already sets {preset}"


def server_uri(root: Path) -> str:
    """The tracking URI `expenv status --json` reports for the workspace."""
    result = subprocess.run([sys.executable, "-m", "expenv", "status", "--json", "-w", str(root)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    (uri,) = {w["tracking_uri"] for w in json.loads(result.stdout)["workspaces"]}
    return uri


def _rest(uri: str, path: str, body: dict | None = None, query: dict | None = None) -> dict:
    url = f"{uri.rstrip('/')}/api/2.0/mlflow/{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def rest_runs(uri: str, experiment: str) -> list[dict]:
    """Every run of `experiment`, from MLflow's REST API: {run_id, name, tags, metrics, params}."""
    found = _rest(uri, "experiments/search", {"max_results": 1000, "filter": f"name = '{experiment}'"})
    ids = [e["experiment_id"] for e in found.get("experiments", [])]
    if not ids:
        return []
    runs = _rest(uri, "runs/search", {"experiment_ids": ids, "max_results": 1000}).get("runs", [])
    pairs = lambda items: {i["key"]: i["value"] for i in items}  # noqa: E731
    return [{"run_id": r["info"]["run_id"], "name": r["info"].get("run_name"),
             "tags": pairs(r["data"].get("tags", [])), "metrics": pairs(r["data"].get("metrics", [])),
             "params": pairs(r["data"].get("params", []))} for r in runs]


def run_named(uri: str, experiment: str, name: str) -> dict:
    (run,) = [r for r in rest_runs(uri, experiment) if r["name"] == name]
    return run
