"""Pipelines on the docker target, each step a container of the production image, submitted as a
terminal on the host does (the CLI), read back through `expenv ... --json` and MLflow's REST API.
The example pipeline submitted as the editor does, by the daemon in the devcontainer:
tests/docker/test_pipeline_from_devcontainer.py."""

from __future__ import annotations

import json
import time

import pytest

from tests.pipelines.conftest import (
    expenv,
    expenv_json,
    git,
    mlflow_get,
    mlflow_run,
    wait_for_status,
)

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1800)]


def _leftover_containers(docker_client, run_id: str) -> list:
    return docker_client.containers.list(all=True, filters={"label": f"expenv.run={run_id}"})


def test_a_failing_step_fails_the_run_keeps_its_logs_and_skips_the_rest(churn_repo, docker_client):
    root, uri = churn_repo["root"], churn_repo["uri"]
    result = expenv(root, "pipeline", "submit", "flaky", "--target", "dev", "--wait", "--json")
    assert result.returncode == 1, result.stderr[-2000:]
    import json

    run = json.loads(result.stdout)
    assert run["status"] == "FAILED"
    assert [(s["name"], s["status"], s["exit_code"]) for s in run["steps"]] == [
        ("boom", "FAILED", 3), ("after", "SKIPPED", None)]
    assert "step boom failed" in run["detail"]
    logs = expenv_json(root, "pipeline", "logs", run["id"])["lines"]
    [line] = [entry["line"] for entry in logs if entry["step"] == "boom"]
    assert line == "boom step as uid 1000 in /workspace, exiting 3"   # the image's non-root user, copied code
    assert not [entry for entry in logs if entry["step"] == "after"]
    assert mlflow_run(uri, run["mlflow_run_id"])["status"] == "FAILED"
    assert mlflow_run(uri, run["steps"][0]["mlflow_run_id"])["status"] == "FAILED"
    assert _leftover_containers(docker_client, run["id"]) == []


def _running_sleeper(root) -> dict:
    run = expenv_json(root, "pipeline", "submit", "sleeper", "--target", "dev")
    assert run["status"] in ("PENDING", "RUNNING")

    def started(r: dict) -> bool:
        lines = expenv_json(root, "pipeline", "logs", r["id"])["lines"]
        return r["steps"][0]["status"] == "RUNNING" and any(e["line"] == "sleeper started" for e in lines)

    return wait_for_status(root, run["id"], started)


def test_a_container_killed_mid_run_is_detected_and_the_run_failed(churn_repo, docker_client):
    root, uri = churn_repo["root"], churn_repo["uri"]
    run = _running_sleeper(root)
    [container] = _leftover_containers(docker_client, run["id"])
    assert container.attrs["Config"]["User"] == "app" and container.attrs["HostConfig"]["NetworkMode"] == "host"
    assert container.attrs["HostConfig"]["Binds"] in (None, [])   # the code is copied in, never bind-mounted
    container.kill()
    failed = wait_for_status(root, run["id"], lambda r: r["status"] != "RUNNING")
    assert failed["status"] == "FAILED"
    assert "killed" in failed["steps"][0]["detail"] and failed["steps"][0]["exit_code"] == 137
    assert mlflow_run(uri, run["mlflow_run_id"])["status"] == "FAILED"


def test_the_engine_stops_mid_run_then_comes_back_and_the_run_is_failed_with_its_logs(churn_repo, docker_client,
                                                                                     tmp_path):
    """The Docker engine stops under a running step (its containers die with it) and the test starts
    it again. While it is gone, a submission fails plainly and the run's status and logs still
    read; once it is back, the step is found killed and the run FAILED, its logs kept."""
    from tests.pipelines.engine_proxy import EngineProxy

    root, uri = churn_repo["root"], churn_repo["uri"]
    engine = EngineProxy(tmp_path / "engine.sock")
    engine.start()
    env = {"DOCKER_HOST": engine.docker_host}
    try:
        submitted = expenv(root, "pipeline", "submit", "sleeper", "--target", "dev", "--json", env=env)
        assert submitted.returncode == 0, submitted.stderr[-3000:]
        run = json.loads(submitted.stdout)
        run = wait_for_status(root, run["id"], lambda r: r["steps"][0]["status"] == "RUNNING" and any(
            e["line"] == "sleeper started" for e in expenv_json(root, "pipeline", "logs", r["id"])["lines"]))
        [container] = _leftover_containers(docker_client, run["id"])
        engine.stop()
        container.kill()   # what an engine that stops does to its containers

        refused = expenv(root, "pipeline", "submit", "sleeper", "--target", "dev", "--json", env=env, timeout=120)
        assert refused.returncode != 0 and "Docker engine" in refused.stderr and "Traceback" not in refused.stderr
        during = expenv_json(root, "pipeline", "status", run["id"])
        assert during["status"] == "RUNNING"   # the step's fate is not known while its engine is away
        assert "sleeper started" in [e["line"] for e in expenv_json(root, "pipeline", "logs", run["id"])["lines"]]

        engine.start()   # the engine is back
        failed = wait_for_status(root, run["id"], lambda r: r["status"] != "RUNNING", timeout=180)
        assert failed["status"] == "FAILED" and failed["steps"][0]["exit_code"] == 137, failed
        assert "killed" in failed["steps"][0]["detail"]
        assert "sleeper started" in [e["line"] for e in expenv_json(root, "pipeline", "logs", run["id"])["lines"]]
        assert mlflow_run(uri, run["mlflow_run_id"])["status"] == "FAILED"
    finally:
        engine.stop()
        for leftover in _leftover_containers(docker_client, run["id"]) if "run" in locals() else []:
            leftover.remove(force=True)


def test_cancel_stops_the_container_and_marks_the_run_cancelled(churn_repo, docker_client):
    root, uri = churn_repo["root"], churn_repo["uri"]
    run = _running_sleeper(root)
    cancelled = expenv_json(root, "pipeline", "cancel", run["id"], timeout=120)
    assert cancelled["status"] == "CANCELLED" and cancelled["steps"][0]["status"] == "CANCELLED"
    deadline = time.monotonic() + 60
    while _leftover_containers(docker_client, run["id"]):
        assert time.monotonic() < deadline, "the step's container is still there after cancel"
        time.sleep(0.5)
    assert mlflow_run(uri, run["mlflow_run_id"])["status"] == "KILLED"
    assert expenv_json(root, "pipeline", "status", run["id"])["status"] == "CANCELLED"


def test_rerun_uses_the_same_commit_params_and_image_digest(churn_repo):
    root = churn_repo["root"]
    first = expenv(root, "pipeline", "submit", "flaky", "--target", "dev", "--param", "boom.code=0", "--wait", "--json")
    import json

    first = json.loads(first.stdout)
    assert first["status"] == "FINISHED", first
    # the workspace moves on: a new commit and an uncommitted change
    (root / "pipelines" / "boom.py").write_text("raise SystemExit(9)\n")
    git(root, "commit", "-q", "-am", "boom always fails")
    (root / "pipelines" / "boom.py").write_text("raise SystemExit(8)\n")
    try:
        again = expenv(root, "pipeline", "rerun", first["id"], "--wait", "--json")
        again = json.loads(again.stdout)
    finally:
        git(root, "reset", "-q", "--hard", churn_repo["sha"])
    assert again["rerun_of"] == first["id"] and again["id"] != first["id"]
    for key in ("commit", "params", "image_digest", "patch"):
        assert again[key] == first[key], key
    assert again["status"] == "FINISHED"   # the pinned code, not the new commit's


def test_uncommitted_changes_ship_as_a_patch_recorded_on_the_run(churn_repo):
    root, uri = churn_repo["root"], churn_repo["uri"]
    path = root / "pipelines" / "boom.py"
    original = path.read_text()
    path.write_text(original.replace("exiting {code}", "exiting {code} (patched)"))
    try:
        result = expenv(root, "pipeline", "submit", "flaky", "--target", "dev", "-p", "code=0", "--wait", "--json")
    finally:
        path.write_text(original)
    import json

    run = json.loads(result.stdout)
    assert run["status"] == "FINISHED" and run["commit"] == churn_repo["sha"] and len(run["patch"]) == 64
    lines = [e["line"] for e in expenv_json(root, "pipeline", "logs", run["id"])["lines"]]
    assert "boom step as uid 1000 in /workspace, exiting 0 (patched)" in lines
    parent = mlflow_run(uri, run["mlflow_run_id"])
    assert parent["tags"]["expenv.git.patch_sha256"] == run["patch"]
    artifacts = mlflow_get(uri, "artifacts/list", run_id=run["mlflow_run_id"], path="expenv")
    assert [f["path"] for f in artifacts["files"]] == ["expenv/patch.diff"]
