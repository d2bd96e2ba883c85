"""The Docker engine that `make` starts is the one expenv reports. No skip: CI must have it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.docker


def test_status_reports_the_engine_as_reachable(tmp_path):
    result = subprocess.run([sys.executable, "-m", "expenv", "status", "--json", "-w", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    docker = json.loads(result.stdout)["parts"]["docker"]
    assert docker["ok"] is True, f"{docker['detail']} (fix: {docker['fix']})"


def test_the_docker_sdk_talks_to_the_same_engine():
    import docker

    client = docker.from_env()
    try:
        assert client.ping() is True
        assert client.version()["ApiVersion"]
    finally:
        client.close()
