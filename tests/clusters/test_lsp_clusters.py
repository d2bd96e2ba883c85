"""Clusters from the editor: `expenv.clusters.*` on the real daemon, with work-done progress,
cancellation, the connection cell, `expenv.status`, and a daemon killed while its cluster runs."""

from __future__ import annotations

import re

import pytest

from tests.clusters.conftest import assert_nothing_left, expenv, labelled_pids, ledger_ids, wait_until
from tests.clusters.daemon_client import Daemon


def _finish(client: Daemon) -> None:
    if client.proc.poll() is None:
        client.finish(timeout=120)   # a daemon on the example project takes a while to exit (Feast warm-up)


@pytest.fixture
def daemon(cluster_example):
    client = Daemon(cluster_example)
    yield client
    _finish(client)


@pytest.fixture(scope="module")
def shared_daemon(cluster_example):
    client = Daemon(cluster_example)
    yield client
    _finish(client)


def test_launch_from_the_editor_then_the_daemon_dies_and_the_cli_finds_and_stops_the_cluster(
        daemon, cluster_example, launched):
    answer = daemon.command("expenv.clusters.launch", {"profile": "dask-local"})
    cluster = answer["result"]
    launched.append(cluster)
    assert cluster["status"] == "running" and cluster["owner"].startswith("daemon:")
    kinds = [p["value"]["kind"] for p in daemon.progress]
    assert kinds[0] == "begin" and "report" in kinds and kinds[-1] == "end"
    assert any("worker(s) connected" in p["value"].get("message", "") for p in daemon.progress)

    attached = daemon.command("expenv.clusters.attach", {"target": cluster["id"]})["result"]
    assert attached["address"] == cluster["address"] and f'Client("{cluster["address"]}")' in attached["cell"]
    status = daemon.command("expenv.status", {})["result"]
    assert cluster["id"] in [c["id"] for c in status["workspaces"][0]["clusters"]]

    daemon.kill()
    listing = expenv("cluster", "ls", "--json", "-w", str(cluster_example))
    found = next(c for c in listing["clusters"] if c["id"] == cluster["id"])
    assert found["status"] == "running" and found["workers_alive"] == 2
    assert expenv("cluster", "down", cluster["id"], "--json", "-w", str(cluster_example)) == {"stopped": [cluster["id"]]}
    assert_nothing_left(cluster_example, cluster)


def test_a_cancelled_launch_removes_everything_it_started(shared_daemon, cluster_example, launched):
    daemon = shared_daemon
    started: dict[str, str] = {}

    def cancel_once_launching(message):
        if message.get("method") != "$/progress" or "cancelled" in started:
            return
        text = message["params"]["value"].get("message", "")
        if match := re.search(r"cluster (dask-local-[0-9a-f]{8})", text):
            started["id"] = match[1]
            launched.append({"id": match[1]})   # stopped and checked afterwards, whatever happens
        if "starting" in text and "id" in started:
            started["cancelled"] = "yes"
            daemon.notify("window/workDoneProgress/cancel", {"token": message["params"]["token"]})

    answer = daemon.command("expenv.clusters.launch", {"profile": "dask-local"}, on_message=cancel_once_launching)
    assert "error" in answer, answer
    assert "cancelled" in answer["error"]["message"]
    assert started.get("cancelled") == "yes"
    assert_nothing_left(cluster_example, {"id": started["id"]})
    # the daemon keeps serving
    assert "result" in daemon.command("expenv.clusters.list", {})


def test_bad_input_from_the_editor_names_the_field(shared_daemon):
    daemon = shared_daemon
    for options, needle in (({}, "profile"), ({"profile": "dask-locl"}, "did you mean 'dask-local'"),
                            ({"id": "nope-00000000", "workers": 2}, "no cluster 'nope-00000000'"),
                            ({"id": "nope-00000000", "workers": "two"}, "workers: must be a whole number")):
        name = "expenv.clusters.scale" if "id" in options else "expenv.clusters.launch"
        answer = daemon.command(name, options)
        assert "error" in answer and needle in answer["error"]["message"], answer
    answer = daemon.command("expenv.clusters.render", {"profile": "dask-local"})
    assert answer["result"] == {"profile": "dask-local", "manifests": []}
