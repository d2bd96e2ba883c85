"""The example pipeline submitted as the editor does it in the `make up` environment: the real
`expenv serve` runs *inside the devcontainer* (where the Docker socket is the host's), the editor
runs the "Submit pipeline train on dev" code lens of expenv.toml, and each step runs in a container
of the production image on the host's engine, its code copied in. The run is read back through the
daemon, the CLI in the devcontainer's terminal and MLflow's REST API (the server `expenv up` started
on the host, as `make up` does)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import PurePosixPath

import pytest

from tests.clusters.daemon_client import Daemon
from tests.docker.conftest import PROD_TAG, dc_exec
from tests.pipelines.conftest import git, mlflow_get, mlflow_post, mlflow_run

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1800)]

BRANCH = "release/3.0"   # not the default stage: the run's stage tag is "preprod"
DONE = ("FINISHED", "FAILED", "CANCELLED")


def _expenv(root, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "expenv", *args, "-w", str(root)], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def churn(devcontainer, example_project, production_image):
    """The churn example as a git repository inside the devcontainer's workspace, its feature repo
    applied and its MLflow server started on the host (`make up`), owned by the dev user."""
    from expenv.services.example import create_example

    name = f"pipe-{uuid.uuid4().hex[:8]}"
    root = example_project / name
    create_example(root, rows=3000)
    config = root / "expenv.toml"
    config.write_text(re.sub(r'production_image = "[^"]*"', f'production_image = "{PROD_TAG}"', config.read_text()))
    git(root, "init", "-q", "-b", BRANCH)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the churn example")
    sha = git(root, "rev-parse", "HEAD")   # before the chown: git refuses a repository of another user
    try:
        applied = _expenv(root, "features", "apply", "--yes")
        assert applied.returncode == 0, applied.stderr[-3000:]
        up = _expenv(root, "up", "--json", timeout=300)
        assert up.returncode == 0, up.stderr[-3000:]
        if os.geteuid() == 0:   # the dev user (uid 1000) owns the workspace, as on a developer's machine
            subprocess.run(["chown", "-R", "1000:1000", str(root)], check=True)
        yield {"root": root, "remote": f"{devcontainer.remote_workspace_folder}/{name}", "sha": sha,
               "uri": json.loads(up.stdout)["tracking_uri"], "image_id": production_image.id}
    finally:
        _expenv(root, "down", timeout=120)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def daemon_in_devcontainer(churn, example_project):
    """`expenv serve` in the devcontainer (the dev user, its production Python), its stdio the LSP
    stream, opened on the project's folder as the editor there sees it."""
    from expenv.services.images import devcontainer as dc

    serve = dc.exec_command(example_project, "python", "-m", "expenv", "serve")
    daemon = Daemon(PurePosixPath(churn["remote"]), command=serve)
    try:
        yield daemon
    finally:
        try:
            daemon.finish(timeout=30)
        except Exception:  # noqa: BLE001 - a daemon that does not end cleanly is killed
            daemon.kill()


@pytest.fixture
def run_ids(docker_client):
    """The runs the test submits: a step container a failed test leaves behind is removed."""
    ids: list[str] = []
    yield ids
    for run_id in ids:
        for container in _run_containers(docker_client, run_id):
            container.remove(force=True)


def _stderr(daemon: Daemon) -> str:
    return b"".join(daemon.stderr_lines)[-4000:].decode(errors="replace")


def _ok(response: dict) -> dict:
    assert "result" in response, response
    return response["result"]


def _submit_lens(daemon: Daemon, churn: dict) -> dict:
    """The "Submit pipeline train on dev" code lens on expenv.toml, as the daemon serves it."""
    uri = PurePosixPath(churn["remote"], "expenv.toml").as_uri()
    text = (churn["root"] / "expenv.toml").read_text()
    daemon.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "toml", "version": 1,
                                                            "text": text}})
    lenses = _ok(daemon.command_request("textDocument/codeLens", {"textDocument": {"uri": uri}})) or []
    by_title = {lens["command"]["title"]: lens["command"] for lens in lenses}
    assert "Submit pipeline train on dev" in by_title, (list(by_title), _stderr(daemon))
    return by_title["Submit pipeline train on dev"]


def _notified(daemon: Daemon, method: str, run_id: str, timeout: float = 120) -> list[dict]:
    """The notifications `method` of the run, once there is one (each round trip reads what came)."""
    deadline = time.monotonic() + timeout
    while not (found := [m["params"] for m in daemon.received
                         if m.get("method") == method and m["params"]["run"] == run_id]):
        assert time.monotonic() < deadline, f"no {method} for {run_id} in {timeout} s\n{_stderr(daemon)}"
        time.sleep(0.25)
        _ok(daemon.command("expenv.pipelines.list", {}))
    return found


def _run_containers(docker_client, run_id: str) -> list:
    return docker_client.containers.list(all=True, sparse=True, filters={"label": f"expenv.run={run_id}"})


def test_example_pipeline_submitted_from_the_devcontainer_runs_in_the_production_image(
        churn, daemon_in_devcontainer, docker_client, example_project, run_ids):
    daemon, remote, uri = daemon_in_devcontainer, churn["remote"], churn["uri"]
    lens = _submit_lens(daemon, churn)
    assert lens["command"] == "expenv.pipelines.submit"
    assert lens["arguments"] == [{"pipeline": "train", "target": "dev", "workspace": remote}]
    started = _ok(daemon.command(lens["command"], lens["arguments"][0]))
    assert started["status"] in ("PENDING", "RUNNING"), started
    run_id = started["id"]
    run_ids.append(run_id)

    # Follow the run through the daemon, as the pipelines view does; meanwhile, look at each step's
    # container on the host's engine while it exists (the engine's listing: a container removed
    # since cannot fail an inspection).
    seen: dict[str, dict] = {}
    deadline = time.monotonic() + 900
    while True:
        for container in _run_containers(docker_client, run_id):
            seen.setdefault(container.attrs["Labels"]["expenv.step"], container.attrs)
        run = _ok(daemon.command("expenv.pipelines.status", {"run": run_id, "workspace": remote}))
        if run["status"] in DONE:
            break
        assert time.monotonic() < deadline, f"run {run_id} did not end: {run}"
        time.sleep(0.25)
    logs = _ok(daemon.command("expenv.pipelines.logs", {"run": run_id, "workspace": remote}))["lines"]
    assert run["status"] == "FINISHED", (run, logs[-30:])
    assert [(s["name"], s["status"]) for s in run["steps"]] == [("prepare", "FINISHED"), ("train", "FINISHED")]
    assert run["commit"] == churn["sha"] and run["branch"] == BRANCH and run["patch"] is None
    assert run["image_digest"] == churn["image_id"]

    # The code was copied into each step's container: nothing is bind-mounted, least of all the
    # workspace by the devcontainer's path (or by the host's).
    assert set(seen) == {"prepare", "train"}
    for step, container in seen.items():
        assert container["ImageID"] == churn["image_id"], step
        assert [m for m in container["Mounts"] if m.get("Type") == "bind"] == [], (step, container["Mounts"])
        named = json.dumps(container["Mounts"])
        assert remote not in named and str(churn["root"]) not in named

    # step logs streamed to the client while it ran, then (after the last line) the final status
    # with the MLflow run
    [final] = _notified(daemon, "expenv/pipelineStatus", run_id)
    streamed = [(n["step"], n["line"]) for n in _notified(daemon, "expenv/pipelineLog", run_id)]
    assert any(step == "prepare" and "'rows': " in line for step, line in streamed), streamed[-20:]
    assert any(step == "train" and '"auc"' in line for step, line in streamed), streamed[-20:]
    assert final["status"] == "FINISHED" and final["mlflow_run_id"] == run["mlflow_run_id"]
    assert run["mlflow_url"].startswith(uri) and run["mlflow_run_id"] in run["mlflow_url"]

    # the CLI in the devcontainer's terminal sees the same run
    status = dc_exec(example_project, "python", "-m", "expenv", "pipeline", "status", run_id, "--json", "-w", remote)
    assert json.loads(status.stdout)["status"] == "FINISHED"

    parent = mlflow_run(uri, run["mlflow_run_id"])
    assert parent["status"] == "FINISHED"
    # the editor sends no parameters: expenv.toml's defaults, recorded on the run
    assert parent["params"]["train.rows_limit"] == "0" and parent["params"]["train.seed"] == "7"
    assert parent["params"]["prepare.rows_limit"] == "0" and parent["params"]["train.source"] == "features"
    tags = parent["tags"]
    assert tags["mlflow.source.git.commit"] == churn["sha"]
    assert tags["mlflow.source.git.branch"] == BRANCH and tags["expenv.stage"] == "preprod"
    assert tags["expenv.image"] == PROD_TAG and tags["expenv.image_digest"] == churn["image_id"]
    assert tags["expenv.target"] == "dev" and tags["expenv.runner"] == "docker"
    assert tags["expenv.pipeline"] == "train" and tags["expenv.feature_service"] == "churn_model_v1"
    assert "train.auc" in parent["metrics"]

    children = mlflow_post(uri, "runs/search", {
        "experiment_ids": [parent["experiment_id"]],
        "filter": f"tags.mlflow.parentRunId = '{run['mlflow_run_id']}'"})["runs"]
    by_step = {{t["key"]: t["value"] for t in c["data"]["tags"]}["expenv.step"]: c["info"]["run_id"]
               for c in children}
    assert set(by_step) == {"prepare", "train"}
    for step in ("prepare", "train"):
        child = mlflow_run(uri, by_step[step])
        assert child["status"] == "FINISHED"
        assert child["tags"]["mlflow.source.git.commit"] == churn["sha"]
        assert child["tags"]["mlflow.source.git.branch"] == BRANCH and child["tags"]["expenv.stage"] == "preprod"
        assert child["tags"]["expenv.runner"] == "docker" and child["tags"]["expenv.image"] == PROD_TAG
        assert child["tags"]["expenv.image_digest"] == churn["image_id"]
    train = mlflow_run(uri, by_step["train"])
    assert 0.5 < train["metrics"]["auc"] <= 1.0 and train["params"]["source"] == "features"
    assert train["params"]["rows_limit"] == "0" and train["params"]["seed"] == "7"   # from its command line
    prepare = mlflow_run(uri, by_step["prepare"])
    assert prepare["metrics"]["data_rows"] > 0
    assert train["metrics"]["n_train"] + train["metrics"]["n_test"] == prepare["metrics"]["data_rows"]
    artifacts = mlflow_get(uri, "artifacts/list", run_id=by_step["prepare"])
    assert "prepare.ipynb" in [f["path"] for f in artifacts.get("files", [])]
    models = mlflow_post(uri, "logged-models/search", {"experiment_ids": [parent["experiment_id"]]})["models"]
    [model] = [m["info"] for m in models if m["info"].get("source_run_id") == by_step["train"]]
    assert model["name"] == "model"
    files = mlflow_get(uri, f"logged-models/{model['model_id']}/artifacts/directories").get("files", [])
    assert "MLmodel" in [f["path"] for f in files], files   # the model's own artifacts, on the server
    assert _run_containers(docker_client, run_id) == []
