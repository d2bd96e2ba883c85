"""The `local` and `docker` runners (PipelineRunner), both followed by a detached driver process,
and how a target's `backend` names its runner (kubernetes and plugins imported on first use)."""

from __future__ import annotations

import importlib
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

from expenv.domain.config import TargetSection
from expenv.domain.pipelines import CANCELLED, FAILED, PipelineError, PipelineRun, PipelineSpec
from expenv.services.pipelines import driver
from expenv.services.pipelines.interface import PipelineRunner, SubmitContext
from expenv.services.pipelines.steps import step_command
from expenv.services.pipelines.store import RunStore

KUBERNETES_RUNNER = "expenv.services.pipelines.kubernetes:KubernetesRunner"
CANCEL_GRACE = 45.0


class DrivenRunner:
    """PipelineRunner for `local` and `docker`: submit writes the plan and starts the driver."""

    def __init__(self, store: RunStore, backend: str):
        self.store = store
        self.backend = backend
        self._early = None   # docker: the executor holding the first step's container (start_early)

    def start_early(self, spec: PipelineSpec, run: PipelineRun, image: str, image_digest: str | None,
                    labels: dict[str, str]) -> None:
        """docker: create and start the first step's container while the submission is still being
        checked and its MLflow runs opened (it waits for its environment and code, fed at submit();
        discard_early() removes it when the submission is refused)."""
        if self.backend != "docker" or not spec.steps:
            return
        from expenv.services.pipelines.docker import ContainerSteps, prepare_docker

        extra = prepare_docker(image, image_digest)
        first = spec.steps[0]
        executor = ContainerSteps({**extra, "run_id": run.id, "labels": labels})
        executor.create_started(first, step_command(first, run.params.get(first.name, {}), extra["python"],
                                                    extra["out_dir"]))
        self._early = executor

    def discard_early(self) -> None:
        """The submission was refused: the early container goes."""
        early, self._early = self._early, None
        if early is not None:
            early.discard_created()

    def _plan(self, spec: PipelineSpec, run: PipelineRun, context: SubmitContext) -> dict[str, Any]:
        run_dir = self.store.run_dir(run.id)
        if self.backend == "docker":
            from expenv.services.pipelines.docker import prepare_docker

            extra = prepare_docker(context.image or "", context.image_digest)
        else:
            from expenv.services.pipelines.local import prepare_local

            extra = prepare_local(context.code, run_dir)
        steps = [{"name": s.name, "kind": s.kind, "entrypoint": s.entrypoint, "depends_on": list(s.depends_on),
                  "params": run.params.get(s.name, {}), "cpu": s.cpu, "memory": s.memory,
                  "argv": step_command(s, run.params.get(s.name, {}), extra["python"], extra["out_dir"]),
                  "env": context.env_for(s.name)} for s in spec.steps]
        return {"backend": self.backend, "run_id": run.id, "tracking_uri": context.tracking_uri,
                "code": str(context.code), "labels": context.labels, "steps": steps, **extra}

    def submit(self, spec: PipelineSpec, run: PipelineRun, context: SubmitContext) -> PipelineRun:
        plan = self._plan(spec, run, context)
        if self.backend == "docker" and spec.steps:
            # The first step's container starts here while the driver process starts (its Python
            # imports would delay the step); the driver adopts it (driver.PRESTART).
            plan[driver.PRESTART] = spec.steps[0].name
        self.store.write_json(run.id, driver.PLAN, plan)
        first = plan.get(driver.PRESTART)
        follow = None
        if first:   # the container the driver follows first thing, named as ContainerSteps names it
            from expenv.services.pipelines.docker import ContainerSteps

            follow = (ContainerSteps(plan).resources_of(first)["name"], self.store.log_path(run.id, first))
        proc = driver.start_driver(self.store, run.id, held=bool(first), follow=follow)

        def started(r: PipelineRun) -> None:
            r.resources.setdefault("driver_pid", proc.pid)
            r.resources.setdefault("driver_pidns", driver.pid_namespace())

        if plan.get(driver.PRESTART):   # one ledger write for the driver's pid and the started step
            executor, self._early = self._early or driver.executor_for(plan), None
            executor.plan = plan
            try:
                return driver.prestart(self.store, run.id, plan, executor, started)
            finally:
                driver.release(proc)
        return self.store.update(run.id, started)

    def status(self, run: PipelineRun) -> PipelineRun:
        run = self.store.get(run.id)
        if driver.driver_gone(run, self.store):
            # the driver may have ended it a moment ago: read again before judging
            run = self.store.get(run.id)
            if not run.done:
                plan = self.store.read_json(run.id, driver.PLAN)
                return driver.abandon(self.store, run, driver.executor_for(plan), FAILED,
                                      "the run's driver process died before the run ended")
        return driver.resend_tracking(self.store, run)

    def logs(self, run: PipelineRun, follow: bool) -> Iterator[tuple[str, str]]:
        yield from driver.follow_logs(self.store, run.id, follow)

    def cancel(self, run: PipelineRun) -> PipelineRun:
        run = self.status(run)
        if run.done:
            return run
        self.store.cancel_marker(run.id).touch()   # a driver in another PID namespace sees it in its heartbeat
        if not driver.driver_gone(run, self.store):
            if run.resources.get("driver_pidns") == driver.pid_namespace():
                try:
                    os.kill(run.resources["driver_pid"], signal.SIGTERM)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + CANCEL_GRACE
            while time.monotonic() < deadline:
                run = self.store.get(run.id)
                if run.done:
                    return run
                time.sleep(0.2)
        plan = self.store.read_json(run.id, driver.PLAN)
        return driver.abandon(self.store, self.store.get(run.id), driver.executor_for(plan), CANCELLED,
                              "cancelled by the user")

    def render(self, spec: PipelineSpec, run: PipelineRun, context: SubmitContext) -> list[dict]:
        """What each step would run (no manifests on this backend)."""
        return [{"step": s["name"], "argv": s["argv"], "image": s.get("image_id"),
                 "depends_on": s["depends_on"]} for s in self._plan_preview(spec, run, context)]

    def _plan_preview(self, spec: PipelineSpec, run: PipelineRun, context: SubmitContext) -> list[dict]:
        python = "python"
        if self.backend == "docker":
            from expenv.services.pipelines.docker import OUT_DIR, prepare_docker

            extra = prepare_docker(context.image or "", context.image_digest)
            python, out_dir = extra["python"], OUT_DIR
        else:
            from expenv.services.kernels.spec import default_python

            python, out_dir = default_python(), str(self.store.run_dir(run.id) / "outputs")
        return [{"name": s.name, "depends_on": list(s.depends_on), "image_id": context.image_digest,
                 "argv": step_command(s, run.params.get(s.name, {}), python, out_dir)} for s in spec.steps]


def runner_for(target: TargetSection, store: RunStore) -> PipelineRunner:
    """The runner a target's backend names; a clear error when it cannot be loaded."""
    if target.backend in ("local", "docker"):
        return DrivenRunner(store, target.backend)
    ref = KUBERNETES_RUNNER if target.backend == "kubernetes" else target.backend
    module_name, _, class_name = ref.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        what = "the kubernetes pipeline backend" if target.backend == "kubernetes" else f"backend {ref}"
        raise PipelineError(f"target {target.name}: {what} cannot be loaded ({exc})") from None
    return cls(store=store, target=target)
