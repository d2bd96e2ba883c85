"""A local Ray cluster launched with `expenv cluster up ray-local` (the profile's `options.python`
naming the Ray venv `make ray-venv` installs: expenv's own venv has no ray), used by a Ray client
process of that venv over the example's raw data, listed, and stopped with nothing left behind,
also once the ledger lost it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.clusters.conftest import (
    assert_an_orphan_once_its_ledger_entry_is_lost,
    assert_nothing_left,
    assert_ray_computes_over_raw_data,
    expenv,
    labelled_pids,
    ledger_ids,
    use_python,
)

LOOPBACK = {"127.0.0.1", "::ffff:127.0.0.1", "::1"}


@pytest.fixture(scope="module")
def ray_cluster(cluster_example, ray_python):
    use_python(cluster_example, "ray-local", ray_python)
    cluster = expenv("cluster", "up", "ray-local", "--json", "-w", str(cluster_example))
    yield cluster
    if cluster["id"] in ledger_ids(cluster_example):
        expenv("cluster", "down", cluster["id"], "--json", "-w", str(cluster_example))
    assert_nothing_left(cluster_example, cluster)
    assert not Path(cluster["resources"]["scratch"]).exists()


def _ray_version(python: Path) -> str:
    return subprocess.run([str(python), "-c", "from importlib.metadata import version; print(version('ray'))"],
                          capture_output=True, text=True, check=True).stdout.strip()


def _listeners(pids: list[int]) -> list[str]:
    found = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            connections = proc.net_connections("inet") if hasattr(proc, "net_connections") else proc.connections("inet")
        except psutil.Error:
            continue
        found += [c.laddr.ip for c in connections if c.status == psutil.CONN_LISTEN]
    return found


def test_up_returns_a_ray_client_address_and_every_listener_is_on_loopback(ray_cluster, ray_python):
    assert ray_cluster["status"] == "running" and ray_cluster["workers_alive"] == 2
    assert ray_cluster["address"].startswith("ray://127.0.0.1:")
    assert f'ray.init("{ray_cluster["address"]}")' in ray_cluster["cell"]
    assert ray_cluster["versions"]["packages"]["ray"] == _ray_version(ray_python)
    # The CLI has exited; the head and what it started (GCS, raylet, dashboard, agents) run on.
    pids = labelled_pids(ray_cluster["id"])
    listeners = _listeners(pids)
    assert len(listeners) >= 5, listeners
    assert set(listeners) <= LOOPBACK, listeners   # Ray's own `ray start` would bind the host's address


def test_attach_checks_the_client_python_against_the_cluster(ray_cluster, cluster_example, ray_python):
    same = expenv("cluster", "attach", ray_cluster["id"], "--python", str(ray_python), "--json",
                  "-w", str(cluster_example))
    assert same["version_check"]["ok"] is True, same["version_check"]
    # expenv's own venv has no ray (the optional extra): the check says so.
    bare = expenv("cluster", "attach", ray_cluster["id"], "--python", sys.executable, "--json",
                  "-w", str(cluster_example))["version_check"]
    assert bare["ok"] is False and "ray missing (kernel)" in bare["detail"]


def test_a_client_process_computes_over_the_raw_data_on_the_cluster(ray_cluster, cluster_example, ray_python):
    before = time.time()
    result = assert_ray_computes_over_raw_data(ray_python, ray_cluster, cluster_example, more="""
@ray.remote
def told():
    return [os.environ.get(k) for k in ("EXPENV_CLUSTER", "MLFLOW_EXPERIMENT_NAME")]

result["told"] = ray.get(told.remote())
""")
    # The tasks ran in the cluster's processes, told the workspace's run context.
    assert result["told"] == [ray_cluster["id"], "churn"]
    # The client's session counts as use: the idle deadline moved on from it (launch and attach were before).
    listing = expenv("cluster", "ls", "--json", "-w", str(cluster_example))
    listed = next(c for c in listing["clusters"] if c["id"] == ray_cluster["id"])
    assert listed["expires_at"] >= before + 3600   # the profile's idle_timeout


def test_ls_shows_it_running_with_its_dashboard_and_scale_says_why_it_cannot(ray_cluster, cluster_example):
    listing = expenv("cluster", "ls", "--json", "-w", str(cluster_example))
    listed = next(c for c in listing["clusters"] if c["id"] == ray_cluster["id"])
    assert (listed["status"], listed["kind"], listed["backend"], listed["workers_alive"]) == \
        ("running", "ray", "local", 2)
    assert listed["address"] == ray_cluster["address"]
    assert listed["dashboard_url"].startswith("http://127.0.0.1:")
    with urllib.request.urlopen(listed["dashboard_url"] + "/api/version", timeout=10) as answer:
        assert json.load(answer)["ray_version"] == ray_cluster["versions"]["packages"]["ray"]
    refused = expenv("cluster", "scale", ray_cluster["id"], "3", "-w", str(cluster_example), check=False)
    assert refused.returncode == 2 and "one head node" in refused.stderr


def test_a_cluster_the_ledger_lost_is_an_orphan_and_down_leaves_nothing(ray_cluster, cluster_example):
    assert_an_orphan_once_its_ledger_entry_is_lost(cluster_example, ray_cluster)
    expenv("cluster", "down", ray_cluster["id"], "--json", "-w", str(cluster_example))
    assert_nothing_left(cluster_example, ray_cluster)
    assert not Path(ray_cluster["resources"]["scratch"]).exists()
