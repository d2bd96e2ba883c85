"""Clusters from the editor: `expenv.clusters.*` on the real daemon, with work-done progress,
cancellation, the connection cell, `expenv.status`, and a daemon killed while its cluster runs."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.clusters.conftest import assert_nothing_left, expenv
from tests.clusters.daemon_client import Daemon


def _finish(client: Daemon) -> None:
    if client.proc.poll() is None:
        try:
            client.finish(timeout=60)
        except subprocess.TimeoutExpired:   # on the example project, exiting waits on the Feast warm-up
            client.kill()


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
    # the editor's Clusters view refreshes on this notification, not by polling
    assert {"workspace": str(cluster_example), "what": "clusters"} in [
        m["params"] for m in daemon.received if m.get("method") == "expenv/workspaceChanged"]
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


def test_attaching_a_profile_launches_it_and_the_views_hear_of_it(shared_daemon, cluster_example, launched):
    """The notebook toolbar's "Attach cluster…" on a profile: the daemon launches it, returns the
    connection cell, and tells the editor's Clusters view to show the new cluster."""
    daemon = shared_daemon
    heard = lambda: [m["params"] for m in daemon.received if m.get("method") == "expenv/workspaceChanged"]  # noqa: E731
    before = len(heard())
    attached = daemon.command("expenv.clusters.attach", {"target": "dask-local"})["result"]
    launched.append(attached)
    assert attached["status"] == "running" and attached["profile"] == "dask-local"
    assert f'Client("{attached["address"]}")' in attached["cell"]
    assert {"workspace": str(cluster_example), "what": "clusters"} in heard()[before:]
    stopped = daemon.command("expenv.clusters.stop", {"id": attached["id"]})["result"]
    assert stopped == {"stopped": [attached["id"]]}
    assert_nothing_left(cluster_example, attached)


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


def test_spark_connect_code_gets_diagnostics_naming_the_alternative(shared_daemon, cluster_example):
    daemon = shared_daemon
    path = cluster_example / "notebooks" / "spark_connect_check.py"
    text = ('from pyspark.sql import SparkSession\n'
            'spark = SparkSession.builder.remote("sc://127.0.0.1:15002").getOrCreate()\n'
            'n = spark.sparkContext.defaultParallelism\n'
            'rows = spark.range(3).rdd.collect()\n')
    # the first diagnostics of a document wait for the feature registry and the parity snapshot (slow)
    found = daemon.diagnostics(daemon.open_python(path, text), timeout=240)
    ours = sorted((d["range"]["start"]["line"], d["range"]["start"]["character"], d["message"])
                  for d in found if d.get("code") == "spark_connect")
    assert [(line, col) for line, col, _ in ours] == [(2, 10), (3, 22)]
    assert "use the SparkSession itself" in ours[0][2] and "mapInPandas" in ours[1][2]


def test_run_this_on_a_cluster_profile_launches_it_and_rewrites_the_call(shared_daemon, cluster_example, launched):
    daemon = shared_daemon
    path = cluster_example / "notebooks" / "local_compute.py"
    text = "from dask.distributed import Client\n\nclient = Client()\nprint(client)\n"
    uri = daemon.open_python(path, text)
    answer = daemon.command_request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "range": {"start": {"line": 2, "character": 0}, "end": {"line": 2, "character": 0}},
        "context": {"diagnostics": []}})
    titles = {a["title"]: a for a in answer["result"]}
    action = titles["Run this on cluster profile dask-local (dask on local)"]
    assert "Run this on cluster profile dask-docker (dask on docker)" in titles
    assert not [t for t in titles if "spark" in t]
    command = action["command"]
    result = daemon.command(command["command"], command["arguments"][0])
    cluster = result["result"]
    launched.append(cluster)
    edits = [m for m in daemon.received if m.get("method") == "workspace/applyEdit"]
    change = edits[-1]["params"]["edit"]["changes"][uri][0]
    assert change["newText"] == f"Client({cluster['address']!r})"
    assert change["range"] == {"start": {"line": 2, "character": 9}, "end": {"line": 2, "character": 17}}
    # reuse: the same action again gives the running cluster, not a second one
    again = daemon.command(command["command"], command["arguments"][0])["result"]
    assert again["id"] == cluster["id"]
    # scale and stop from the editor too
    scaled = daemon.command("expenv.clusters.scale", {"id": cluster["id"], "workers": 1})["result"]
    assert (scaled["workers_alive"], scaled["workers_wanted"]) == (1, 1)
    assert daemon.command("expenv.clusters.stop", {"id": cluster["id"]})["result"] == {"stopped": [cluster["id"]]}
    assert_nothing_left(cluster_example, cluster)
