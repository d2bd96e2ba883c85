"""What a docker submission waits for (issue #12's benchmark): the mlflow client takes seconds to
import, so neither the submitting CLI nor the run's driver process imports it; they speak MLflow's
REST API. Python's own import log (PYTHONPROFILEIMPORTTIME, inherited by the driver, whose output
is its driver.log in the run's folder) says what each process imported."""

from __future__ import annotations

import json

import pytest

from tests.pipelines.conftest import expenv, mlflow_run

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]


def _imported(import_log: str) -> set[str]:
    """Top-level packages named in a `-X importtime` log."""
    return {line.rsplit("|", 1)[1].strip().split(".")[0] for line in import_log.splitlines()
            if line.startswith("import time:") and line.count("|") == 2}


def test_a_docker_submission_and_its_driver_do_not_import_mlflow(churn_repo):
    root, uri = churn_repo["root"], churn_repo["uri"]
    result = expenv(root, "pipeline", "submit", "flaky", "--target", "dev", "--wait", "--json",
                    env={"PYTHONPROFILEIMPORTTIME": "1"})
    run = json.loads(result.stdout)
    # the run went as before: its steps, statuses mirrored to MLflow, nested step runs
    assert [(s["name"], s["status"]) for s in run["steps"]] == [("boom", "FAILED"), ("after", "SKIPPED")]
    parent, child = mlflow_run(uri, run["mlflow_run_id"]), mlflow_run(uri, run["steps"][0]["mlflow_run_id"])
    assert (parent["status"], child["status"]) == ("FAILED", "FAILED")
    assert child["tags"]["mlflow.parentRunId"] == run["mlflow_run_id"]
    assert parent["tags"]["expenv.runner"] == "docker" and parent["params"]["boom.code"] == "3"
    submitted = _imported(result.stderr)
    driven = _imported((root / ".expenv" / "pipelines" / run["id"] / "driver.log").read_text())
    assert "expenv" in submitted and "docker" in driven   # the import logs are there
    assert "mlflow" not in submitted
    assert "mlflow" not in driven


def test_a_step_whose_code_stream_is_cut_fails_saying_so_and_runs_nothing(production_image, tmp_path, docker_client):
    """The submitter dies while it sends a started step its environment and code (the stream ends
    early): the step exits with the reason and never runs a half-unpacked checkout. Fault injected
    at the executor the submitter and the driver use, against the real engine and image."""
    import io
    import tarfile

    from expenv.domain.pipelines import StepSpec
    from expenv.services.pipelines.docker import ContainerSteps, _close, prepare_docker

    code = tmp_path / "code.tar"
    with tarfile.open(code, "w") as archive:
        script = b'print("the step ran", flush=True)\n' + b"#" * 200_000 + b"\n"
        member = tarfile.TarInfo("step.py")
        member.size = len(script)
        archive.addfile(member, io.BytesIO(script))
    facts = prepare_docker(production_image.tag, production_image.id)
    steps = ContainerSteps({**facts, "run_id": "cut-" + tmp_path.name[-8:].lower(), "code": str(code),
                            "labels": {"expenv.test": "cut-stream"}})
    step = StepSpec("cut", "python", "step.py")
    resources = steps.create_started(step, [facts["python"], "step.py"])
    try:
        stdin = steps._stdin.pop(resources["container"])
        sock = getattr(stdin, "_sock", stdin)
        sock.sendall(b'{"EXPENV_STEP": "cut"}\n' + code.read_bytes()[:50_000])
        _close(stdin)   # the submitter dies: its end of the connection goes
        container = docker_client.containers.get(resources["container"])
        assert container.wait(timeout=60)["StatusCode"] == 1
        output = container.logs().decode()
        assert "expenv: the step's code could not be unpacked in /tmp/workspace" in output, output
        assert "the step ran" not in output
    finally:
        steps.cleanup(resources)
