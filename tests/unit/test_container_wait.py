"""A docker step's end, answered by an engine that then goes: a real engine stopped with SIGTERM
answers the wait its driver had open (the step's container killed as it stops) and exits; the
driver's next request finds no socket. The exit code it was told stands; the driver used to fail
on that next request (the run FAILED as "the run's driver failed", no exit code). The engine's
side is a stand-in here: the window between the answer and the engine's exit is milliseconds,
too short to hit on purpose with the real engine of tests/pipelines/test_docker_pipeline.py."""

from __future__ import annotations

import threading

from requests.exceptions import ConnectionError as RequestsConnectionError

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
