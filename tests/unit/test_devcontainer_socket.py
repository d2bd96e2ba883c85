"""The rendered devcontainer mounts the host's Docker socket named by DOCKER_HOST (rootless
engines), not a hard-coded path; the container side stays /var/run/docker.sock."""

from __future__ import annotations

import pytest

from expenv.services.images import prepare_devcontainer
from expenv.services.images.devcontainer import load_jsonc


@pytest.mark.parametrize("docker_host, socket", [
    ("unix:///run/user/1000/docker.sock", "/run/user/1000/docker.sock"),
    (None, "/var/run/docker.sock"),
    ("tcp://127.0.0.1:2375", "/var/run/docker.sock"),
])
def test_the_socket_mount_follows_docker_host(tmp_path, monkeypatch, docker_host, socket):
    if docker_host is None:
        monkeypatch.delenv("DOCKER_HOST", raising=False)
    else:
        monkeypatch.setenv("DOCKER_HOST", docker_host)
    config = load_jsonc(prepare_devcontainer(tmp_path / ".devcontainer", "churn-prod:1", wheelhouse=False).read_text())
    docker_mounts = [m for m in config["mounts"] if "docker.sock" in m]
    assert docker_mounts == [f"source={socket},target=/var/run/docker.sock,type=bind"]
    assert config["build"]["args"]["PRODUCTION_IMAGE"] == "churn-prod:1"
