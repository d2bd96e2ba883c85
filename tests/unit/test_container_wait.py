"""How a docker step's driver copes with an engine that goes, where the real engine of
tests/pipelines/test_docker_pipeline.py cannot be used on purpose, the engine's side being a stand-in:
- a real engine stopped with SIGTERM answers the wait its driver had open (the step's container
  killed as it stops) and exits; the driver's next request may find no socket (a window of
  milliseconds). The exit code it was told stands; the driver used to fail on that request (the
  run FAILED as "the run's driver failed", no exit code);
- an engine that does not come back fails the step after ENGINE_LOST_SECONDS (10 minutes; here
  shortened);
- an engine gone once the step ended, when its outputs were to be copied out: the step fails saying
  so, and the run ends as any run."""

from __future__ import annotations

import threading

from requests.exceptions import ConnectionError as RequestsConnectionError

from expenv.services.pipelines import docker
from expenv.services.pipelines.docker import ContainerSteps


class _AnsweredThenGone:
    """A container whose engine answers its wait (killed: 137) and then is gone."""

    id = "step-container"
    attrs = {"State": {"Status": "running", "OOMKilled": False}, "HostConfig": {}}

    def wait(self, timeout: float) -> dict:
        return {"StatusCode": 137}

    def reload(self) -> None:
        raise RequestsConnectionError("('Connection aborted.', FileNotFoundError(2, 'No such file or directory'))")


class _Engine:
    class containers:  # noqa: N801 - the docker SDK's attribute name
        @staticmethod
        def get(container_id: str) -> _AnsweredThenGone:
            return _AnsweredThenGone()


def test_the_exit_code_the_engine_answered_stands_when_it_goes_right_after():
    steps = ContainerSteps({"run_id": "r1"})
    steps._client = _Engine()
    code, detail = steps.wait({"container": "step-container", "name": "expenv-r1-s"}, threading.Event())
    assert code == 137 and "killed" in detail


class _Gone:
    """An engine that stopped: nothing answers at its socket."""

    class containers:  # noqa: N801 - the docker SDK's attribute name
        @staticmethod
        def get(container_id: str):
            return _Unanswered()

    @staticmethod
    def ping():
        raise RequestsConnectionError("('Connection aborted.', FileNotFoundError(2, 'No such file or directory'))")


class _Unanswered:
    id = "step-container"

    def wait(self, timeout: float) -> dict:
        _Gone.ping()


def test_an_engine_that_does_not_come_back_fails_the_step_saying_so(monkeypatch):
    monkeypatch.setattr(docker, "ENGINE_LOST_SECONDS", 0.5)
    steps = ContainerSteps({"run_id": "r2"})
    steps._client = _Gone()
    code, detail = steps.wait({"container": "step-container", "name": "expenv-r2-s"}, threading.Event())
    assert code is None and detail == "lost the Docker engine: it did not answer for 0.5 s while the step ran"


class _GoneAtCollect:
    """A step executor whose engine answered the step's end (exit 0) and was gone when its
    outputs (the executed notebook) were to be copied out."""

    def start(self, step, argv, env, log_path):
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text("ran\n")
        return {"container": "step-container", "name": "expenv-r4-look"}

    def wait(self, resources, stopping):
        return 0, ""

    def collect(self, resources, step, dest):
        raise RequestsConnectionError("('Connection aborted.', FileNotFoundError(2, 'No such file or directory'))")

    def stop(self, resources):
        pass

    def cleanup(self, resources):
        pass

    def remove_leftovers(self):
        pass


def test_a_step_whose_outputs_are_lost_with_the_engine_fails_saying_so_and_the_run_ends(tmp_path):
    """The driver used to die there (the run FAILED as "the run's driver failed", the step with no
    exit code); now the step fails with its exit code and the reason, and the run ends as any run."""
    from expenv.domain.pipelines import FAILED, PipelineRun, StepRun
    from expenv.services.pipelines import driver
    from expenv.services.pipelines.store import RunStore

    store = RunStore(tmp_path)
    store.create(PipelineRun(id="r4", pipeline="nb", target="dev", backend="docker", mlflow_run_id="parent",
                             steps=[StepRun("look", mlflow_run_id="child")]))
    store.write_json("r4", driver.PLAN, {
        "backend": "docker", "tracking_uri": "http://127.0.0.1:1",   # nothing listens: told later
        "steps": [{"name": "look", "kind": "notebook", "entrypoint": "notebooks/look.ipynb", "depends_on": [],
                   "params": {}, "argv": ["python", "-m", "papermill"], "env": {}}]})
    run = driver.drive(store, "r4", _GoneAtCollect(), threading.Event())
    assert run.status == FAILED, run
    step = run.step("look")
    assert step.status == FAILED and step.exit_code == 0, step
    assert "its outputs could not be collected" in step.detail and "Connection aborted" in step.detail, step.detail
