"""The kubernetes pipeline runner: Job / Argo Workflow manifests, submit, status and cancel on kmock."""

from __future__ import annotations

import pytest

from expenv.domain.pipelines import CANCELLED, FAILED, FINISHED, PENDING, RUNNING, PipelineError
from expenv.services.pipelines.kube_manifests import per_commit_image
from expenv.services.pipelines.kubernetes import KubernetesRunner
from tests.kube.pipeline_run import COMMIT, run_parts
from tests.kube.validate import validate
from tests.kube.workspace import CANARY_PASSWORD, IMAGE, assert_no_canary, make_kube_workspace


@pytest.fixture
def workspace(tmp_path, kube):
    return make_kube_workspace(tmp_path / "ws")


def _env(container: dict) -> dict:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def test_one_step_renders_a_valid_job(workspace):
    spec, run, context = run_parts(workspace, "evaluate", "preprod")
    (job,) = KubernetesRunner().render(spec, run, context)
    validate(job)
    assert job["kind"] == "Job" and job["metadata"]["namespace"] == "ml"
    assert job["metadata"]["labels"]["expenv.run"] == run.id
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == f"registry.example/churn-prod:{COMMIT[:12]}"
    assert container["envFrom"] == [{"secretRef": {"name": "mlflow-creds"}}, {"secretRef": {"name": "lake-creds"}}]
    env = _env(container)
    assert env["MLFLOW_TRACKING_URI"] == "http://mlflow.preprod:5000"   # the password comes from a Secret
    assert env["MLFLOW_RUN_ID"] == "child-score" and env["EXPENV_RUN_ID"] == run.id
    assert "churn.evaluate:main" in container["command"] and '{"threshold": 0.5}' in container["command"]
    assert pod["securityContext"]["runAsNonRoot"] is True and job["spec"]["backoffLimit"] == 0
    assert_no_canary([job])


def test_a_dag_renders_an_argo_workflow_valid_against_its_crd(workspace):
    spec, run, context = run_parts(workspace, "train", "preprod")
    (workflow,) = KubernetesRunner().render(spec, run, context)
    validate(workflow)
    assert workflow["kind"] == "Workflow" and workflow["spec"]["entrypoint"] == "pipeline"
    dag = next(t for t in workflow["spec"]["templates"] if t["name"] == "pipeline")["dag"]["tasks"]
    assert {t["name"]: t.get("dependencies") for t in dag} == {"prepare": None, "train": ["prepare"]}
    train = next(t for t in workflow["spec"]["templates"] if t["name"] == "train")["container"]
    assert train["resources"]["limits"] == {"cpu": "1", "memory": "2G"}
    assert train["image"].endswith(f":{COMMIT[:12]}")
    assert workflow["spec"]["podMetadata"]["labels"]["expenv.run"] == run.id
    assert_no_canary([workflow])
    assert CANARY_PASSWORD not in str(workflow)


def test_a_loopback_tracking_server_is_refused(workspace):
    spec, run, context = run_parts(workspace, "evaluate", "loopback")
    with pytest.raises(PipelineError, match=r"tracking_uri: target loopback runs on Kubernetes.*cannot be reached"):
        KubernetesRunner().render(spec, run, context)


def test_uncommitted_changes_cannot_ride_a_per_commit_image(workspace):
    spec, run, context = run_parts(workspace, "evaluate", "preprod", patch="sha256:abc")
    with pytest.raises(PipelineError, match="cannot carry uncommitted changes"):
        KubernetesRunner().render(spec, run, context)


@pytest.mark.parametrize("image,expected", [
    ("churn-prod:latest", "churn-prod:0123456789ab"),
    ("registry.example:5000/churn-prod", "registry.example:5000/churn-prod:0123456789ab"),
    ("registry.example/churn:{commit}-py311", f"registry.example/churn:{COMMIT}-py311"),
    ("churn@sha256:" + "e" * 64, "churn@sha256:" + "e" * 64),
])
def test_the_image_is_the_one_built_at_the_commit(image, expected):
    assert per_commit_image(image, COMMIT) == expected


def test_job_submit_status_cancel(workspace, kube):
    runner = KubernetesRunner()
    spec, run, context = run_parts(workspace, "evaluate", "preprod")
    submitted = runner.submit(spec, run, context)
    (job,) = kube.objects("jobs", "ml")
    name = job["metadata"]["name"]
    assert submitted.resources["name"] == name and submitted.image == f"{IMAGE.split(':')[0]}:{COMMIT[:12]}"
    assert runner.status(submitted).status == PENDING   # no Job controller runs in the emulator
    kube.set_status("batch/v1", "jobs", "ml", name, {"active": 1})
    assert runner.status(submitted).status == RUNNING
    cancelled = runner.cancel(submitted)
    assert cancelled.status == CANCELLED and kube.objects("jobs") == []
    assert [s.status for s in cancelled.steps] == [CANCELLED]


def test_a_failed_job_fails_the_run_with_its_reason(workspace, kube):
    runner = KubernetesRunner()
    submitted = runner.submit(*run_parts(workspace, "evaluate", "preprod"))
    name = submitted.resources["name"]
    kube.set_status("batch/v1", "jobs", "ml", name, {"failed": 1, "conditions": [
        {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the "
                                                                                          "specified backoff limit"}]})
    failed = runner.status(submitted)
    assert failed.status == FAILED and "backoff limit" in failed.detail


def test_workflow_submit_status_cancel(workspace, kube):
    runner = KubernetesRunner()
    submitted = runner.submit(*run_parts(workspace, "train", "preprod"))
    (workflow,) = kube.objects("workflows", "ml")
    name = workflow["metadata"]["name"]
    assert runner.status(submitted).status == PENDING
    kube.set_status("argoproj.io/v1alpha1", "workflows", "ml", name, {"phase": "Running", "nodes": {
        f"{name}-1": {"displayName": "prepare", "type": "Pod", "phase": "Succeeded"},
        f"{name}-2": {"displayName": "train", "type": "Pod", "phase": "Running"}}})
    running = runner.status(submitted)
    assert running.status == RUNNING and [s.status for s in running.steps] == [FINISHED, RUNNING]
    cancelled = runner.cancel(submitted)
    assert cancelled.status == CANCELLED
    assert kube.objects("workflows", "ml")[0]["spec"]["shutdown"] == "Terminate"
    # Argo has not yet moved the terminating Workflow out of Running: the run stays cancelled.
    assert runner.status(cancelled).status == CANCELLED


def test_a_forbidden_namespace_is_a_clear_submit_error(workspace, kube):
    with pytest.raises(PipelineError, match="cannot submit run .* refused to create Job"):
        KubernetesRunner().submit(*run_parts(workspace, "evaluate", "locked"))
    assert kube.objects("jobs", "ml") == []


def test_logs_come_from_the_runs_pods_step_by_step(workspace, kube):
    runner = KubernetesRunner()
    submitted = runner.submit(*run_parts(workspace, "train", "preprod"))
    name = submitted.resources["name"]
    for index, step in enumerate(("prepare", "train")):
        pod = f"{name}-{step}-{index}"
        kube.add_pod("ml", pod, {"expenv.run": submitted.id, "expenv.step": step})
        kube.emulator.objects[_pods(), "ml", pod].patch({"status": {"startTime": f"2026-01-01T00:0{index}:00Z"}})
        kube.set_pod_log("ml", pod, f"{step} starts\n{step} done\n")
    kube.add_pod("ml", "someone-elses-pod", {"expenv.run": "r-other"})
    assert list(runner.logs(submitted, follow=False)) == [
        ("prepare", "prepare starts"), ("prepare", "prepare done"), ("train", "train starts"), ("train", "train done")]


def _pods():
    from kmock import resource

    return resource("v1", "pods")
