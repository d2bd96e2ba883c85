"""The example churn project as a git repository on branch feature/x, with test-only pipelines
beside its `train` pipeline, its feature repo applied, its embedded MLflow running and its
production image built (tests/docker/conftest.py: once per session)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import pytest_lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import DAEMON_CMD
from tests.docker.conftest import PROD_TAG, base_image, docker_client, production_image  # noqa: F401
from tests.docker.conftest import example_project  # noqa: F401
from tests.lsp.session import end_session

# Test-only pipelines added to the example (a user adds them the same way): a failing step before
# another, and a step that runs until stopped.
EXTRA_CONFIG = """
[targets.strict]
backend = "docker"
production_like = true
include = ["features/data"]

[pipelines.flaky.steps.boom]
python = "pipelines/boom.py"
params = { code = 3 }

[pipelines.flaky.steps.after]
python = "pipelines/boom.py"
depends_on = ["boom"]
params = { code = 0 }

[pipelines.sleeper.steps.sleep]
python = "pipelines/sleeper.py"
params = { seconds = 600 }
"""
BOOM = """import argparse, os, sys
parser = argparse.ArgumentParser()
parser.add_argument("--code", type=int)
code = parser.parse_args().code
mine = os.stat(__file__).st_uid == os.getuid() and os.access(os.getcwd(), os.W_OK)
print(f"boom step as uid {os.getuid()} in {os.getcwd()}{' (its own)' if mine else ''}, exiting {code}", flush=True)
sys.exit(code)
"""
SLEEPER = """import argparse, time
parser = argparse.ArgumentParser()
parser.add_argument("--seconds", type=float)
print("sleeper started", flush=True)
time.sleep(parser.parse_args().seconds)
"""


def git(root: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(root), "-c", "user.email=t@example.org", "-c", "user.name=t", *args],
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


def expenv(root: Path, *args: str, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "expenv", *args, "-w", str(root)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def expenv_json(root: Path, *args: str, timeout: float = 600, ok: bool = True, env: dict | None = None) -> dict:
    result = expenv(root, *args, "--json", timeout=timeout, env=env)
    if ok:
        assert result.returncode == 0, f"expenv {args} failed:\n{result.stderr[-3000:]}"
    return json.loads(result.stdout)


def wait_for_status(root: Path, run_id: str, predicate, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = expenv_json(root, "pipeline", "status", run_id)
        if predicate(run):
            return run
        assert time.monotonic() < deadline, f"run {run_id} never reached the state: {run}"
        time.sleep(1)


@pytest.fixture(scope="session")
def churn_repo(tmp_path_factory, production_image) -> dict:  # noqa: F811
    from expenv.services.example import create_example

    root = tmp_path_factory.mktemp("pipelines") / "churn"
    create_example(root, rows=3000)
    config = root / "expenv.toml"
    text = re.sub(r'production_image = "[^"]*"', f'production_image = "{PROD_TAG}"', config.read_text())
    config.write_text(text + EXTRA_CONFIG)
    (root / "pipelines" / "boom.py").write_text(BOOM)
    (root / "pipelines" / "sleeper.py").write_text(SLEEPER)
    git(root, "init", "-q", "-b", "feature/x")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the churn example")
    applied = expenv(root, "features", "apply", "--yes", timeout=900)
    assert applied.returncode == 0, applied.stderr[-3000:]
    up = expenv(root, "up", "--json", timeout=300)
    assert up.returncode == 0, up.stderr[-3000:]
    uri = json.loads(up.stdout)["tracking_uri"]
    yield {"root": root, "sha": git(root, "rev-parse", "HEAD"), "uri": uri, "image_id": production_image.id}
    expenv(root, "down", timeout=120)


def mlflow_get(uri: str, endpoint: str, **params) -> dict:
    import urllib.parse
    import urllib.request

    url = f"{uri}/api/2.0/mlflow/{endpoint}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def mlflow_post(uri: str, path: str, body: dict) -> dict:
    import urllib.request

    request = urllib.request.Request(f"{uri}/api/2.0/mlflow/{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def mlflow_run(uri: str, run_id: str) -> dict:
    run = mlflow_get(uri, "runs/get", run_id=run_id)["run"]
    data = run["data"]
    return {"status": run["info"]["status"], "experiment_id": run["info"]["experiment_id"],
            "params": {p["key"]: p["value"] for p in data.get("params", [])},
            "metrics": {m["key"]: m["value"] for m in data.get("metrics", [])},
            "tags": {t["key"]: t["value"] for t in data.get("tags", [])}}


@pytest_lsp.fixture(config=ClientServerConfig(server_command=DAEMON_CMD))
async def vscode(lsp_client: LanguageClient):
    """The real `expenv serve`, driven with VS Code's client capabilities (one profile: each
    submission runs containers)."""
    lsp_client.profile = "visual_studio_code"
    lsp_client.pipeline_logs = []

    @lsp_client.feature("expenv/pipelineLog")
    def on_log(params):
        lsp_client.pipeline_logs.append(params)

    @lsp_client.feature("expenv/pipelineStatus")
    def on_status(params):
        lsp_client.pipeline_logs.append({"status": params})

    lsp_client.workspace_changes = []   # expenv/workspaceChanged: what the editor's views refresh on

    @lsp_client.feature("expenv/workspaceChanged")
    def on_changed(params):
        lsp_client.workspace_changes.append((params.workspace, params.what))

    yield
    await end_session(lsp_client)
