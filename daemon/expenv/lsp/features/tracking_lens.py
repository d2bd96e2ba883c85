"""`textDocument/codeLens` over training entrypoints and notebook cells that log to MLflow: the
latest run's status and key metric. Clicking opens the run in the MLflow UI."""

from __future__ import annotations

import re
import time
from pathlib import Path

from lsprotocol import types
from pygls.uris import to_fs_path

from expenv.domain.errors import ExpenvError
from expenv.domain.tracking import TAG_PIPELINE, TAG_RUNNER
from expenv.lsp.server import ExpenvLanguageServer

_LOGS = re.compile(r"\bmlflow\.(start_run|log_metric|log_metrics|log_param|log_params|autolog|sklearn\.autolog)\b")
_MAIN = re.compile(r"^if __name__ == ['\"]__main__['\"]\s*:", re.MULTILINE)
KEY_METRICS = ("auc", "roc_auc", "accuracy", "f1", "r2", "rmse", "mae", "loss")
CACHE_SECONDS = 10.0


def _anchor_line(source: str) -> int | None:
    """Where the lens goes: the `__main__` guard, else the first MLflow call; None when no logging."""
    first = _LOGS.search(source)
    if first is None:
        return None
    main = _MAIN.search(source)
    return source.count("\n", 0, (main or first).start())


def _key_metric(metrics: dict[str, float]) -> str:
    for name in KEY_METRICS:
        if name in metrics:
            return f"{name} {metrics[name]:.4g}"
    if metrics:
        name = sorted(metrics)[0]
        return f"{name} {metrics[name]:.4g}"
    return "no metrics"


def _ago(ms: int | None) -> str:
    if not ms:
        return ""
    minutes = int((time.time() * 1000 - ms) / 60000)
    if minutes < 60:
        return f" · {minutes} min ago"
    return f" · {minutes // 60} h ago" if minutes < 48 * 60 else f" · {minutes // 1440} d ago"


def register(server: ExpenvLanguageServer) -> None:
    cache: dict[tuple[str, str], tuple[float, types.Command]] = {}

    def lens_command(ws, filters: dict[str, str]) -> types.Command:
        key = (str(ws.root), repr(sorted(filters.items())))
        hit = cache.get(key)
        if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
        tracking = ws.services.tracking
        try:
            runs = [r for r in tracking.runs(max_results=50, pipeline=filters.get(TAG_PIPELINE))
                    if all(r.tags.get(k) == v for k, v in filters.items())]
        except ExpenvError as exc:
            command = types.Command(title=f"MLflow: {exc}"[:120], command="expenv.status", arguments=[{}])
        else:
            if not runs:
                command = types.Command(title="MLflow: no runs yet", command="expenv.tracking.runs",
                                        arguments=[{"workspace": str(ws.root)}])
            else:
                latest = runs[0]
                title = f"MLflow: {latest.status.lower()} · {_key_metric(latest.metrics)}{_ago(latest.start_time)}"
                command = types.Command(title=title, command="expenv.tracking.open",
                                        arguments=[{"run_id": latest.run_id, "workspace": str(ws.root)}])
        cache[key] = (time.monotonic(), command)
        return command

    @server.feature(types.TEXT_DOCUMENT_CODE_LENS)
    async def code_lens(ls: ExpenvLanguageServer, params: types.CodeLensParams) -> list[types.CodeLens] | None:
        # pygls takes one handler per method: other features' lenses come from ls.lens_providers.
        uri = params.text_document.uri
        lenses = [lens for provider in ls.lens_providers for lens in provider(ls, uri)]
        return (lenses + (await tracking_lens(ls, uri) or [])) or None

    async def tracking_lens(ls: ExpenvLanguageServer, uri: str) -> list[types.CodeLens] | None:
        ws = ls.workspace_for_uri(uri)
        if ws is None or ws.services is None:
            return None
        line = _anchor_line(ls.workspace.get_text_document(uri).source)
        if line is None:
            return None
        notebook = ls.workspace.get_notebook_document(cell_uri=uri)
        if notebook is not None:
            filters = {TAG_RUNNER: "notebook"}
        else:
            path = to_fs_path(uri)
            filters = {TAG_PIPELINE: Path(path).resolve().relative_to(ws.root).as_posix()} if path else {}
        command = await ls.run_blocking(lens_command, ws, filters)
        position = types.Position(line=line, character=0)
        return [types.CodeLens(range=types.Range(start=position, end=position), command=command)]
