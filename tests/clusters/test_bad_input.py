"""Bad input and faults through `expenv cluster ...`: a clear error naming the field, exit 2, and
nothing left running or recorded."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess

import pytest

from tests.clusters.conftest import EXPENV, assert_nothing_left, expenv, labelled_pids, ledger_ids, wait_until


@pytest.fixture
def workspace(tmp_path):
    """A small workspace of its own: these tests edit expenv.toml."""
    def make(profiles: str):
        (tmp_path / "expenv.toml").write_text(f'[project]\nname = "bad"\n\n{profiles}')
        return tmp_path
    return make


def _up(root, profile: str, env: dict | None = None):
    return subprocess.run([*EXPENV, "cluster", "up", profile, "-w", str(root)], capture_output=True, text=True,
                          timeout=300, env=env)


def _nothing_recorded_or_running(root) -> None:
    assert ledger_ids(root) == set()
    listing = expenv("cluster", "ls", "--json", "-w", str(root))
    assert listing["clusters"] == [] and listing["orphans"] == []


def test_unknown_profile_names_the_close_one(workspace):
    root = workspace('[clusters.dask-local]\nkind = "dask"\n')
    result = _up(root, "dask-locl")
    assert result.returncode == 2 and "no cluster profile 'dask-locl'; did you mean 'dask-local'?" in result.stderr
    _nothing_recorded_or_running(root)


def test_bad_field_is_located_in_expenv_toml(workspace):
    root = workspace('[clusters.d]\nkind = "dask"\nmemory = "lots"\n')
    result = _up(root, "d")
    assert result.returncode == 2
    assert "expenv.toml:6:1: clusters.d.memory must be a memory size like '2Gi', '512Mi' or '4GB', not 'lots'" \
        in result.stderr


def test_a_taken_port_is_refused_naming_it(workspace):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        root = workspace(f'[clusters.d]\nkind = "dask"\nworkers = 1\noptions = {{ port = {port} }}\n')
        result = _up(root, "d")
    assert result.returncode == 2
    assert f"options.port: port {port} on 127.0.0.1 is already in use" in result.stderr
    _nothing_recorded_or_running(root)


def test_a_launch_that_times_out_removes_what_it_started(workspace):
    root = workspace('[clusters.d]\nkind = "dask"\nworkers = 2\noptions = { launch_timeout = 0.5 }\n')
    result = _up(root, "d")
    assert result.returncode == 2 and "timed out waiting for" in result.stderr
    assert "everything it started was removed" in result.stderr
    _nothing_recorded_or_running(root)
    launched = re.search(r"launching dask cluster (d-[0-9a-f]{8})", result.stderr)
    assert not labelled_pids(launched[1]) if launched else True


def test_spark_without_java_says_how_to_get_it(workspace, tmp_path):
    root = workspace('[clusters.s]\nkind = "spark"\n')
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash",):   # a PATH with no java on it
        os.symlink(shutil.which(tool), bin_dir / tool)
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(bin_dir)
    result = _up(root, "s", env)
    assert result.returncode == 2 and "java: local Spark needs Java 17 or later" in result.stderr
    assert "default-jre-headless" in result.stderr
    _nothing_recorded_or_running(root)


def test_ray_without_the_extra_says_it_is_optional(workspace):
    import importlib.util

    assert importlib.util.find_spec("ray") is None, "this test checks the venv without the optional ray extra"
    root = workspace('[clusters.r]\nkind = "ray"\n\n[clusters.rd]\nkind = "ray"\nbackend = "docker"\n'
                     'image = "churn-prod:latest"\n')
    result = _up(root, "r")
    assert result.returncode == 2 and "ray is not installed" in result.stderr and "expenv[ray]" in result.stderr
    # Docker Ray runs the client's Ray version: none here, and the error says how to give one.
    result = _up(root, "rd")
    assert result.returncode == 2 and "ray is not installed" in result.stderr and "expenv[ray]" in result.stderr
    assert "options.ray" in result.stderr
    _nothing_recorded_or_running(root)


def test_a_cluster_nobody_uses_is_stopped_by_the_next_list(workspace):
    root = workspace('[clusters.d]\nkind = "dask"\nworkers = 1\nidle_timeout = 2\n')
    cluster = expenv("cluster", "up", "d", "--json", "-w", str(root))
    assert cluster["expires_at"] == pytest.approx(cluster["started_at"] + 2, abs=1)

    def stopped():
        listing = expenv("cluster", "ls", "--json", "-w", str(root))
        return next((c for c in listing["clusters"] if c["status"] == "stopped"), None)

    gone = wait_until(stopped, 60, "the idle cluster to be stopped")
    assert gone["id"] == cluster["id"] and "idle for more than 2 s" in gone["detail"]
    assert_nothing_left(root, cluster)


def test_listing_while_another_process_launches_keeps_the_starting_cluster(workspace):
    """A list (the CLI's, or the daemon's idle check) during a launch must not take the launch's
    ledger entry, which has no processes yet, for a stopped cluster (it did, and the launch failed)."""
    root = workspace('[clusters.d]\nkind = "dask"\nworkers = 2\n')
    launcher = subprocess.Popen([*EXPENV, "cluster", "up", "d", "--json", "-w", str(root)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    seen = set()
    try:
        while launcher.poll() is None:
            listing = expenv("cluster", "ls", "--json", "-w", str(root))
            seen |= {c["status"] for c in listing["clusters"]}
        out, err = launcher.communicate()
        assert launcher.returncode == 0, err
        assert "starting" in seen and "stopped" not in seen and "orphan" not in seen, seen
        cluster = json.loads(out)
        listed = expenv("cluster", "ls", "--json", "-w", str(root))["clusters"]
        assert [(c["id"], c["status"]) for c in listed] == [(cluster["id"], "running")]
    finally:
        launcher.wait(300)
        stopped = expenv("cluster", "down", "--all", "--json", "-w", str(root))["stopped"]
    for cluster_id in stopped:
        assert_nothing_left(root, {"id": cluster_id})
