"""Feature references and feature service names in code: what the editor hovers, completes,
checks and finds references of. Positions are 0-based, like `DataRead`.

A literal counts as a feature reference when it has the `view:feature` shape and either sits in
the feature list of `get_historical_features`/`get_online_features` (then an unknown view or
feature is a problem) or names a known view (then only an unknown feature is). A literal is a
feature service name when it is the argument of `get_feature_service(...)`, or when it equals a
known service's name.
"""

from __future__ import annotations

import ast
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from expenv.domain.features import FeatureRef
from expenv.services.code.strings import (
    StringLiteral,
    ast_column,
    blank_magics,
    open_string_before,
    string_literals,
)

FEATURE_CALLS = ("get_historical_features", "get_online_features")
SERVICE_CALLS = ("get_feature_service",)
VIEW_CALLS = ("get_feature_view", "get_on_demand_feature_view", "get_stream_feature_view")
_REF = re.compile(r"^[A-Za-z_][\w\-]*:[A-Za-z_][\w\-]*$")
SKIPPED_DIRS = {".git", ".venv", "venv", "__pycache__", ".ipynb_checkpoints", ".expenv", "node_modules",
                "site-packages", "data"}


@dataclass(frozen=True)
class FeatureMention:
    kind: str  # feature_ref | feature_service | feature_view
    text: str
    line: int
    start: int
    end_line: int
    end: int
    in_feature_call: bool = False  # inside a retrieval's feature list / a get_* call

    @property
    def ref(self) -> FeatureRef | None:
        return FeatureRef.parse(self.text) if self.kind == "feature_ref" else None

    def contains(self, line: int, character: int) -> bool:
        return (self.line, self.start) <= (line, character) <= (self.end_line, self.end)


@dataclass(frozen=True)
class MentionProblem:
    mention: FeatureMention
    message: str


@dataclass(frozen=True)
class ReferenceLocation:
    path: str
    cell: int | None  # notebook cell index (code cells counted with the others), None for .py
    line: int
    start: int
    end_line: int
    end: int
    text: str


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _contexts(source: str) -> dict[tuple[int, int], str]:
    """(1-based line, byte column) of string constants inside feature-store calls -> call kind."""
    try:
        tree = ast.parse(blank_magics(source))
    except (SyntaxError, ValueError):
        return {}
    out: dict[tuple[int, int], str] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if name in FEATURE_CALLS:
            targets = [kw.value for kw in node.keywords if kw.arg == "features"] or node.args[1:2]
            kind = "feature_ref"
        elif name in SERVICE_CALLS + VIEW_CALLS:
            targets = [kw.value for kw in node.keywords if kw.arg == "name"] or node.args[:1]
            kind = "feature_service" if name in SERVICE_CALLS else "feature_view"
        else:
            continue
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    out[(sub.lineno, sub.col_offset)] = kind
    return out


def feature_mentions(source: str, catalog=None) -> list[FeatureMention]:
    """Feature references and service/view names in `source` (a file or a notebook cell).
    With a catalog, literals equal to a known service or `view:feature` of a known view count too."""
    contexts = _contexts(source)
    lines = source.split("\n")
    out = []
    for lit in string_literals(source):
        if lit.is_fstring or "\n" in lit.value:
            continue
        kind = contexts.get((lit.line + 1, ast_column(lines, lit)))
        value = lit.value
        if kind == "feature_ref" and _REF.match(value):
            out.append(_mention("feature_ref", lit, True))
        elif kind in ("feature_service", "feature_view"):
            out.append(_mention(kind, lit, True))
        elif kind is None and catalog is not None:
            if _REF.match(value) and value.split(":", 1)[0] in catalog.views:
                out.append(_mention("feature_ref", lit, False))
            elif value in catalog.services:
                out.append(_mention("feature_service", lit, False))
    return out


def _mention(kind: str, lit: StringLiteral, in_call: bool) -> FeatureMention:
    return FeatureMention(kind, lit.value, lit.line, lit.start, lit.end_line, lit.end, in_call)


def mention_at(source: str, line: int, character: int, catalog=None) -> FeatureMention | None:
    for m in feature_mentions(source, catalog):
        if m.contains(line, character):
            return m
    return None


def mention_problems(source: str, catalog) -> list[MentionProblem]:
    """Unknown feature views, features and services named in `source`."""
    problems = []
    for m in feature_mentions(source, catalog):
        if m.kind == "feature_ref":
            ref = m.ref
            view = catalog.views.get(ref.view) if ref else None
            if view is None:
                if m.in_feature_call:
                    problems.append(MentionProblem(m, f"unknown feature view {ref.view!r} in the registry of "
                                                      f"project {catalog.project}"))
            elif view.field_named(ref.feature) is None:
                known = ", ".join(f.name for f in view.features[:12])
                problems.append(MentionProblem(m, f"feature view {view.name} has no feature {ref.feature!r} "
                                                  f"(it has {known})"))
        elif m.kind == "feature_service" and m.text not in catalog.services:
            problems.append(MentionProblem(m, f"unknown feature service {m.text!r} in the registry of project "
                                              f"{catalog.project}"))
        elif m.kind == "feature_view" and m.text not in catalog.views:
            problems.append(MentionProblem(m, f"unknown feature view {m.text!r}"))
    return problems


def completions(catalog, prefix: str, kind: str = "feature_ref") -> list[tuple[str, str]]:
    """(label, detail) candidates for what is typed so far inside a string: `view:` lists that
    view's features; otherwise views (as `view:`) and, for kind feature_service, service names."""
    if kind == "feature_service":
        return [(s.name, f"feature service, {len(s.features)} features") for s in catalog.services.values()
                if s.name.startswith(prefix)]
    if ":" in prefix:
        view_name, _, partial = prefix.partition(":")
        view = catalog.views.get(view_name)
        return [(f"{view.name}:{f.name}", f"{f.dtype} · {view.kind} view") for f in view.features
                if f.name.startswith(partial)] if view else []
    return [(f"{v.name}:", f"{v.kind} feature view, {len(v.features)} features") for v in catalog.views.values()
            if v.name.startswith(prefix)]


# Calls and keywords whose string arguments name features (looked for in the lines before the cursor).
_COMPLETION_HINTS = (*FEATURE_CALLS, "features=", *SERVICE_CALLS, "feature_service")
_CONTEXT_LINES = 5


@dataclass(frozen=True)
class CompletionContext:
    """What is being typed at the cursor: the open string's start column, its text so far, and
    whether it names a feature reference or a feature service."""

    start: int
    typed: str
    kind: str  # feature_ref | feature_service


def completion_context(source: str, line: int, character: int) -> CompletionContext | None:
    """The feature string being typed at a 0-based position, when a retrieval call or a feature
    list sits within the few lines before it; else None (not ours to complete)."""
    lines = source.split("\n")
    line_text = lines[line][:character] if line < len(lines) else ""
    opened = open_string_before(line_text)
    if opened is None:
        return None
    start, typed = opened
    head = "\n".join(lines[max(0, line - _CONTEXT_LINES): line]) + line_text[:start]
    if not any(hint in head for hint in _COMPLETION_HINTS):
        return None
    service = "get_feature_service" in head[-200:] or "feature_service" in head[-80:]
    return CompletionContext(start, typed, "feature_service" if service else "feature_ref")


# ---- find references across the workspace -----------------------------------------------------


def _workspace_files(root: Path):
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(names):
            if name.endswith((".py", ".ipynb")):
                yield Path(folder) / name


def _cells(path: Path) -> list[tuple[int | None, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    if path.suffix != ".ipynb":
        return [(None, text)]
    try:
        cells = json.loads(text).get("cells", [])
    except (ValueError, AttributeError):
        return []
    out = []
    for i, cell in enumerate(cells):
        if cell.get("cell_type") == "code":
            src = cell.get("source", "")
            out.append((i, "".join(src) if isinstance(src, list) else str(src)))
    return out


def references(root: Path, catalog, view: str, feature: str | None = None,
               open_texts: dict[Path, list[tuple[int | None, str]]] | None = None) -> list[ReferenceLocation]:
    """Every code and notebook cell literal in the workspace naming `view` (or `view:feature`),
    or, when `view` is a feature service, naming that service. `open_texts` holds the editor's
    unsaved text of open files (a path's cells: (index, text), index None for a .py file); it is
    read instead of the file on disk, and open files not saved yet are searched too."""
    out = []
    is_service = view in catalog.services and view not in catalog.views
    open_texts = {Path(p).resolve(): cells for p, cells in (open_texts or {}).items()}
    root = Path(root).resolve()
    on_disk = [path.resolve() for path in _workspace_files(root)]
    unsaved = sorted(set(open_texts) - set(on_disk), key=str)
    unsaved = [p for p in unsaved if p.is_relative_to(root)]
    for path in on_disk + unsaved:
        for cell, source in open_texts.get(path) or _cells(path):
            if view not in source:
                continue
            for m in feature_mentions(source, catalog):
                ref = m.ref
                hit = (m.kind == "feature_service" and m.text == view) if is_service else (
                    (ref is not None and ref.view == view and (feature is None or ref.feature == feature))
                    or (m.kind == "feature_view" and m.text == view and feature is None))
                if hit:
                    out.append(ReferenceLocation(str(path), cell, m.line, m.start, m.end_line, m.end, m.text))
    return out
