"""`expenv pipeline submit|status|cancel|render` to a kubernetes target, as a user runs them: the
CLI with the user's KUBECONFIG naming a kmock API server, and an MLflow server standing for the
target's tracking server, read back over its REST API."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.kube.validate import validate
from tests.kube.workspace import CONFIG, assert_no_canary, make_kube_workspace


@pytest.fixture(scope="module")
def preprod_mlflow(tmp_path_factory):
    """An MLflow server for the target, addressed by this machine's name: a kubernetes target must
    not name a loopback address, and the name must still reach the server here."""
    from expenv.services.tracking.embedded import EmbeddedMlflow

    host = socket.gethostname()
    assert socket.gethostbyname(host).startswith("127."), f"{host} must resolve to loopback for this test"
    mlflow = EmbeddedMlflow(tmp_path_factory.mktemp("preprod-mlflow"))
    with pytest.MonkeyPatch.context() as env:
        # A server guarding against DNS rebinding answers only the host names it is told of.
        env.setenv("MLFLOW_SERVER_ALLOWED_HOSTS", f"{host},{host}:*,localhost,localhost:*,127.0.0.1,127.0.0.1:*")
        server = mlflow.start()
    yield f"http://{host}:{server.port}"
    mlflow.stop()


@pytest.fixture
def workspace(tmp_path, kube, preprod_mlflow):
    config = CONFIG + f"""
[targets.e2e]
backend = "kubernetes"
context = "emu"
namespace = "ml"
production_like = false
tracking_uri = "{preprod_mlflow}"
secrets = ["mlflow-creds"]
"""
    root = make_kube_workspace(tmp_path / "ws", config)
    (root / ".gitignore").write_text(".expenv/\n")
    git = ["git", "-C", str(root), "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", "-b", "feature/k8s"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    return Workspace(root, commit)


@dataclass
class Workspace:
    root: Path
    commit: str


def expenv(workspace: Workspace, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    # Generous: a loaded machine takes minutes for a submission that waits for its end.
    result = subprocess.run([sys.executable, "-m", "expenv", "pipeline", *args, "-w", str(workspace.root)],
                            capture_output=True, text=True, timeout=600)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def mlflow_run(uri: str, run_id: str) -> dict:
    with urllib.request.urlopen(f"{uri}/api/2.0/mlflow/runs/get?run_id={run_id}", timeout=10) as response:
        return json.loads(response.read())["run"]


def test_render_prints_valid_manifests_without_credentials(workspace):
    for pipeline, kind in (("evaluate", "Job"), ("train", "Workflow")):
        docs = json.loads(expenv(workspace, "render", pipeline, "--target", "preprod", "--json").stdout)["resources"]
        assert [d["kind"] for d in docs] == [kind]
        validate(docs[0])
        assert_no_canary(docs)
        assert f":{workspace.commit[:12]}" in json.dumps(docs)


def test_a_one_step_run_is_a_job_followed_to_its_end_in_mlflow(workspace, kube, preprod_mlflow):
    run = json.loads(expenv(workspace, "submit", "evaluate", "--target", "e2e", "--json").stdout)
    assert run["status"] == "PENDING" and run["commit"] == workspace.commit
    (job,) = kube.objects("jobs", "ml")
    assert job["metadata"]["labels"]["expenv.run"] == run["id"] and run["resources"]["name"] == job["metadata"]["name"]
    assert mlflow_run(preprod_mlflow, run["mlflow_run_id"])["info"]["status"] == "RUNNING"

    kube.set_status("batch/v1", "jobs", "ml", job["metadata"]["name"], {"succeeded": 1, "conditions": [
        {"type": "Complete", "status": "True"}]})
    done = json.loads(expenv(workspace, "status", run["id"], "--json").stdout)
    assert done["status"] == "FINISHED"
    assert mlflow_run(preprod_mlflow, run["mlflow_run_id"])["info"]["status"] == "FINISHED"
    assert mlflow_run(preprod_mlflow, done["steps"][0]["mlflow_run_id"])["info"]["status"] == "FINISHED"
    # Recorded: a later status (another process) reads the same end without asking again.
    listed = json.loads(expenv(workspace, "status", run["id"], "--json").stdout)
    assert listed["status"] == "FINISHED"


def test_a_dag_run_is_a_workflow_and_cancel_terminates_it(workspace, kube, preprod_mlflow):
    run = json.loads(expenv(workspace, "submit", "train", "--target", "e2e", "--json").stdout)
    (workflow,) = kube.objects("workflows", "ml")
    assert workflow["metadata"]["labels"]["expenv.run"] == run["id"]
    cancelled = json.loads(expenv(workspace, "cancel", run["id"], "--json").stdout)
    assert cancelled["status"] == "CANCELLED"
    assert kube.objects("workflows", "ml")[0]["spec"]["shutdown"] == "Terminate"
    assert mlflow_run(preprod_mlflow, run["mlflow_run_id"])["info"]["status"] == "KILLED"
    assert {s["status"] for s in cancelled["steps"]} == {"SKIPPED"}


def test_a_loopback_tracking_server_is_refused_before_anything_is_created(workspace, kube):
    result = expenv(workspace, "submit", "evaluate", "--target", "loopback", "--json", ok=False)
    assert result.returncode != 0 and "cannot reach the tracking server" in result.stderr.replace("\n", " ")
    assert kube.objects("jobs") == []


def test_an_unreachable_api_fails_the_submission_plainly(workspace, kube, tmp_path, monkeypatch):
    kube.url = "http://127.0.0.1:9"
    monkeypatch.setenv("KUBECONFIG", str(kube.write_kubeconfig(tmp_path / "dead")))
    result = expenv(workspace, "submit", "evaluate", "--target", "e2e", "--json", ok=False)
    assert result.returncode == 1 and "cannot reach the Kubernetes API at http://127.0.0.1:9" in \
        result.stderr.replace("\n", " ")


def test_submit_wait_streams_the_pod_log_and_ends_finished(workspace, kube, preprod_mlflow):
    """`submit --wait`, with the emulator playing the Job controller and kubelet: when the Job
    appears, its pod runs, logs two lines and the Job completes."""
    import threading

    stop = threading.Event()

    def job_controller() -> None:
        while not stop.wait(0.2):
            for job in kube.objects("jobs", "ml"):
                if job.get("status"):
                    continue
                name, labels = job["metadata"]["name"], job["spec"]["template"]["metadata"]["labels"]
                kube.set_pod_log("ml", f"{name}-pod", "scoring 20000 rows\nauc=0.81\n")
                kube.add_pod("ml", f"{name}-pod", labels, phase="Succeeded", ready=False)
                kube.set_status("batch/v1", "jobs", "ml", name, {"succeeded": 1, "conditions": [
                    {"type": "Complete", "status": "True"}]})

    thread = threading.Thread(target=job_controller, daemon=True)
    thread.start()
    try:
        result = expenv(workspace, "submit", "evaluate", "--target", "e2e", "--wait", "--json")
    finally:
        stop.set()
        thread.join(5)
    run = json.loads(result.stdout)
    assert run["status"] == "FINISHED" and run["mlflow_run_id"]
    assert "[score] scoring 20000 rows" in result.stderr and "[score] auc=0.81" in result.stderr
    assert mlflow_run(preprod_mlflow, run["mlflow_run_id"])["info"]["status"] == "FINISHED"
