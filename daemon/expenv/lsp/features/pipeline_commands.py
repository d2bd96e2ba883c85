"""`workspace/executeCommand` `expenv.pipelines.{list,submit,runNotebook,status,logs,cancel,rerun,render}`:
the same JSON as `expenv pipeline ... --json`. A submission reports work-done progress and streams
its step logs as `expenv/pipelineLog` notifications {run, step, line}; its end is an
`expenv/pipelineStatus` notification {run, status, mlflow_run_id, mlflow_url}."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from lsprotocol import types

from expenv.lsp.errors import InvalidArgument, command_options, text_option, user_errors
from expenv.lsp.server import ExpenvLanguageServer

LOG_NOTIFICATION = "expenv/pipelineLog"
STATUS_NOTIFICATION = "expenv/pipelineStatus"
_tokens = itertools.count(1)


def _run_id(options: dict[str, Any]) -> str:
    return text_option(options, "run", example="train-1a2b3c4d", required=True)


def _params(options: dict[str, Any]) -> dict[str, Any]:
    params = options.get("params") or {}
    if not isinstance(params, dict):
        raise InvalidArgument("params", 'params must be an object: {"params": {"seed": 8}}')
    return params


class _Progress:
    """Work-done progress when the client supports it; reports from worker threads are safe."""

    def __init__(self, ls: ExpenvLanguageServer, title: str):
        self.ls, self.title = ls, title
        self.token = f"expenv-pipeline-{next(_tokens)}"
        window = ls.client_capabilities.window
        self.enabled = bool(window and window.work_done_progress)
        self.loop = asyncio.get_running_loop()

    async def __aenter__(self) -> _Progress:
        if self.enabled:
            await self.ls.work_done_progress.create_async(self.token)
            self.ls.work_done_progress.begin(self.token, types.WorkDoneProgressBegin(title=self.title))
        return self

    def report(self, message: str) -> None:
        if self.enabled:
            self.loop.call_soon_threadsafe(self.ls.work_done_progress.report, self.token,
                                           types.WorkDoneProgressReport(message=message))

    async def __aexit__(self, *exc: object) -> None:
        if self.enabled:
            self.ls.work_done_progress.end(self.token, types.WorkDoneProgressEnd())


def _stream(ls: ExpenvLanguageServer, service, run_id: str, progress: _Progress | None = None):
    """Follow a run in a worker thread: each log line becomes a notification; the final run."""
    loop = asyncio.get_running_loop()

    def on_line(step: str, line: str) -> None:
        loop.call_soon_threadsafe(ls.protocol.notify, LOG_NOTIFICATION, {"run": run_id, "step": step, "line": line})
        if progress:
            progress.report(f"{step}: {line[:80]}")

    async def follow() -> dict[str, Any]:
        run = await ls.run_blocking(service.wait, run_id, on_line)
        final = {"run": run.id, "status": run.status, "mlflow_run_id": run.mlflow_run_id, "mlflow_url": run.mlflow_url,
                 "detail": run.detail}
        ls.protocol.notify(STATUS_NOTIFICATION, final)
        ls.log_to_client(f"expenv: pipeline run {run.id} {run.status}"
                         + (f": {run.mlflow_url}" if run.mlflow_url else ""), types.MessageType.Info)
        return run.as_dict()

    return follow()


async def _submitted(ls: ExpenvLanguageServer, o: dict[str, Any], title: str, start) -> Any:
    """Start a run with progress; stream its logs; answer at the end when `wait`, else at once."""
    ws = ls.workspace_for_command(o)
    service = ws.services.pipelines
    wait = bool(o.get("wait", False))
    async with _Progress(ls, title) as progress:
        run = await ls.run_blocking(start, service, progress.report)
        ls.workspace_changed(ws, "pipelines")
        if wait:
            return await _stream(ls, service, run.id, progress)
    task = asyncio.ensure_future(_stream(ls, service, run.id))
    ls.background_tasks = getattr(ls, "background_tasks", set())
    ls.background_tasks.add(task)
    task.add_done_callback(ls.background_tasks.discard)
    return run.as_dict()


def register(server: ExpenvLanguageServer) -> None:
    @server.command("expenv.pipelines.list")
    @user_errors
    async def pipelines_list(ls: ExpenvLanguageServer, *args: Any) -> Any:
        service = ls.workspace_for_command(command_options(args)).services.pipelines
        runs = await ls.run_blocking(service.runs)
        return {"pipelines": service.pipelines(), "targets": service.targets(), "runs": [r.as_dict() for r in runs]}

    @server.command("expenv.pipelines.submit")
    @user_errors
    async def pipelines_submit(ls: ExpenvLanguageServer, *args: Any) -> Any:
        o = command_options(args)
        name = text_option(o, "pipeline", example="train", required=True)
        target = text_option(o, "target", example="dev", required=True)
        params, drift, parity = _params(o), bool(o.get("allow_drift", False)), o.get("parity", "kernel")
        return await _submitted(ls, o, f"Pipeline {name} on {target}",
                                lambda s, report: s.submit(name, target, params, drift, report, parity=parity))

    @server.command("expenv.pipelines.runNotebook")
    @user_errors
    async def pipelines_run_notebook(ls: ExpenvLanguageServer, *args: Any) -> Any:
        """Run this notebook as a pipeline on TARGET: the pipeline it is a step of, or (`alone`) by itself."""
        o = command_options(args)
        notebook = text_option(o, "notebook", example="notebooks/prepare.ipynb", required=True)
        target = text_option(o, "target", example="dev", required=True)
        params, drift, alone = _params(o), bool(o.get("allow_drift", False)), o.get("alone", False)
        if not isinstance(alone, bool):
            raise InvalidArgument("alone", "alone must be true (this notebook by itself) or false (its pipeline)")
        return await _submitted(ls, o, f"Notebook {notebook} on {target}",
                                lambda s, report: s.submit_notebook(notebook, target, params, drift, report, alone))

    @server.command("expenv.pipelines.rerun")
    @user_errors
    async def pipelines_rerun(ls: ExpenvLanguageServer, *args: Any) -> Any:
        o = command_options(args)
        run_id, drift = _run_id(o), bool(o.get("allow_drift", False))
        return await _submitted(ls, o, f"Rerun of {run_id}", lambda s, report: s.rerun(run_id, report, drift))

    @server.command("expenv.pipelines.status")
    @user_errors
    async def pipelines_status(ls: ExpenvLanguageServer, *args: Any) -> Any:
        o = command_options(args)
        service = ls.workspace_for_command(o).services.pipelines
        return (await ls.run_blocking(service.status, _run_id(o))).as_dict()

    @server.command("expenv.pipelines.logs")
    @user_errors
    async def pipelines_logs(ls: ExpenvLanguageServer, *args: Any) -> Any:
        o = command_options(args)
        service = ls.workspace_for_command(o).services.pipelines
        run_id = _run_id(o)
        if o.get("follow"):
            await _stream(ls, service, run_id)
        lines = await ls.run_blocking(lambda: list(service.logs(run_id, False)))
        return {"run": run_id, "lines": [{"step": s, "line": t} for s, t in lines]}

    @server.command("expenv.pipelines.cancel")
    @user_errors
    async def pipelines_cancel(ls: ExpenvLanguageServer, *args: Any) -> Any:
        o = command_options(args)
        ws = ls.workspace_for_command(o)
        run = await ls.run_blocking(ws.services.pipelines.cancel, _run_id(o))
        ls.workspace_changed(ws, "pipelines")
        return run.as_dict()

    @server.command("expenv.pipelines.render")
    @user_errors
    async def pipelines_render(ls: ExpenvLanguageServer, *args: Any) -> Any:
        o = command_options(args)
        service = ls.workspace_for_command(o).services.pipelines
        name = text_option(o, "pipeline", example="train", required=True)
        target = text_option(o, "target", example="preprod", required=True)
        docs = await ls.run_blocking(service.render, name, target, _params(o))
        return {"pipeline": name, "target": target, "resources": docs}
