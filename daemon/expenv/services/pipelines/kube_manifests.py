"""Kubernetes manifests of a pipeline run: a Job for one step, an Argo Workflow (built with hera)
for a DAG of steps. Both run the per-commit production image in the target's namespace.

The code: a run is pinned to a commit, and the image at that commit holds it. The image reference
is the target's `image` (else the production image) with `{commit}` replaced by the commit, or,
without `{commit}`, with its tag replaced by the commit's first 12 hex digits (`repo:0123abcd4567`),
as CI tags the production image it builds for each commit. A reference pinned by digest is kept.
Steps run from the image's working directory, as a non-root user.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from expenv.domain.pipelines import PipelineError, PipelineRun, PipelineSpec, StepSpec
from expenv.services.kube import labels as kl
from expenv.services.kube.secrets import env_from, plain_env
from expenv.services.pipelines.interface import SubmitContext

PYTHON = "python"
OUT_DIR = "/tmp/expenv-outputs"
RUN_AS = 1000
LOOPBACK = re.compile(r"^(localhost|127\.\d+\.\d+\.\d+|::1|0\.0\.0\.0|\[::1\])$", re.I)
KEEP_FINISHED = 7 * 24 * 3600   # a finished Job (and its pods' logs) stays a week


def per_commit_image(image: str, commit: str) -> str:
    """The image that holds the code at `commit` (see the module docstring)."""
    if "{commit}" in image:
        return image.replace("{commit}", commit)
    if "@" in image:
        return image
    name, _, tag = image.rpartition(":")
    repo = name if tag and "/" not in tag else image
    return f"{repo}:{commit[:12]}"


def check_tracking_reachable(uri: str, target: str) -> None:
    """A pod cannot reach a tracking server on the submitter's loopback, nor a file store."""
    parts = urlsplit(uri or "")
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme not in ("http", "https") or not host or LOOPBACK.match(host):
        shown = kl.label_value(parts.hostname or parts.scheme or "none")
        raise PipelineError(
            f"tracking_uri: target {target} runs on Kubernetes, where the tracking server at {shown!r} "
            f"(loopback or embedded) cannot be reached, so the run would lose its tracking; set tracking_uri "
            f"in [targets.{target}] to an http(s) MLflow server the cluster can reach")


def render_run(spec: PipelineSpec, run: PipelineRun, context: SubmitContext, namespace: str) -> list[dict]:
    """[Job] for a one-step pipeline, [Workflow] for more steps."""
    target = context.target
    check_tracking_reachable(context.tracking_uri, target.name)
    if run.patch:
        raise PipelineError(f"target {target.name}: a Kubernetes run uses the image built at a commit, which "
                            f"cannot carry uncommitted changes; commit them and submit again")
    if not context.commit:
        raise PipelineError(f"target {target.name}: a Kubernetes run needs the commit of its image")
    base = target.image or context.image
    if not base:
        raise PipelineError(f"image: target {target.name} has no image, and [environment] production_image "
                            f"is not set")
    image = per_commit_image(base, context.commit)
    labels = {k: kl.label_value(v) for k, v in context.labels.items()}
    labels.update(kl.common_labels(labels.get("expenv.workspace", ""), run=run.id, pipeline=spec.name))
    name = run_object_name(spec.name, run.id)
    secrets = tuple(target.secrets)
    if len(spec.steps) == 1:
        return [_job(spec.steps[0], run, context, image, name, namespace, labels, secrets)]
    return [_workflow(spec, run, context, image, name, namespace, labels, secrets)]


def run_object_name(pipeline: str, run_id: str) -> str:
    """The Job's or Workflow's name: the pipeline and the run id, DNS-safe (52 characters at most,
    leaving room for the pod suffixes the controllers add)."""
    run_part = kl.dns_name(run_id, 20)
    return f"{kl.dns_name(pipeline, 51 - len(run_part))}-{run_part}"


def _argv(step: StepSpec, run: PipelineRun) -> list[str]:
    from expenv.services.pipelines.steps import step_command

    return step_command(step, run.params.get(step.name, {}), PYTHON, OUT_DIR)


def _resources(step: StepSpec) -> dict:
    try:
        return kl.resources(step.cpu, step.memory)
    except ValueError as exc:
        raise PipelineError(f"step {step.name}: {exc}") from None


def _step_env(step: StepSpec, run: PipelineRun, context: SubmitContext) -> list[dict]:
    env = plain_env({**context.env_for(step.name), "MLFLOW_TRACKING_URI": context.tracking_uri,
                     "EXPENV_RUN_ID": run.id, "EXPENV_STEP": step.name})
    return env


def _container(step: StepSpec, run: PipelineRun, context: SubmitContext, image: str, secrets: tuple) -> dict:
    container = {"name": "step", "image": image, "command": _argv(step, run),
                 "env": _step_env(step, run, context),
                 "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True}}
    if secrets:
        container["envFrom"] = env_from(secrets)
    if resources := _resources(step):
        container["resources"] = resources
    return container


_POD_SECURITY = {"runAsNonRoot": True, "runAsUser": RUN_AS, "runAsGroup": RUN_AS, "fsGroup": RUN_AS}


def _job(step: StepSpec, run: PipelineRun, context: SubmitContext, image: str, name: str, namespace: str,
         labels: dict, secrets: tuple) -> dict:
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": {**labels, "expenv.step": kl.label_value(step.name)}},
        "spec": {
            "backoffLimit": 0,   # a failed step fails the run: no silent retry with other results
            "ttlSecondsAfterFinished": KEEP_FINISHED,
            "template": {
                "metadata": {"labels": {**labels, "expenv.step": kl.label_value(step.name)}},
                "spec": {"restartPolicy": "Never", "securityContext": dict(_POD_SECURITY),
                         "containers": [_container(step, run, context, image, secrets)]},
            },
        },
    }


def _workflow(spec: PipelineSpec, run: PipelineRun, context: SubmitContext, image: str, name: str,
              namespace: str, labels: dict, secrets: tuple) -> dict:
    from hera.workflows import DAG, Container, Task, Workflow
    from hera.workflows import models as m

    templates, tasks = {}, []
    for step in spec.steps:
        container = _container(step, run, context, image, secrets)
        resources = container.get("resources")
        templates[step.name] = Container(
            name=kl.dns_name(step.name), image=image, command=container["command"],
            env=[m.EnvVar(**e) for e in container["env"]],
            env_from=[m.EnvFromSource(secret_ref=m.SecretEnvSource(name=s)) for s in secrets] or None,
            resources=m.ResourceRequirements(**resources) if resources else None,
            security_context=m.SecurityContext(allow_privilege_escalation=False, run_as_non_root=True),
            labels={"expenv.step": kl.label_value(step.name)})
    with Workflow(name=name, namespace=namespace, labels=labels, entrypoint="pipeline",
                  templates=list(templates.values()), pod_metadata=m.Metadata(labels=labels),
                  security_context=m.PodSecurityContext(run_as_non_root=True, run_as_user=RUN_AS,
                                                        run_as_group=RUN_AS, fs_group=RUN_AS),
                  ttl_strategy=m.TTLStrategy(seconds_after_completion=KEEP_FINISHED)) as workflow:
        with DAG(name="pipeline"):
            for step in spec.steps:
                tasks.append(Task(name=kl.dns_name(step.name), template=templates[step.name],
                                  dependencies=[kl.dns_name(d) for d in step.depends_on] or None))
    return workflow.to_dict()
