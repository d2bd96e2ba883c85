"""The Docker engine that `make` starts is the one expenv reports. No skip: CI must have it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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


def _fake_bin(folder, name, body):
    path = folder / name
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(0o755)


def test_a_stale_pid_file_left_by_a_snapshot_does_not_stop_the_engine_from_starting(tmp_path):
    """CI once failed: the machine, restored from a snapshot, kept /var/run/docker.pid of a dockerd
    that no longer ran, and dockerd refused to start ("pid file found"). The script clears it.
    Fake docker/dockerd/pgrep stand in for the engine so the host's engine is not touched."""
    fake = tmp_path / "bin"
    fake.mkdir()
    up, live, stale = tmp_path / "up", tmp_path / "live.pid", tmp_path / "stale.pid"
    _fake_bin(fake, "docker", f'test -f "{up}"\n')
    _fake_bin(fake, "pgrep", "exit 1\n")
    _fake_bin(fake, "dockerd", f'for f in "{stale}" "{live}"; do test -f "$f" && '
                               '{ echo "failed to start daemon: pid file found"; exit 1; }; done\n'
                               f'touch "{up}"\n')
    stale.write_text("999999999\n")                  # no such process
    live.write_text(f"{os.getpid()}\n")            # alive, but not an engine: stale as well
    script = Path(__file__).resolve().parents[2] / "devcontainer/scripts/ensure-docker.sh"
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}", "EXPENV_DOCKERD_PIDFILES": f"{stale} {live}",
           "EXPENV_DOCKERD_LOG": str(tmp_path / "dockerd.log")}
    env.pop("DOCKER_HOST", None)
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert not stale.exists() and not live.exists()
    assert "removing the stale" in result.stderr and up.exists()
