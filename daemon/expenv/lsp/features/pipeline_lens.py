"""Code lenses that submit pipelines (served through `textDocument/codeLens`, see tracking_lens):
"Submit pipeline NAME on TARGET" on each `[pipelines.NAME]` of expenv.toml, and "Run this
notebook as a pipeline step on TARGET" on a notebook's first cell."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from lsprotocol import types
from pygls.uris import to_fs_path

from expenv.domain.config import CONFIG_FILENAME
from expenv.domain.pipelines import pipeline_of_notebook
from expenv.lsp.server import ExpenvLanguageServer


def _lens(line: int, title: str, command: str, options: dict) -> types.CodeLens:
    position = types.Position(line=max(line, 0), character=0)
    return types.CodeLens(range=types.Range(start=position, end=position),
                          command=types.Command(title=title, command=command, arguments=[options]))


def _relative(path: str, root: Path) -> str | None:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def pipeline_lenses(ls: ExpenvLanguageServer, uri: str) -> list[types.CodeLens]:
    ws = ls.workspace_for_uri(uri)
    if ws is None or ws.config is None or not ws.config.targets:
        return []
    notebook = ls.workspace.get_notebook_document(cell_uri=uri)
    if notebook is not None:
        if not notebook.cells or unquote(notebook.cells[0].document) != unquote(uri):
            return []
        path = to_fs_path(notebook.uri)
        if not path:
            return []
        rel = _relative(path, ws.root)
        owner = pipeline_of_notebook(ws.config.pipelines, rel) if rel else None
        alone = [_lens(0, f"Run this notebook as a pipeline step on {t}", "expenv.pipelines.runNotebook",
                       {"notebook": path, "target": t, "workspace": str(ws.root), "alone": True})
                 for t in ws.config.targets]
        return alone + [_lens(0, f"Run pipeline {owner} (this notebook is a step of it) on {t}",
                              "expenv.pipelines.submit", {"pipeline": owner, "target": t, "workspace": str(ws.root)})
                        for t in ws.config.targets if owner]
    path = to_fs_path(uri)
    if not path or Path(path).name != CONFIG_FILENAME or Path(path).resolve().parent != ws.root:
        return []
    return [_lens(spec.line - 1, f"Submit pipeline {name} on {t}", "expenv.pipelines.submit",
                  {"pipeline": name, "target": t, "workspace": str(ws.root)})
            for name, spec in ws.config.pipelines.items() for t in ws.config.targets]


def register(server: ExpenvLanguageServer) -> None:
    server.lens_providers.append(pipeline_lenses)
