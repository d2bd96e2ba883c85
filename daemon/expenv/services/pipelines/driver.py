"""The driver of a local or docker run: a detached process (`python -m
expenv.services.pipelines.driver STATE_DIR RUN_ID`) that runs the steps in order, writes each
step's log file, records statuses in the ledger and mirrors them to MLflow. Being its own process,
the run goes on when the CLI that submitted it exits or the daemon restarts; status, logs and
cancel work from any process through the ledger, the log files and a cancel marker + SIGTERM."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from expenv.domain.pipelines import (
    CANCELLED,
    FAILED,
    FINISHED,
    RUNNING,
    SKIPPED,
    PipelineRun,
    StepSpec,
)
from expenv.services.pipelines.driver_entry import FOLLOW, HELD, TRIED   # the entry's words
from expenv.services.pipelines.store import RunStore
from expenv.services.process_state import background

# What the driver process runs (driver_entry starts it): what only some paths need (the tracking
# client, the process helpers of the tracking package) is imported where used, so the first step's
# log is followed sooner.
log = logging.getLogger(__name__)
PLAN = "plan.json"
TRACKING_UNSENT = "tracking_unsent"   # MLflow missed a status: resent when it answers
# A docker run's first step is started by the submitting process while this one starts; the plan
# names it (PRESTART). The submitter holds this process's stdin and writes TRIED then closes it once
# it tried (the ledger says whether the step runs); an end of file without TRIED: the submitter died.
PRESTART = "prestart"
# The driver touches HEARTBEAT every HEARTBEAT_EVERY seconds. A process in another PID namespace (the
# host reading a run that a devcontainer's daemon submitted, or the other way) cannot see the
# driver's pid: it judges the driver gone when the heartbeat is older than HEARTBEAT_STALE.
HEARTBEAT, HEARTBEAT_EVERY, HEARTBEAT_STALE = "heartbeat", 2.0, 60.0


class StepExecutor(Protocol):
    """How one backend runs one step (a process, a container)."""

    def start(self, step: StepSpec, argv: list[str], env: dict[str, str], log_path: Path) -> dict[str, Any]: ...

    def wait(self, resources: dict[str, Any], stopping: threading.Event) -> tuple[int | None, str]: ...

    def collect(self, resources: dict[str, Any], step: StepSpec, dest: Path) -> list[Path]: ...

    def stop(self, resources: dict[str, Any]) -> None: ...

    def cleanup(self, resources: dict[str, Any]) -> None: ...

    def remove_leftovers(self) -> None: ...


def pid_namespace() -> str:
    from expenv.services.tracking.embedded import _pid_namespace

    return _pid_namespace()


def executor_for(plan: dict[str, Any]) -> StepExecutor:
    """The executor of a plan's backend (imported on use: the driver imports one)."""
    if plan["backend"] == "docker":
        from expenv.services.pipelines.docker import ContainerSteps

        return ContainerSteps(plan)
    from expenv.services.pipelines.local import ProcessSteps

    return ProcessSteps(plan)


def alive(pid: int | None) -> bool:
    """A process that exists and is not a zombie (our own child that exited)."""
    from expenv.services.tracking.embedded import _alive as process_exists

    if not pid or not process_exists(pid):
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def clean_env() -> dict[str, str]:
    from expenv.services.pipelines.local import DROPPED_ENV

    return {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}


def start_driver(store: RunStore, run_id: str, held: bool = False,
                 follow: tuple[str, Path] | None = None) -> subprocess.Popen:
    """Start the detached driver of a run; its own output goes to the run's driver.log. `held`: its
    stdin is a pipe the submitter releases (release()) once it tried to start the PRESTART step;
    `follow`: that step's (container name, log path), followed first thing after the release."""
    logfile = store.run_dir(run_id) / "driver.log"
    extra = [HELD, *([FOLLOW, follow[0], str(follow[1])] if follow else [])] if held else []
    with open(logfile, "ab") as out:
        # at expenv's background priority, which the steps of a local target inherit
        return subprocess.Popen(background([sys.executable, "-m", "expenv.services.pipelines.driver_entry",
                                            str(store.state_dir), run_id, *extra]), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.PIPE if held else subprocess.DEVNULL, start_new_session=True,
                                env={**clean_env(), "EXPENV_OWNER_ROLE": "driver"})


def release(driver: subprocess.Popen) -> None:
    """Tell a held driver that the submitter tried to start the PRESTART step (the ledger says how it went)."""
    try:
        driver.stdin.write(TRIED)
    except OSError:   # the driver died: status() finds it gone
        pass
    finally:
        try:
            driver.stdin.close()
        except OSError:
            pass


def _step_specs(plan: dict[str, Any]) -> list[tuple[StepSpec, dict[str, Any]]]:
    from expenv.domain.pipelines import ParamSpec

    out = []
    for s in plan["steps"]:
        spec = StepSpec(s["name"], s["kind"], s["entrypoint"], tuple(s["depends_on"]),
                        {n: ParamSpec(n) for n in s["params"]}, s.get("cpu"), s.get("memory"))
        out.append((spec, s))
    return out


def _step_running(name: str, resources: dict[str, Any]):
    def running(r: PipelineRun) -> None:
        s = r.step(name)
        s.status, s.started_at, s.resources = RUNNING, time.time(), resources

    return running


def prestart(store: RunStore, run_id: str, plan: dict[str, Any], executor,
             also: Callable[[PipelineRun], None]) -> PipelineRun:
    """Start the plan's PRESTART step from the submitting process and record it RUNNING (with the
    change `also`, in the same write); when it cannot, the driver starts it itself (and records why
    it fails, as for any step). The run as recorded."""
    step, planned = next((s, p) for s, p in _step_specs(plan) if s.name == plan[PRESTART])
    run = None
    try:
        resources = executor.launch(step, planned["argv"], planned["env"])
        running = _step_running(step.name, resources)
        try:
            run = store.update(run_id, lambda r: (also(r), running(r)))
        except BaseException:
            executor.cleanup(resources)
            raise
    except Exception as exc:  # noqa: BLE001 - the driver tries again and reports the failure
        from expenv.domain.secrets import redact

        log.warning("the submitter could not start step %s of %s: %s", step.name, run_id, redact(str(exc)))
    return run or store.update(run_id, also)


def _adopt_prestarted(store: RunStore, run_id: str, plan: dict[str, Any], executor: StepExecutor,
                      told: bytes | None, follower=None) -> str | None:
    """The step the submitter started, adopted (its log followed: by `follower`, the thread
    driver_entry started, or now), or None. `told`: what the submitter said (driver_entry)."""
    name = plan.get(PRESTART)
    if not name:
        return None
    if told != TRIED:   # the submitter died while starting it: start afresh
        executor.cleanup(executor.resources_of(name))
        return None
    record = store.get(run_id).step(name)
    if record.status != RUNNING or not record.resources:
        return None
    if follower is not None:
        executor.adopt_follower(record.resources, follower)
        return name
    try:   # its log is followed first, before this process writes anything
        executor.attach(record.resources, store.log_path(run_id, name))
    except Exception as exc:  # noqa: BLE001 - wait() then says the container is gone
        log.warning("cannot follow the log of step %s: %s", name, exc)
    return name


def drive(store: RunStore, run_id: str, executor: StepExecutor, stopping: threading.Event,
          told: bytes | None = None, follower=None) -> PipelineRun:
    """Run every step in order; a failed step stops the rest (SKIPPED); returns the final run.
    `told`, `follower`: what a held driver's entry learnt and started (driver_entry)."""
    plan = store.read_json(run_id, PLAN)
    uri = plan["tracking_uri"]
    adopted = _adopt_prestarted(store, run_id, plan, executor, told, follower)

    def started(run: PipelineRun) -> None:
        run.status, run.started_at = RUNNING, run.started_at or time.time()
        run.resources.update(driver_pid=os.getpid(), driver_pidns=pid_namespace())

    run = store.update(run_id, started)
    told_running = False
    outcome = FINISHED
    for step, planned in _step_specs(plan):
        record = run.step(step.name)
        if step.name != adopted and (outcome != FINISHED or stopping.is_set()):
            outcome = CANCELLED if stopping.is_set() else outcome
            _finish_step(store, run_id, uri, step.name, SKIPPED, None, "not run: " + (
                "the run was cancelled" if outcome == CANCELLED else "an earlier step failed"), record.mlflow_run_id)
            continue
        log_path = store.log_path(run_id, step.name)
        if step.name == adopted:   # its log is followed already
            resources = record.resources
        else:
            try:
                resources = executor.start(step, planned["argv"], planned["env"], log_path)
            except Exception as exc:  # noqa: BLE001 - a step that cannot start fails the run, with the reason
                with open(log_path, "a", encoding="utf-8") as f:
                    f.write(f"expenv: the step could not start: {exc}\n")
                _finish_step(store, run_id, uri, step.name, FAILED, None, f"could not start: {exc}",
                             record.mlflow_run_id)
                outcome = FAILED
                continue
            store.update(run_id, _step_running(step.name, resources))
        from expenv.services.pipelines import tracking   # once the step's log is followed

        if not told_running:   # once the first step runs and its log is followed
            tracking.mirror_status(uri, run.mlflow_run_id, RUNNING)
            told_running = True
        try:
            code, detail = executor.wait(resources, stopping)
            outputs, lost = _collect(executor, resources, step, store.run_dir(run_id) / "outputs")
        finally:
            executor.cleanup(resources)
        for path in outputs:
            detail += (" " if detail else "") + (tracking.log_artifact(uri, record.mlflow_run_id, path) or "")
        detail += ("; " if detail and lost else "") + lost
        status = FINISHED if code == 0 and not lost and not stopping.is_set() else \
            CANCELLED if stopping.is_set() else FAILED
        _finish_step(store, run_id, uri, step.name, status, code, detail.strip(), record.mlflow_run_id)
        if status != FINISHED:
            outcome = status
    return _finish_run(store, run_id, uri, outcome)


def _collect(executor: StepExecutor, resources: dict[str, Any], step: StepSpec, dest: Path) -> tuple[list[Path], str]:
    """The step's outputs (an executed notebook), or none and why: an engine that goes after the step
    ended loses the step its outputs (so it fails, saying so), not the run its driver."""
    try:
        return executor.collect(resources, step, dest), ""
    except Exception as exc:  # noqa: BLE001 - any engine or file error: the step says it, the run ends
        from expenv.domain.secrets import redact

        log.warning("could not collect the outputs of step %s: %s", step.name, exc)
        return [], f"its outputs could not be collected: {redact(str(exc))[:300]}"


def _finish_step(store: RunStore, run_id: str, uri: str, name: str, status: str, code: int | None,
                 detail: str, mlflow_run_id: str | None) -> None:
    from expenv.services.pipelines import tracking

    problem = tracking.mirror_status(uri, mlflow_run_id, status)

    def change(r: PipelineRun) -> None:
        s = r.step(name)
        s.status, s.exit_code, s.ended_at = status, code, time.time()
        s.detail = "; ".join(p for p in (detail, problem) if p)
        if problem:
            r.resources[TRACKING_UNSENT] = True

    store.update(run_id, change)


def _finish_run(store: RunStore, run_id: str, uri: str, status: str, detail: str = "") -> PipelineRun:
    from expenv.services.pipelines import tracking

    run = store.get(run_id)
    tracking.roll_up_metrics(uri, run.mlflow_run_id, {s.name: s.mlflow_run_id for s in run.steps})
    problem = tracking.mirror_status(uri, run.mlflow_run_id, status)

    def change(r: PipelineRun) -> None:
        r.status, r.ended_at = status, time.time()
        failed = [s for s in r.steps if s.status == FAILED]
        r.detail = "; ".join(p for p in (detail, f"step {failed[0].name} failed: {failed[0].detail}" if failed
                                         else "", problem) if p)
        if problem:
            r.resources[TRACKING_UNSENT] = True

    return store.update(run_id, change)


def resend_tracking(store: RunStore, run: PipelineRun) -> PipelineRun:
    """Tell MLflow how an ended run went when its server could not be told at the time (it was
    down): the statuses of the steps and the run, and the steps' metrics on the parent."""
    from expenv.services.pipelines import tracking
    from expenv.services.tracking.embedded import healthy

    if not run.done or not run.resources.get(TRACKING_UNSENT):
        return run
    uri = store.read_json(run.id, PLAN)["tracking_uri"]
    if uri.startswith(("http://", "https://")) and not healthy(uri, timeout=1.0):
        return run
    problems = [tracking.mirror_status(uri, s.mlflow_run_id, s.status) for s in run.steps]
    tracking.roll_up_metrics(uri, run.mlflow_run_id, {s.name: s.mlflow_run_id for s in run.steps})
    problems.append(tracking.mirror_status(uri, run.mlflow_run_id, run.status))
    if any(problems):
        return run

    def sent(r: PipelineRun) -> None:
        r.resources.pop(TRACKING_UNSENT, None)
        for part in (r, *r.steps):
            part.detail = "; ".join(p for p in (part.detail or "").split("; ") if not p.startswith(tracking.UNTOLD))

    return store.update(run.id, sent)


def abandon(store: RunStore, run: PipelineRun, executor: StepExecutor, status: str, detail: str) -> PipelineRun:
    """End a run whose driver is gone (died, or a cancel found none): stop what it left running."""
    plan = store.read_json(run.id, PLAN)
    for step in run.steps:
        if step.status == RUNNING and step.resources:
            executor.stop(step.resources)
            executor.cleanup(step.resources)
        if step.status not in (FINISHED, FAILED, CANCELLED, SKIPPED):
            end = status if step.status == RUNNING else SKIPPED
            _finish_step(store, run.id, plan["tracking_uri"], step.name, end, None, detail, step.mlflow_run_id)
    return _finish_run(store, run.id, plan["tracking_uri"], status, detail)


def driver_gone(run: PipelineRun, store: RunStore | None = None) -> bool:
    """True when the run's driver is no longer alive: by its pid in this PID namespace; from another
    namespace (given the store) by its heartbeat, or by none since HEARTBEAT_STALE after the submission."""
    pid = run.resources.get("driver_pid")
    if run.done or not pid:
        return False
    if run.resources.get("driver_pidns", "") == pid_namespace():
        return not alive(pid)
    if store is None or not _beat_stale(store, run):
        return False
    # A machine that has just woken up shows every beat stale: a live driver beats again at once
    # (its wait between beats does not count the sleep), so look once more before judging.
    time.sleep(HEARTBEAT_EVERY * 1.5)
    return _beat_stale(store, run)


def _beat_stale(store: RunStore, run: PipelineRun) -> bool:
    try:
        beat = (store.run_dir(run.id) / HEARTBEAT).stat().st_mtime
    except FileNotFoundError:
        beat = run.created_at   # the driver has not beaten yet (or never started)
    return time.time() - beat > HEARTBEAT_STALE


def _heartbeat(store: RunStore, run_id: str, stopping: threading.Event, ended: threading.Event) -> None:
    """Beat until the run ends; a cancel marker (written by a process that cannot signal this one,
    being in another PID namespace) stops the run as SIGTERM does."""
    path = store.run_dir(run_id) / HEARTBEAT
    while not ended.is_set():
        try:
            path.touch()
        except OSError as exc:   # a full or read-only disk: the status readers judge by the pid
            log.warning("cannot write the heartbeat of %s: %s", run_id, exc)
        if store.cancel_marker(run_id).exists():
            stopping.set()
        ended.wait(HEARTBEAT_EVERY)


def follow_logs(store: RunStore, run_id: str, follow: bool, poll: float = 0.2) -> Iterator[tuple[str, str]]:
    """(step, line) of every step's log in step order; with `follow`, until the run ends."""
    offsets: dict[str, int] = {}
    pending: dict[str, str] = {}
    while True:
        run = store.get(run_id)
        finished = run.done
        for step in run.steps:
            path = store.log_path(run_id, step.name)
            try:
                with open(path, "rb") as f:
                    f.seek(offsets.get(step.name, 0))
                    chunk = f.read()
            except FileNotFoundError:
                continue
            offsets[step.name] = offsets.get(step.name, 0) + len(chunk)
            text = pending.pop(step.name, "") + chunk.decode("utf-8", "replace")
            *lines, rest = text.split("\n")
            yield from ((step.name, line) for line in lines)
            if rest and (finished or not follow):
                yield step.name, rest
            elif rest:
                pending[step.name] = rest
        if finished or not follow:
            return
        time.sleep(poll)


def main(argv: list[str], told: bytes | None = None, follower=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    state_dir, run_id = Path(argv[0]), argv[1]
    store = RunStore(state_dir)
    plan = store.read_json(run_id, PLAN)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    if store.cancel_marker(run_id).exists():
        stopping.set()
    ended = threading.Event()
    threading.Thread(target=_heartbeat, args=(store, run_id, stopping, ended), name="heartbeat", daemon=True).start()
    executor = executor_for(plan)
    try:
        run = drive(store, run_id, executor, stopping, told, follower)
    except Exception as exc:  # noqa: BLE001 - the run must end FAILED, saying why, never stay RUNNING
        log.exception("the driver of %s failed", run_id)
        run = abandon(store, store.get(run_id), executor, FAILED, f"the run's driver failed: {exc}")
    finally:
        ended.set()
    log.info("run %s ended %s", run_id, run.status)
    executor.remove_leftovers()   # what cleanup could not reach, once it can (the run's status is already told)
    return 0
