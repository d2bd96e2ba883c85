"""The `kubernetes` pipeline runner: a Job (one step) or an Argo Workflow (a DAG) in the target's
namespace, followed through the objects' status as the Job controller or Argo's workflow
controller writes it. Any process can follow or cancel a run: the run records where its object is.

There is no driver process: whoever reads the status records it in the run store, and the first
reader to see the run end tells MLflow (the parent run and any step run still open; a step's own
process ends its run when it exits normally).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from expenv.domain.config import TargetSection
from expenv.domain.pipelines import (CANCELLED, FAILED, FINISHED, PENDING, RUNNING, SKIPPED, TERMINAL, PipelineError,
                                     PipelineRun, PipelineSpec)
from expenv.services.kube import KubeApi, KubeError, KubeTarget, connect, namespace_of
from expenv.services.kube.labels import dns_name
from expenv.services.kube.resources import JOB, KINDS, POD, WORKFLOW
from expenv.services.pipelines.interface import SubmitContext
from expenv.services.pipelines.kube_manifests import render_run

# Argo's node and workflow phases → ours.
ARGO_PHASES = {"Pending": PENDING, "Running": RUNNING, "Succeeded": FINISHED, "Failed": FAILED, "Error": FAILED,
               "Skipped": SKIPPED, "Omitted": SKIPPED}
LOG_POLL = 2.0


class KubernetesRunner:
    """PipelineRunner for `[targets.NAME] backend = "kubernetes"`."""

    def __init__(self, store: Any = None, target: TargetSection | None = None):
        self.store = store
        self.target = target

    def render(self, spec: PipelineSpec, run: PipelineRun, context: SubmitContext) -> list[dict]:
        target = context.target
        return render_run(spec, run, context, namespace_of(KubeTarget(target.context, target.namespace)))

    def submit(self, spec: PipelineSpec, run: PipelineRun, context: SubmitContext) -> PipelineRun:
        target = context.target
        api = _connect(KubeTarget.of(target.context, target.namespace, target.api_timeout))
        (manifest,) = render_run(spec, run, context, api.namespace)
        try:
            api.create(manifest)
        except KubeError as exc:
            raise PipelineError(f"cannot submit run {run.id} to target {target.name}: {exc}") from None
        container = _first_container(manifest)
        submitted = run.copy()
        submitted.image = container["image"]
        submitted.resources = {**run.resources, "context": api.context, "namespace": api.namespace,
                               "server": api.server, "api_timeout": api.timeout, "kind": manifest["kind"],
                               "name": manifest["metadata"]["name"]}
        submitted.started_at = submitted.started_at or time.time()
        submitted.detail = (f"submitted {manifest['kind']} {manifest['metadata']['name']} to namespace "
                            f"{api.namespace}; waiting for the {_controller(manifest['kind'])}")
        return self._record(run, submitted)

    def status(self, run: PipelineRun) -> PipelineRun:
        if run.done:   # an ended run is final: a terminating Workflow must not look running again
            return run
        api, kind, name = self._object(run)
        try:
            obj = api.find(kind, name)
        except KubeError as exc:
            raise PipelineError(f"cannot read the status of run {run.id}: {exc}") from None
        if obj is None:
            return self._record(run, _ended(run, FAILED, f"{kind.kind} {name} is gone from namespace "
                                                         f"{api.namespace} (deleted by someone, or expired)"))
        return self._record(run, _job_status(run, obj) if kind is JOB else _workflow_status(run, obj))

    def cancel(self, run: PipelineRun) -> PipelineRun:
        current = self.status(run)
        if current.done:
            return current
        api, kind, name = self._object(run)
        try:
            if kind is WORKFLOW:
                # What `argo terminate` does: the controller stops the pods, the record stays.
                api.merge_patch(WORKFLOW, name, {"spec": {"shutdown": "Terminate"}})
            else:
                api.delete(JOB, name)   # its pods go with it (background propagation)
        except KubeError as exc:
            raise PipelineError(f"cannot cancel run {run.id}: {exc}") from None
        return self._record(current, _ended(current, CANCELLED, f"cancelled: {kind.kind} {name} "
                                                                f"{'terminated' if kind is WORKFLOW else 'deleted'}"))

    def logs(self, run: PipelineRun, follow: bool) -> Iterator[tuple[str, str]]:
        """(step, line) from the run's pods, step by step; with `follow`, until the run ends."""
        api, kind, name = self._object(run)
        shown: dict[str, int] = {}
        while True:
            # Asked before the pods are read, so the round after the run ends still reads the
            # last lines (and the pods that appeared just before it ended).
            done = not follow or self.status(run).done
            try:
                pods = self._pods(api, run)
            except KubeError as exc:
                yield "", f"[expenv] cannot list the pods of run {run.id}: {exc}"
                return
            for step, pod in pods:
                try:
                    lines = api.pod_log(pod, "main" if kind is WORKFLOW else None).splitlines()
                except KubeError as exc:   # e.g. its container has not started yet: next round
                    if not follow:
                        yield step, f"[expenv] no log from pod {pod} yet: {exc}"
                    continue
                for line in lines[shown.get(pod, 0):]:
                    yield step, line
                shown[pod] = len(lines)
            if done:
                return
            time.sleep(LOG_POLL)

    # --- internals -----------------------------------------------------------------------------

    def _record(self, before: PipelineRun, after: PipelineRun) -> PipelineRun:
        """Keep `after` in the run store; when the run has just ended, tell MLflow."""
        uri = self.target.tracking_uri if self.target else None
        if after.done and not before.done and uri:
            from expenv.services.pipelines.tracking import mirror_status

            problems = [mirror_status(uri, step.mlflow_run_id, step.status) for step in after.steps
                        if step.status in TERMINAL]
            problems.append(mirror_status(uri, after.mlflow_run_id, after.status))
            after.detail = "; ".join([after.detail, *sorted({p for p in problems if p})])
        if self.store is not None:
            self.store.save(after)
        return after

    def _object(self, run: PipelineRun) -> tuple[KubeApi, Any, str]:
        res = run.resources
        if not res.get("name"):
            raise PipelineError(f"run {run.id} records no Kubernetes object (was it submitted?)")
        target = KubeTarget.of(res.get("context"), res.get("namespace"), res.get("api_timeout"))
        return _connect(target), KINDS[res["kind"]], res["name"]

    @staticmethod
    def _pods(api: KubeApi, run: PipelineRun) -> list[tuple[str, str]]:
        pods = api.list(POD, {"expenv.run": run.id})
        started = sorted(pods, key=lambda p: (p.get("status") or {}).get("startTime") or "")
        return [((p["metadata"].get("labels") or {}).get("expenv.step", ""), p["metadata"]["name"]) for p in started]


def _connect(target: KubeTarget) -> KubeApi:
    try:
        return connect(target)
    except KubeError as exc:
        raise PipelineError(str(exc)) from None


def _controller(kind: str) -> str:
    return "Argo workflow controller" if kind == WORKFLOW.kind else "Job controller"


def _first_container(manifest: dict) -> dict:
    if manifest["kind"] == JOB.kind:
        return manifest["spec"]["template"]["spec"]["containers"][0]
    return next(t["container"] for t in manifest["spec"]["templates"] if "container" in t)


def _ended(run: PipelineRun, status: str, detail: str) -> PipelineRun:
    ended = run.copy()
    ended.status, ended.detail = status, detail
    ended.ended_at = ended.ended_at or time.time()
    for step in ended.steps:
        if step.status in (PENDING, RUNNING):
            step.status = status if step.status == RUNNING else SKIPPED
            step.ended_at = step.ended_at or ended.ended_at
    return ended


def _job_status(run: PipelineRun, job: dict) -> PipelineRun:
    status = job.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or [] if c.get("status") == "True"}
    if "Complete" in conditions or status.get("succeeded"):
        state, detail = FINISHED, "the Job completed"
    elif "Failed" in conditions or status.get("failed"):
        reason = conditions.get("Failed", {}).get("message") or "its pod failed"
        state, detail = FAILED, f"the Job failed: {reason}"
    elif status.get("active"):
        state, detail = RUNNING, "the Job's pod runs"
    else:
        return replace(run.copy(), status=PENDING, detail=run.detail or "waiting for the Job controller")
    current = run.copy()
    current.status, current.detail = state, detail
    for step in current.steps:
        step.status = state
    if state in (FINISHED, FAILED):
        current.ended_at = current.ended_at or time.time()
    return current


def _workflow_status(run: PipelineRun, workflow: dict) -> PipelineRun:
    status = workflow.get("status") or {}
    phase = status.get("phase")
    current = run.copy()
    if not phase:
        current.status = PENDING
        current.detail = run.detail or "waiting for the Argo workflow controller"
        return current
    nodes = {n.get("displayName"): n for n in (status.get("nodes") or {}).values() if n.get("type") == "Pod"}
    for step in current.steps:
        node = nodes.get(step.name) or nodes.get(dns_name(step.name))
        if node:
            step.status = ARGO_PHASES.get(node.get("phase"), step.status)
            step.detail = node.get("message") or ""
    shutdown = (workflow.get("spec") or {}).get("shutdown")
    current.status = CANCELLED if shutdown and phase in ("Failed", "Error") else ARGO_PHASES.get(phase, RUNNING)
    current.detail = status.get("message") or f"Argo workflow phase: {phase}"
    if current.done:
        current.ended_at = current.ended_at or time.time()
    return current
