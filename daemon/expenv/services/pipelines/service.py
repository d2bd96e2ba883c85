"""The pipeline service: list, submit (after the checks), status, logs, cancel, rerun, render.

Plain Python used by the CLI and the LSP alike; the runner is chosen by the target's backend."""

from __future__ import annotations

import logging
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from expenv.domain.clusters import workspace_label   # the same expenv.workspace label as clusters'
from expenv.domain.config import ExpenvConfig, TargetSection
from expenv.domain.data import to_json
from expenv.domain.pipelines import (
    ParamSpec,
    PipelineError,
    PipelineRun,
    PipelineSpec,
    StepRun,
    StepSpec,
    notebook_pipeline,
    pipeline_of_notebook,
)
from expenv.domain.secrets import redact
from expenv.services.pipelines import checks
from expenv.services.pipelines.interface import SubmitContext
from expenv.services.pipelines.runners import runner_for
from expenv.services.pipelines.store import RunStore

Progress = Callable[[str], None]
log = logging.getLogger(__name__)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "0.0.0.0")
# What a production-like submission compares the image with: the kernel (a notebook user) or the lock (CI).
PARITY_SIDES = ("kernel", "lock")


class PipelineService:
    def __init__(self, config: ExpenvConfig, tracking, features=None):
        self.config = config
        self.tracking = tracking
        self.features = features
        self.store = RunStore(config.state_dir)

    # --- what is declared -------------------------------------------------------------------

    def pipelines(self) -> list[dict[str, Any]]:
        return [{**to_json(spec), "steps": [{**to_json(s), "params": list(to_json(s.params).values())}
                                            for s in spec.steps]} for spec in self.config.pipelines.values()]

    def targets(self) -> list[dict[str, Any]]:
        return [{"name": t.name, "backend": t.backend, "production_like": t.is_production_like,
                 "namespace": t.namespace, "image": t.image or self.config.environment.production_image}
                for t in self.config.targets.values()]

    def spec(self, name: str) -> PipelineSpec:
        if name not in self.config.pipelines:
            known = ", ".join(self.config.pipelines) or "none declared: add [pipelines.NAME] to expenv.toml"
            raise PipelineError(f"unknown pipeline {name!r} (pipelines: {known})")
        return self.config.pipelines[name]

    def target(self, name: str) -> TargetSection:
        if name not in self.config.targets:
            known = ", ".join(self.config.targets) or "none declared: add [targets.NAME] to expenv.toml"
            raise PipelineError(f"unknown target {name!r} (targets: {known})")
        return self.config.targets[name]

    # --- submission ---------------------------------------------------------------------------

    def submit(self, pipeline: str | PipelineSpec, target: str, params: dict[str, Any] | None = None,
               allow_drift: bool = False, progress: Progress | None = None,
               _rerun: PipelineRun | None = None, parity: str = "kernel") -> PipelineRun:
        """Check, pin and start a run (`pipeline`: a declared name, or a spec such as a notebook's).
        `parity`: what a production-like target's image is compared with, the kernel or the lock."""
        if parity not in PARITY_SIDES:
            raise PipelineError(f"parity: {parity!r} is not one of {', '.join(PARITY_SIDES)}")
        say = progress or (lambda _m: None)
        spec = pipeline if isinstance(pipeline, PipelineSpec) else self.spec(pipeline)
        tgt = self.target(target)
        resolved = _rerun.params if _rerun else spec.resolve_params(params)
        run = PipelineRun(id=self.store.new_id(spec.name), pipeline=spec.name, target=tgt.name, backend=tgt.backend,
                          params=resolved, created_at=time.time(), production_like=tgt.is_production_like,
                          steps=[StepRun(s.name) for s in spec.steps], rerun_of=_rerun.id if _rerun else None)
        run_dir = self.store.run_dir(run.id)
        runner = None
        try:
            runner = runner_for(tgt, self.store)   # a backend that cannot load refuses before MLflow has runs
            code, uri, tags = self._prepare(spec, tgt, run, allow_drift, say, _rerun, parity, runner)
        except BaseException:
            _discard_early(runner)
            shutil.rmtree(run_dir, ignore_errors=True)   # a refused submission leaves nothing behind
            raise
        self.store.create(run)
        self.store.write_json(run.id, "spec.json", to_json(spec))
        context = self._context(spec, run, tgt, code, uri, tags)
        say(f"submitting {run.id} to {tgt.name} ({tgt.backend})")
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="expenv-patch") as pool:
            if run.patch:   # the shipped diff, an artifact of the parent run, sent while the run starts
                from expenv.services.pipelines.tracking import log_artifact

                patch = self.store.run_dir(_rerun.id if _rerun else run.id) / "patch.diff"
                pool.submit(log_artifact, uri, run.mlflow_run_id, patch, "expenv")
            try:
                return runner.submit(spec, run, context)
            except Exception as exc:
                from expenv.services.pipelines.driver import _finish_run

                _finish_run(self.store, run.id, uri, "FAILED", f"submission failed: {redact(str(exc))}")
                _discard_early(runner)
                raise

    def _prepare(self, spec: PipelineSpec, tgt: TargetSection, run: PipelineRun, allow_drift: bool,
                 say: Progress, rerun: PipelineRun | None, parity: str, runner) -> tuple[Path, str, dict[str, str]]:
        """The checks and decisions before a run is recorded: code, gates, image, MLflow runs;
        (the code archive, the tracking URI, the run's tags)."""
        from expenv.services.pipelines.tracking import open_runs

        say("pinning the code to a git commit, resolving the image and the tracking server")
        # The lookups do not depend on each other (git, the engine, MLflow, the parity check): they run
        # at once, and their refusals are raised in this order. Meanwhile a runner that can (docker)
        # starts the first step's container, which waits for its environment and code.
        with ThreadPoolExecutor(max_workers=5, thread_name_prefix="expenv-submit") as pool:
            pinned = pool.submit(self._pin, tgt, run, rerun)
            image = pool.submit(checks.resolve_image, self.config, tgt, rerun)
            tracking = pool.submit(self._tracking, tgt)
            early = pool.submit(_start_early, runner, spec, run, image, self._labels(spec, run))
            if tgt.is_production_like:
                gate = checks.check_lock_parity if parity == "lock" else checks.check_parity
                drift = pool.submit(gate, self.config, tgt, allow_drift)
            code = pinned.result()
            if tgt.is_production_like:
                say("checking the sourcing policy and parity (production-like target)")
                checks.check_policy(self.config, self.features, spec, run.branch)
                run.drift = drift.result()
            run.image, run.image_digest = image.result()
            uri, api = tracking.result()
            early.result()
        tags = self._tags(spec, run)
        parent, children, url = open_runs(api, self.config.project.name, spec, run, tags)
        run.mlflow_run_id, run.mlflow_url = parent, url
        for step in run.steps:
            step.mlflow_run_id = children[step.name]
        return code, uri, tags

    def _pin(self, tgt: TargetSection, run: PipelineRun, rerun: PipelineRun | None) -> Path:
        """The code archive of the run (a rerun's: the one it repeats), its commit, branch and patch on `run`."""
        if rerun:
            run.commit, run.branch, run.patch = rerun.commit, rerun.branch, rerun.patch
            return self.store.run_dir(rerun.id) / "code.tar"
        run_dir = self.store.run_dir(run.id)
        pinned = checks.pin_code(self.config.root, tgt, run_dir)
        run.commit, run.branch, run.patch = pinned.commit, pinned.branch, pinned.patch_sha
        return run_dir / "code.tar"

    def _tracking(self, tgt: TargetSection):
        """(the run's tracking URI, the API that opens its MLflow runs); refused when unreachable."""
        from expenv.services.pipelines.tracking import tracking_ready

        uri = self._tracking_uri(tgt)
        return uri, tracking_ready(uri, self.config.project.name)

    def _tracking_uri(self, target: TargetSection) -> str:
        uri = target.tracking_uri or self.tracking.require_uri()
        host = urlparse(uri).hostname or ""
        if target.backend == "kubernetes" and (host in LOOPBACK_HOSTS or not uri.startswith(("http://", "https://"))):
            raise PipelineError(
                f"target {target.name} runs on a cluster, which cannot reach the tracking server {redact(uri)}: "
                f"the run would lose its tracking; set tracking_uri in [targets.{target.name}] to a server the "
                "cluster can reach")
        return uri

    def _tags(self, spec: PipelineSpec, run: PipelineRun) -> dict[str, str]:
        from expenv.domain import tracking as t
        from expenv.services.tracking.context import ci_branch, run_tags

        # The pinned commit and branch, not the checkout's state read again (a detached HEAD: the CI's branch).
        branch = run.branch or ci_branch()
        git = {t.TAG_GIT_SHA: run.commit or "", **({t.TAG_GIT_BRANCH: branch} if branch else {})}
        tags = run_tags(self.config.root, run.backend, image=run.image, image_digest=run.image_digest,
                        pipeline=spec.name, feature_service=spec.feature_service, git=git)
        if run.patch:
            tags["expenv.git.patch_sha256"] = run.patch
        if run.drift:
            tags["expenv.parity.drift"] = "; ".join(run.drift)[:4000]
        return tags

    def _labels(self, spec: PipelineSpec, run: PipelineRun) -> dict[str, str]:
        return {"app.kubernetes.io/managed-by": "expenv", "expenv.workspace": workspace_label(self.config.root),
                "expenv.run": run.id, "expenv.pipeline": spec.name}

    def _context(self, spec: PipelineSpec, run: PipelineRun, target: TargetSection, code: Path, uri: str,
                 tags: dict[str, str]) -> SubmitContext:
        import json

        from expenv.services.tracking.context import child_env

        env = {**child_env(uri, self.config.project.name, tags), "EXPENV_PIPELINE_RUN": run.id,
               "MLFLOW_PARENT_RUN_ID": run.mlflow_run_id or ""}
        step_env = {s.name: {"MLFLOW_RUN_ID": s.mlflow_run_id or "", "EXPENV_STEP": s.name,
                             "EXPENV_RUN_TAGS": json.dumps({**tags, "expenv.step": s.name})} for s in run.steps}
        labels = self._labels(spec, run)
        return SubmitContext(root=self.config.root, target=target, commit=run.commit or "", code=code,
                             run_dir=self.store.run_dir(run.id), image=run.image, image_digest=run.image_digest,
                             tracking_uri=uri, experiment=self.config.project.name, env=env, step_env=step_env,
                             labels=labels)

    # --- following a run ------------------------------------------------------------------------

    def runs(self) -> list[PipelineRun]:
        return self.store.all()

    def _runner_of(self, run: PipelineRun):
        target = self.config.targets.get(run.target) or TargetSection(run.target, run.backend)
        return runner_for(target, self.store)

    def status(self, run_id: str) -> PipelineRun:
        run = self.store.get(run_id)
        return self._runner_of(run).status(run)

    def logs(self, run_id: str, follow: bool = False) -> Iterator[tuple[str, str]]:
        run = self.store.get(run_id)
        return self._runner_of(run).logs(run, follow)

    def cancel(self, run_id: str) -> PipelineRun:
        run = self.store.get(run_id)
        return self._runner_of(run).cancel(run)

    def wait(self, run_id: str, on_line: Callable[[str, str], None] | None = None) -> PipelineRun:
        """Follow a run to its end (streaming its log lines to `on_line`); the final run."""
        for step, line in self.logs(run_id, follow=True):
            if on_line:
                on_line(step, line)
        return self.status(run_id)

    def rerun(self, run_id: str, progress: Progress | None = None, allow_drift: bool = False) -> PipelineRun:
        """Submit again with the same commit (and patch), parameters and image digest."""
        old = self.store.get(run_id)
        if not (self.store.run_dir(old.id) / "code.tar").is_file():
            raise PipelineError(f"run {old.id} kept no code archive to run again")
        spec = PipelineSpec.from_dict(self.store.read_json(old.id, "spec.json"))
        return self.submit(spec, old.target, allow_drift=allow_drift, progress=progress, _rerun=old)

    def submit_notebook(self, notebook: str | Path, target: str, params: dict[str, Any] | None = None,
                        allow_drift: bool = False, progress: Progress | None = None,
                        alone: bool = False) -> PipelineRun:
        """Run a workspace notebook as a pipeline on a target: the declared pipeline it is a step of
        (the whole DAG, as CI/CD runs it), or, `alone` or in no pipeline, as a one-step pipeline (papermill)."""
        path = Path(notebook)
        path = path if path.is_absolute() else self.config.root / path
        try:
            rel = path.resolve().relative_to(self.config.root.resolve()).as_posix()
        except ValueError:
            raise PipelineError(f"{notebook} is not in the workspace {self.config.root}") from None
        if path.suffix != ".ipynb" or not path.is_file():
            raise PipelineError(f"{rel} is not a notebook (.ipynb) of the workspace")
        if not alone and (owner := pipeline_of_notebook(self.config.pipelines, rel)) is not None:
            return self.submit(owner, target, params, allow_drift, progress)
        spec = notebook_pipeline(rel)
        if params:
            step = spec.steps[0]
            declared = {k: ParamSpec(k, "str", v) for k, v in params.items()}
            spec = PipelineSpec(spec.name, (StepSpec(step.name, step.kind, step.entrypoint, params=declared),))
        return self.submit(spec, target, params, allow_drift, progress)

    def render(self, pipeline: str, target: str, params: dict[str, Any] | None = None) -> list[dict]:
        """What a submission would create (kubernetes: the Job or Workflow), without submitting."""
        spec, tgt = self.spec(pipeline), self.target(target)
        run = PipelineRun(id=self.store.new_id(spec.name), pipeline=spec.name, target=tgt.name, backend=tgt.backend,
                          params=spec.resolve_params(params), steps=[StepRun(s.name) for s in spec.steps])
        run.commit, run.branch = checks.current_commit(self.config.root)
        run.image = tgt.image or self.config.environment.production_image
        run.image_digest = checks.resolve_image(self.config, tgt, None)[1] if tgt.backend == "docker" else None
        uri = tgt.tracking_uri or self.tracking.uri() or ""
        tags = self._tags(spec, run)
        context = self._context(spec, run, tgt, self.store.run_dir(run.id) / "code.tar", uri, tags)
        return runner_for(tgt, self.store).render(spec, run, context)


def _start_early(runner, spec: PipelineSpec, run: PipelineRun, image, labels: dict[str, str]) -> None:
    """The runner's early start of the first step (docker), once the image is resolved; a failure
    here only means the step starts the usual way, where its error is reported."""
    start = getattr(runner, "start_early", None)
    if start is None:
        return
    try:
        ref, digest = image.result()
    except Exception:  # noqa: BLE001 - resolve_image's refusal is raised by _prepare
        return
    try:
        start(spec, run, ref, digest, labels)
    except Exception as exc:  # noqa: BLE001 - the driver or prestart starts it and says what is wrong
        log.debug("the first step of %s could not start early: %s", run.id, redact(str(exc)))


def _discard_early(runner) -> None:
    discard = getattr(runner, "discard_early", None)
    if discard is not None:
        try:
            discard()
        except Exception as exc:  # noqa: BLE001 - a refusal stays the error the user sees
            log.warning("could not remove the early-started step container: %s", redact(str(exc)))
