"""Pipelines on the docker target, each step a container of the production image, submitted as a
terminal on the host does (the CLI), read back through `expenv ... --json` and MLflow's REST API.
The example pipeline submitted as the editor does, by the daemon in the devcontainer:
tests/docker/test_pipeline_from_devcontainer.py."""

from __future__ import annotations

import contextlib
import json
import os
import signal
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
from tests.docker.conftest import PROD_TAG

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
    assert line == "boom step as uid 1000 in /tmp/workspace (its own), exiting 3"   # the image's non-root user, its code
    assert not [entry for entry in logs if entry["step"] == "after"]
    assert mlflow_run(uri, run["mlflow_run_id"])["status"] == "FAILED"
    assert mlflow_run(uri, run["steps"][0]["mlflow_run_id"])["status"] == "FAILED"
    assert _leftover_containers(docker_client, run["id"]) == []


def _running_sleeper(root, env: dict | None = None) -> dict:
    """Submit the sleeper (to the engine DOCKER_HOST in `env` names) and wait until its step runs."""
    run = expenv_json(root, "pipeline", "submit", "sleeper", "--target", "dev", env=env)
    assert run["status"] in ("PENDING", "RUNNING")

    def started(r: dict) -> bool:
        return r["steps"][0]["status"] == "RUNNING" and "sleeper started" in _log_lines(root, r["id"])

    return wait_for_status(root, run["id"], started)


def _log_lines(root, run_id: str) -> list[str]:
    return [e["line"] for e in expenv_json(root, "pipeline", "logs", run_id)["lines"]]


def _assert_found_killed(root, uri: str, run: dict, timeout: float = 300) -> None:
    """The run's step is seen killed (exit 137) and the run FAILED, in `pipeline status` and MLflow."""
    failed = wait_for_status(root, run["id"], lambda r: r["status"] != "RUNNING", timeout=timeout)
    assert failed["status"] == "FAILED" and failed["steps"][0]["exit_code"] == 137, failed
    assert "killed" in failed["steps"][0]["detail"]
    assert mlflow_run(uri, run["mlflow_run_id"])["status"] == "FAILED"


def test_a_container_killed_mid_run_is_detected_and_the_run_failed(churn_repo, docker_client):
    root, uri = churn_repo["root"], churn_repo["uri"]
    run = _running_sleeper(root)
    [container] = _leftover_containers(docker_client, run["id"])
    assert container.attrs["Config"]["User"] == "app" and container.attrs["HostConfig"]["NetworkMode"] == "host"
    assert container.attrs["HostConfig"]["Binds"] in (None, [])   # the code is copied in, never bind-mounted
    # the step's environment (tracking URI and its credentials, run ids) goes in through stdin with
    # the code: `docker inspect` does not show it
    assert not [e for e in container.attrs["Config"]["Env"] if e.startswith(("MLFLOW_", "EXPENV_"))]
    container.kill()
    _assert_found_killed(root, uri, run)


@pytest.fixture(scope="module")
def loaded_private_engine(tmp_path_factory, production_image):
    """A dockerd of this module's own (tests/pipelines/private_engine.py) holding the production
    image; it fails the tests, with its log, when it cannot start."""
    from tests.pipelines.private_engine import PrivateEngine

    engine = PrivateEngine(tmp_path_factory.mktemp("privengine"))
    try:
        engine.start()
        engine.load(PROD_TAG)
        yield engine
    finally:
        engine.destroy()


@pytest.fixture
def private_engine(loaded_private_engine):
    """The private engine, running (a test that failed may have left it stopped)."""
    if not loaded_private_engine.answers():
        loaded_private_engine.start()
    return loaded_private_engine


def _while_the_engine_is_away(root, env: dict, run: dict) -> str:
    """A submission to the stopped engine fails plainly; the run's status and logs still read (from
    disk). The run's status then."""
    refused = expenv(root, "pipeline", "submit", "sleeper", "--target", "dev", "--json", env=env, timeout=120)
    assert refused.returncode != 0 and "Docker engine" in refused.stderr and "Traceback" not in refused.stderr
    assert "sleeper started" in _log_lines(root, run["id"])
    return expenv_json(root, "pipeline", "status", run["id"])["status"]


def _assert_nothing_left(engine, run_id: str) -> None:
    """The run's containers are removed from its engine (by its driver, maybe once the engine is back)."""
    deadline = time.monotonic() + 60
    while left := _leftover_containers(engine, run_id):
        assert time.monotonic() < deadline, f"containers left on the engine: {[c.name for c in left]}"
        time.sleep(0.5)


def test_the_engine_stops_mid_run_then_comes_back_and_the_run_is_failed_with_its_logs(churn_repo, docker_client,
                                                                                     private_engine):
    """A real Docker engine, the one DOCKER_HOST names, stops under a running step, as a service
    manager stops it (SIGTERM: its API goes, it kills its containers, it exits), and the test
    starts it again. While it is gone, a submission fails plainly and the run's status (its step's
    fate not known yet) and logs still read; once it is back, the run's driver finds the step
    killed and the run FAILED, its logs kept and its container removed, and a new submission runs."""
    root, uri = churn_repo["root"], churn_repo["uri"]
    env = {"DOCKER_HOST": private_engine.docker_host}
    with contextlib.closing(private_engine.client()) as engine:
        run = _running_sleeper(root, env)
        assert len(_leftover_containers(engine, run["id"])) == 1
        assert _leftover_containers(docker_client, run["id"]) == []   # on the engine DOCKER_HOST names
        private_engine.stop()   # the step (python as pid 1 ignores SIGTERM) is SIGKILLed after 10 s

        assert _while_the_engine_is_away(root, env, run) == "RUNNING"

        private_engine.start()   # the same engine (data-root) is back
        _assert_found_killed(root, uri, run, timeout=180)
        assert "sleeper started" in _log_lines(root, run["id"])
        _assert_nothing_left(engine, run["id"])

        again = expenv(root, "pipeline", "submit", "sleeper", "--target", "dev", "-p", "sleep.seconds=0", "--wait",
                       "--json", env=env)   # and it takes submissions again
        assert again.returncode == 0 and json.loads(again.stdout)["status"] == "FINISHED", again.stderr[-3000:]


def test_a_step_killed_as_its_engine_stops_is_failed_and_its_container_removed_once_the_engine_is_back(
        churn_repo, private_engine):
    """The step's container is killed as its engine stops, after the engine stopped listening: the
    run's driver still gets the step's end on the wait it had open (FAILED at once), but cannot
    remove the dead container then. (It used to leave it on the engine for good; it now removes
    it once the engine is back.)"""
    root, uri = churn_repo["root"], churn_repo["uri"]
    env = {"DOCKER_HOST": private_engine.docker_host}
    with contextlib.closing(private_engine.client()) as engine:
        run = _running_sleeper(root, env)
        [container] = _leftover_containers(engine, run["id"])
        step_pid = container.attrs["State"]["Pid"]
        private_engine.stop(once_unreachable=lambda: os.kill(step_pid, signal.SIGKILL))

        assert _while_the_engine_is_away(root, env, run) in ("RUNNING", "FAILED")   # FAILED if its wait got the end

        private_engine.start()
        _assert_found_killed(root, uri, run, timeout=180)
        _assert_nothing_left(engine, run["id"])


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
    assert "boom step as uid 1000 in /tmp/workspace (its own), exiting 0 (patched)" in lines
    parent = mlflow_run(uri, run["mlflow_run_id"])
    assert parent["tags"]["expenv.git.patch_sha256"] == run["patch"]
    artifacts = mlflow_get(uri, "artifacts/list", run_id=run["mlflow_run_id"], path="expenv")
    assert [f["path"] for f in artifacts["files"]] == ["expenv/patch.diff"]
