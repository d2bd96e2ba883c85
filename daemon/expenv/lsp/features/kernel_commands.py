"""`workspace/executeCommand` `expenv.kernels.{execute,interrupt,restart,shutdown}`: the editor's
notebook controller runs cells on a kernel the daemon starts. {"notebook": path or file URI, ...}.
A running cell's outputs stream as `expenv/kernelOutput` notifications {notebook, cell, output}
(nbformat output dicts); the answer is the cell's status with all its outputs."""

from __future__ import annotations

import asyncio
from typing import Any

from pygls.uris import to_fs_path

from expenv.lsp.errors import command_options, user_errors
from expenv.lsp.server import ExpenvLanguageServer
from expenv.services.kernels.pool import KernelError

OUTPUT_NOTIFICATION = "expenv/kernelOutput"


def _notebook(options: dict[str, Any]) -> str:
    given = options.get("notebook")
    if not isinstance(given, str) or not given.strip():
        raise KernelError('notebook is missing: pass {"notebook": "<path or file URI of the .ipynb>"}')
    return (to_fs_path(given) or given) if given.startswith("file:") else given


def _sessions(ls: ExpenvLanguageServer, options: dict[str, Any], notebook: str):
    where = options.get("workspace") or (notebook if notebook.startswith("/") else None)
    return ls.workspace_for_command({"workspace": where} if where else {}).services.notebooks


def register(server: ExpenvLanguageServer) -> None:
    @server.command("expenv.kernels.execute")
    @user_errors
    async def kernels_execute(ls: ExpenvLanguageServer, *args: Any) -> Any:
        """{"notebook", "code", "cell"? (echoed in each output notification), "workspace"?} → the cell's run."""
        o = command_options(args)
        notebook = _notebook(o)
        loop, cell = asyncio.get_running_loop(), o.get("cell")

        def on_output(output: dict[str, Any]) -> None:
            loop.call_soon_threadsafe(ls.protocol.notify, OUTPUT_NOTIFICATION,
                                      {"notebook": o["notebook"], "cell": cell, "output": output})

        run = await ls.run_blocking(_sessions(ls, o, notebook).execute, notebook, o.get("code"), on_output)
        return run.as_dict()

    for verb in ("interrupt", "restart", "shutdown"):
        _register_control(server, verb)


def _register_control(server: ExpenvLanguageServer, verb: str) -> None:
    @server.command(f"expenv.kernels.{verb}")
    @user_errors
    async def kernels_control(ls: ExpenvLanguageServer, *args: Any) -> Any:
        o = command_options(args)
        notebook = _notebook(o)
        sessions = _sessions(ls, o, notebook)
        return (await ls.run_blocking(getattr(sessions, verb), notebook)).as_dict()

    kernels_control.__doc__ = f'{{"notebook", "workspace"?}} → the kernel record after {verb}.'
