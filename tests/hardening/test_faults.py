"""Fault injection against real parts, driven the way a user drives expenv (the real `expenv
serve` over stdio, the CLI): the embedded MLflow server dies mid-run, the daemon is killed while
its cluster and run live on, the Kubernetes API stops answering. Each case: a clear message where
the user looks, the other features keep serving, the run's record and logs are kept.
(The Docker engine stopping is not injected: the build machines share one dockerd.)"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess

import pytest

from tests.clusters.daemon_client import Daemon
from tests.hardening.faulty_workspace import (KUBE_TIMEOUT, allowed_hosts_env, answer, kube_target, log_lines,
                                              make_faulty_workspace, poll_status, position)
from tests.kube.conftest import kube  # noqa: F401
from tests.pipelines.conftest import expenv, git, mlflow_run

pytestmark = pytest.mark.timeout(900)   # each step is a process of the workspace's Python


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = make_faulty_workspace(tmp_path_factory.mktemp("faults") / "ws")
    with (root / "expenv.toml").open("a") as config:
        config.write(kube_target(tracking_up(root)))
    git(root, "commit", "-qam", "a kubernetes target")
    yield root
    expenv(root, "down", timeout=120)


def tracking_up(root) -> str:
    """`expenv up`: the embedded MLflow server (reused when it runs); its URI."""
    up = expenv(root, "up", "--json", timeout=300, env=allowed_hosts_env())
    assert up.returncode == 0, up.stderr[-3000:]
    return json.loads(up.stdout)["tracking_uri"]


@pytest.fixture
def daemon(workspace):
    started: list[Daemon] = []

    def start() -> Daemon:
        started.append(Daemon(workspace))
        return started[-1]

    yield start
    for client in started:
        if client.proc.poll() is None:
            try:
                client.finish(timeout=60)
            except (subprocess.TimeoutExpired, AssertionError, OSError):
                client.kill()


def test_the_tracking_server_dies_mid_run_the_run_says_so_and_keeps_its_logs(workspace, daemon, tmp_path):
    uri = tracking_up(workspace)
    editor = daemon()
    go = tmp_path / "go"
    run = editor.command("expenv.pipelines.submit", {"pipeline": "waiter", "target": "here",
                                                     "params": {"go": str(go)}})["result"]
    poll_status(editor, run["id"], lambda r: r["steps"][0]["status"] == "RUNNING")
    assert mlflow_run(uri, run["mlflow_run_id"])["status"] == "RUNNING"

    # the fault: the embedded tracking server crashes while the first step runs
    server = json.loads((workspace / ".expenv" / "mlflow" / "server.json").read_text())
    os.killpg(server["pid"], signal.SIGKILL)
    go.touch()
    done = poll_status(editor, run["id"], lambda r: r["status"] not in ("PENDING", "RUNNING"))
    assert done["status"] in ("FINISHED", "FAILED"), done
    # the user is told where the run stands, and not that it was refused
    assert f"MLflow at {uri} does not answer" in done["detail"] and "not submitted" not in done["detail"], done
    assert "tells MLflow when it answers again" in done["detail"], done
    assert ("wait", "going on") in log_lines(editor, run["id"])              # the logs are kept locally
    assert ("after", "after ran") in log_lines(editor, run["id"])

    # the daemon keeps serving, and says where tracking stands
    status = editor.command("expenv.status", {})["result"]
    assert status["workspaces"][0]["root"] == str(workspace)
    assert run["id"] in [r["id"] for r in editor.command("expenv.pipelines.list", {})["result"]["runs"]]
    refused = editor.command("expenv.pipelines.submit", {"pipeline": "waiter", "target": "here",
                                                         "params": {"go": str(go)}})
    assert "error" in refused and "expenv up" in refused["error"]["message"], refused

    # `expenv up` again: the same URI the run (and any kernel) was told, and MLflow learns how the
    # run ended from the run's record at the next status
    assert tracking_up(workspace) == uri
    after = poll_status(editor, run["id"], lambda r: "does not answer" not in r["detail"], timeout=120)
    assert mlflow_run(uri, run["mlflow_run_id"])["status"] == after["status"] == done["status"]
    for step in after["steps"]:
        assert mlflow_run(uri, step["mlflow_run_id"])["status"] == "FINISHED"


def test_a_killed_daemons_cluster_and_run_are_found_by_the_next_daemon(workspace, daemon, kube, tmp_path):
    tracking_up(workspace)
    first = daemon()
    cluster = first.command("expenv.clusters.launch", {"profile": "dask-k8s"})["result"]
    go = tmp_path / "go"
    run = first.command("expenv.pipelines.submit", {"pipeline": "waiter", "target": "here",
                                                    "params": {"go": str(go)}})["result"]
    poll_status(first, run["id"], lambda r: r["steps"][0]["status"] == "RUNNING")

    first.proc.send_signal(signal.SIGKILL)   # the fault: the daemon dies with no chance to clean up
    first.proc.wait(30)
    second = daemon()                        # what the extension does when its server died
    listed = second.command("expenv.clusters.list", {})["result"]
    assert cluster["id"] in [c["id"] for c in listed["clusters"]], listed
    assert [o["metadata"]["name"] for o in kube.objects("daskclusters", "ml")] == [
        o["name"] for o in cluster["resources"]["objects"] if o["kind"] == "DaskCluster"]
    assert second.command("expenv.pipelines.status", {"run": run["id"]})["result"]["status"] == "RUNNING"
    go.touch()
    done = poll_status(second, run["id"], lambda r: r["status"] not in ("PENDING", "RUNNING"))
    assert done["status"] == "FINISHED", done
    assert ("after", "after ran") in log_lines(second, run["id"])
    assert second.command("expenv.clusters.stop", {"id": cluster["id"]})["result"] == {"stopped": [cluster["id"]]}
    assert kube.objects("daskclusters", "ml") == []



def test_a_kube_api_that_stops_answering_is_a_clear_timeout_and_the_daemon_keeps_serving(workspace, daemon, kube):
    tracking_up(workspace)
    editor = daemon()
    cluster = editor.command("expenv.clusters.launch", {"profile": "dask-k8s"})["result"]
    # the fault: the API server hangs; its address accepts connections and never answers a byte
    kube.stop()
    silent = socket.socket()
    silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    silent.bind(("127.0.0.1", int(kube.url.rsplit(":", 1)[1])))
    silent.listen(64)
    try:
        sent = {name: editor.send("workspace/executeCommand", {"command": name, "arguments": [options]})
                for name, options in (
                    ("expenv.clusters.launch", {"profile": "dask-k8s"}),
                    ("expenv.pipelines.submit", {"pipeline": "waiter", "target": "k8s", "params": {"go": "/x"}}),
                    ("expenv.clusters.list", {}),
                    ("expenv.clusters.stop", {"id": cluster["id"]}),
                    ("expenv.status", {}))}
        assert answer(editor, sent["expenv.status"])["result"]["workspaces"][0]["root"] == str(workspace)
        answers = {name: answer(editor, msg_id) for name, msg_id in sent.items()}
        # the daemon answered while the others waited on the API
        assert position(editor, sent["expenv.status"]) < min(position(editor, i) for i in sent.values()
                                                               if i != sent["expenv.status"])
        within = f"the Kubernetes API at {kube.url} (context 'emu') did not answer within {KUBE_TIMEOUT:g} s"
        for name in ("expenv.clusters.launch", "expenv.pipelines.submit", "expenv.clusters.stop"):
            assert within in answers[name]["error"]["message"], (name, answers[name])
        (failed,) = [r for r in editor.command("expenv.pipelines.list", {})["result"]["runs"] if r["target"] == "k8s"]
        assert failed["status"] == "FAILED" and within in failed["detail"]
        listed = answers["expenv.clusters.list"]["result"]
        assert any(within in p for p in listed["problems"]), listed
        assert cluster["id"] in [c["id"] for c in listed["clusters"]], listed   # known, not forgotten
    finally:
        silent.close()
