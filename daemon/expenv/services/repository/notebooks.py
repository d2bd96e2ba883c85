"""Notebooks in git: a committed notebook must have no outputs (the nbstripout filter strips them
as they are staged), and a notebook paired by jupytext (jupytext.toml) must match its text pair."""

from __future__ import annotations

import json
from pathlib import Path

from expenv.domain.status import NotebookFinding
from expenv.services.repository import git

SKIPPED_DIRS = {".git", ".venv", "venv", "__pycache__", ".ipynb_checkpoints", ".expenv", "node_modules"}


def check_notebooks(root: Path) -> list[NotebookFinding]:
    """Findings for the notebooks under `root`: the staged (committed) version of each tracked one
    for outputs, the working tree for pairs. Outside a git repository only pairs are checked."""
    root = Path(root).resolve()
    tracked = _tracked_notebooks(root)
    findings = [f for rel, blob in (tracked or {}).items() if (f := _outputs_finding(root, rel, blob))]
    notebooks = sorted(tracked) if tracked is not None else sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*.ipynb")
        if not SKIPPED_DIRS & set(p.relative_to(root).parts))
    for rel in notebooks:
        if (root / rel).is_file():
            findings += _pair_findings(root, rel)
    return findings


def _tracked_notebooks(root: Path) -> dict[str, str] | None:
    """Workspace-relative path → staged blob id of every tracked notebook; None outside a repo."""
    listed = git.run(root, "ls-files", "-s", "-z", "--", "*.ipynb", text=False)
    if listed.returncode != 0:
        return None
    out = {}
    for entry in listed.stdout.decode().split("\0"):
        if entry:
            meta, path = entry.split("\t", 1)
            out[path] = meta.split()[1]
    return out


def _outputs_finding(root: Path, rel: str, blob: str) -> NotebookFinding | None:
    content = git.run(root, "cat-file", "blob", blob, text=False)
    try:
        cells = json.loads(content.stdout).get("cells", [])
    except ValueError:
        return NotebookFinding(rel, "outputs", "the committed notebook is not valid JSON")
    dirty = [i + 1 for i, c in enumerate(cells) if c.get("outputs") or c.get("execution_count") is not None]
    if not dirty:
        return None
    return NotebookFinding(rel, "outputs", f"committed with outputs or execution counts in cell(s) "
                           f"{', '.join(map(str, dirty[:10]))}: run `make hooks` (the nbstripout filter) "
                           f"and stage it again, or `nbstripout {rel}`")


def _pair_findings(root: Path, rel: str) -> list[NotebookFinding]:
    import jupytext
    from jupytext.config import load_jupytext_config
    from jupytext.paired_paths import paired_paths

    path = root / rel
    config = load_jupytext_config(str(path))
    formats = config.default_formats(str(path)) if config else None
    if not formats:
        return []
    try:
        pairs = [(Path(p), fmt) for p, fmt in paired_paths(str(path), "ipynb", formats) if Path(p) != path]
    except Exception as exc:  # noqa: BLE001 - jupytext raises its own error types for bad formats
        return [NotebookFinding(rel, "unpaired", f"jupytext cannot pair it ({exc})")]
    notebook = _cells(jupytext.read(str(path)))
    findings = []
    for pair, fmt in pairs:
        shown = pair.relative_to(root).as_posix() if pair.is_relative_to(root) else str(pair)
        if not pair.is_file():
            findings.append(NotebookFinding(rel, "unpaired", f"its jupytext pair {shown} is missing: run "
                                            f"`jupytext --sync {rel}`"))
            continue
        text = _cells(jupytext.read(str(pair), fmt=fmt))
        if text != notebook:
            differ = next((i + 1 for i, (a, b) in enumerate(zip(notebook, text)) if a != b), min(len(notebook), len(text)) + 1)
            findings.append(NotebookFinding(rel, "out_of_sync", f"out of sync with its jupytext pair {shown} "
                                            f"from cell {differ}: run `jupytext --sync {rel}`"))
    return findings


def _cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]
