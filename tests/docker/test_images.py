"""Images on the real engine: the base (debootstrap + import, cached by recipe, never tagged
broken), the production image, and the clear errors (no engine, no Python, an image that is gone)."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.docker.conftest import PROD_TAG, REPO

# The first test of a session may build the base and production images (minutes on a cold machine).
pytestmark = [pytest.mark.docker, pytest.mark.timeout(1200)]

SCRIPT = REPO / "devcontainer/scripts/build-base-image.sh"


def _tag_id(client, tag: str) -> str | None:
    from docker.errors import ImageNotFound

    try:
        return client.images.get(tag).id
    except ImageNotFound:
        return None


def test_base_image_is_cached_by_its_recipe(docker_client, base_image):
    from expenv.services.images import build_base, image_info

    again = build_base()
    assert again.cached and again.id == base_image.id   # how long a cached build takes: bench/environment.py
    labels = image_info("expenv-base:bookworm").labels
    assert re.fullmatch(r"[0-9a-f]{16}", labels["org.expenv.base-recipe"])


def _fake_debootstrap(tmp_path: Path, body: str) -> Path:
    fake = tmp_path / "fake-debootstrap"
    fake.write_text("#!/bin/sh\n# args: --variant=... --include=... SUITE TARGET MIRROR\ntarget=$4\n" + body)
    fake.chmod(0o755)
    return fake


@pytest.mark.parametrize("how", ["debootstrap fails halfway", "imported image has no python3"])
def test_a_base_build_that_fails_leaves_no_broken_image_tagged(docker_client, base_image, tmp_path, how):
    tag = "expenv-test-base:broken"
    docker_client.images.get(base_image.id).tag(tag)   # a good image holds the tag before the build
    if how == "debootstrap fails halfway":
        fake = _fake_debootstrap(tmp_path, 'mkdir -p "$target/usr/bin"; echo half > "$target/usr/bin/x"; exit 1\n')
    else:
        fake = _fake_debootstrap(tmp_path, 'mkdir -p "$target/etc"; echo bookworm > "$target/etc/debian_version"\n')
    before = {i.id for i in docker_client.images.list(all=True)}
    try:
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBOOTSTRAP": str(fake), "EXPENV_BASE_TAG": tag,
               "EXPENV_BASE_FORCE": "1", "TMPDIR": str(tmp_path)}
        result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode != 0
        assert f"{tag} was not changed" in result.stderr
        assert _tag_id(docker_client, tag) == base_image.id, "the tag moved to a broken image"
        leftovers = [t for i in docker_client.images.list() for t in i.tags if t.startswith("expenv-base-build:")]
        assert leftovers == []
        assert {i.id for i in docker_client.images.list(all=True)} - before == set(), "a broken image was left"
        assert not list(tmp_path.glob("expenv-base.*")), "the rootfs was left behind"
    finally:
        docker_client.images.remove(tag, noprune=True)


def test_production_image_has_the_requirements_in_a_venv_and_a_non_root_user(production_image):
    from expenv.services.images import check_production_image, image_info, run_python

    info = image_info(PROD_TAG)
    assert info.user == "app"
    facts = check_production_image(PROD_TAG)
    assert facts["python"] == "/opt/venv/bin/python"
    out = run_python(PROD_TAG, "import os, sklearn, pandas, duckdb, pyarrow, feast, mlflow; "
                               "print(os.getuid(), open('/opt/venv/requirements.lock').read().count('=='))")
    uid, locked = out.split()
    assert uid == "1000" and int(locked) > 20
    assert production_image.source == "wheelhouse"
    assert json.loads(json.dumps(info.as_dict()))["id"] == production_image.id


def test_production_build_is_skipped_when_its_recipe_is_built(production_image, example_project):
    from expenv.services.images import build_production

    again = build_production(example_project, PROD_TAG)
    assert again.cached and again.id == production_image.id
    # the first build wrote the project's lock (the image's exact versions); this one installs it: unchanged
    lock = example_project / "pipelines" / "requirements.lock"
    assert again.lock == str(lock) and not again.lock_changed
    assert "# requirements.txt sha256: " in lock.read_text() and lock.read_text().count("==") > 20


def test_a_lock_that_cannot_be_written_is_a_clear_error_and_the_image_is_kept(production_image, example_project,
                                                                             docker_client, tmp_path):
    """`expenv images build` where pipelines/requirements.lock cannot be written (a folder in its place):
    exit 2 with the path and the fix, no traceback, and the built image stays tagged."""
    project = tmp_path / "churn"
    shutil.copytree(example_project, project, ignore=shutil.ignore_patterns("data", ".git", "mlruns"))
    lock = project / "pipelines" / "requirements.lock"
    lock.unlink()
    lock.mkdir()
    result = subprocess.run([sys.executable, "-m", "expenv", "images", "build", "--no-dev", "--workspace",
                             str(project)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 2, result.stderr
    assert f"its lock cannot be written to {lock}" in result.stderr and "expenv images build" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert _tag_id(docker_client, PROD_TAG) == production_image.id and lock.is_dir()


def test_a_base_image_that_is_missing_and_cannot_be_pulled_is_a_clear_error(example_project, tmp_path, docker_client):
    """A project whose Dockerfile names another base (not expenv's debootstrap one): the engine pulls it
    when missing. A registry that does not answer (loopback port 1) is exit 2 naming the base, no traceback."""
    project = tmp_path / "churn"
    shutil.copytree(example_project, project, ignore=shutil.ignore_patterns("data", ".git", "mlruns"))
    base = "127.0.0.1:1/python:3.11-slim-bookworm"
    dockerfile = project / "Dockerfile"
    dockerfile.write_text(re.sub(r"^ARG BASE_IMAGE=\S+", f"ARG BASE_IMAGE={base}", dockerfile.read_text(), flags=re.M))
    result = subprocess.run([sys.executable, "-m", "expenv", "images", "build", "--no-dev", "--workspace",
                             str(project)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 2, result.stderr
    assert f"the base image {base} is not here and cannot be pulled" in result.stderr, result.stderr
    assert "ARG BASE_IMAGE" in result.stderr and "docker load" in result.stderr   # what to do about it
    assert "Traceback" not in result.stderr + result.stdout
    assert _tag_id(docker_client, base) is None


@pytest.fixture
def image_without_python(docker_client):
    """A production image that is only a file: `docker import` of a one-file tarball."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = b"not a python\n"
        entry = tarfile.TarInfo("etc/motd")
        entry.size = len(data)
        tar.addfile(entry, io.BytesIO(data))
    tag = "expenv-test-nopython:latest"
    docker_client.api.import_image_from_data(buffer.getvalue(), repository="expenv-test-nopython", tag="latest")
    yield tag
    docker_client.images.remove(tag, force=True)


def test_a_production_image_without_python_is_a_clear_error(image_without_python, tmp_path):
    from expenv.services.images import NoPythonInImage, build_dev, check_production_image
    from expenv.services.parity import ParityError, check_parity

    with pytest.raises(NoPythonInImage, match="has no Python .*template's Dockerfile"):
        check_production_image(image_without_python)
    with pytest.raises(NoPythonInImage, match="has no Python"):
        build_dev(image_without_python, "expenv-test-nopython-dev:latest")
    with pytest.raises(ParityError, match="has no Python"):
        check_parity(image_without_python, sys.executable, tmp_path)


def test_parity_on_an_image_that_is_gone_is_a_clear_error(docker_client, production_image, tmp_path):
    from expenv.services.parity import ParityError, check_parity

    tag = "expenv-test-gone:latest"
    docker_client.images.get(production_image.id).tag(tag)
    report = check_parity(tag, sys.executable, tmp_path)   # fills the cache for that image id
    assert report.image == tag
    docker_client.images.remove(tag, noprune=True)
    with pytest.raises(ParityError, match=r"expenv-test-gone:latest is not on this Docker engine .*build it"):
        check_parity(tag, sys.executable, tmp_path)
    # The command as the CLI module defines it (a second command keeps typer in multi-command mode).
    cli = subprocess.run([sys.executable, "-c", "from expenv.cli.environment import parity; import typer; "
                          "app = typer.Typer(); app.command()(parity); app.command('x')(lambda: None); app()",
                          "parity", "--image", tag, "--json", "-w", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 2 and "is not on this Docker engine" in cli.stderr and cli.stdout == ""


def test_no_docker_engine_is_a_clear_error_with_the_fix(monkeypatch, tmp_path):
    from expenv.services.images import DockerUnavailable, docker_client
    from expenv.services.parity import ParityError, check_parity

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(DockerUnavailable, match=r"no Docker engine answers at unix://.*fix: run `make docker`"):
        docker_client()
    with pytest.raises(ParityError, match="no Docker engine answers"):
        check_parity("anything:latest", sys.executable, tmp_path)


def test_a_probe_left_behind_by_a_killed_prober_is_removed_by_the_next_probe(docker_client, base_image, monkeypatch):
    from expenv.services.images import engine, run_python

    # what a prober killed between `start` and `remove` leaves: an exited container labelled probe
    left = docker_client.containers.create(base_image.id, command=["-c", "pass"], entrypoint=["python3"],
                                           network_mode="none", labels={"org.expenv.role": "probe"})
    try:
        left.start()
        left.wait(timeout=120)
        monkeypatch.setattr(engine, "STALE_PROBE_SECONDS", 0)   # it finished "long enough ago"
        assert run_python(base_image.id, "print(6 * 7)", python="python3").strip() == "42"
        probes = docker_client.containers.list(all=True, filters={"label": engine.PROBE_LABEL})
        assert left.id not in {c.id for c in probes}
    finally:
        for c in docker_client.containers.list(all=True, filters={"id": left.id}):
            c.remove(force=True)
