"""Where each Feast object of a repo is defined in Python, found with `ast` (Feast's registry does
not record it): `FeatureView(name="...")` calls, `@on_demand_feature_view` functions, and the
like. Files are read like `feast apply` reads them, and each file's result is cached by mtime.
"""

from __future__ import annotations

import ast
import fnmatch
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from expenv.domain.features import SourceLocation

# Constructor or decorator name -> object group. Groups: view, service, entity, source.
CONSTRUCTORS = {
    "FeatureView": "view", "BatchFeatureView": "view", "StreamFeatureView": "view",
    "OnDemandFeatureView": "view", "LabelView": "view",
    "FeatureService": "service", "Entity": "entity",
}
DECORATORS = {"on_demand_feature_view": "view", "stream_feature_view": "view", "batch_feature_view": "view"}
SKIPPED_DIRS = {".git", ".venv", "venv", "__pycache__", ".ipynb_checkpoints", ".pytest_cache", "node_modules"}


@dataclass(frozen=True)
class Definition:
    group: str  # view | service | entity | source
    name: str
    location: SourceLocation
    variable: str | None = None  # the module-level name it is assigned to, if any


def repo_python_files(repo: Path) -> list[Path]:
    """The .py files `feast apply` imports: all but __init__.py, caches and .feastignore'd paths."""
    ignored = _feastignore(repo)
    files = []
    for folder, dirs, names in os.walk(repo):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(names):
            if not name.endswith(".py") or name == "__init__.py":
                continue
            path = Path(folder) / name
            rel = path.relative_to(repo).as_posix()
            if any(fnmatch.fnmatch(rel, pat) or rel.startswith(pat.rstrip("/") + "/") for pat in ignored):
                continue
            files.append(path)
    return files


def _feastignore(repo: Path) -> list[str]:
    try:
        text = (repo / ".feastignore").read_text(encoding="utf-8")
    except OSError:
        return []
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


def _callee_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _string_value(node: ast.expr | None, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def definitions_in(path: Path, source: str) -> list[Definition]:
    """Feast object definitions in one file (none when it does not parse)."""
    try:
        tree = ast.parse(source, filename=str(path))
    except (SyntaxError, ValueError):
        return []
    constants = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
                 and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
                 for t in n.targets if isinstance(t, ast.Name)}
    variables: dict[int, str] = {}
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Call):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if isinstance(targets[0], ast.Name):
                variables[id(node.value)] = targets[0].id
    found: list[Definition] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            callee = _callee_name(node.func)
            group = CONSTRUCTORS.get(callee or "") or ("source" if callee and callee.endswith("Source") else None)
            if group is None:
                continue
            name = _string_value(_keyword(node, "name"), constants)
            if name is None and node.args and group in ("entity", "source", "service"):
                name = _string_value(node.args[0], constants)
            if name:
                found.append(Definition(group, name, SourceLocation(str(path), node.lineno, node.col_offset + 1),
                                        variables.get(id(node))))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for deco in node.decorator_list:
                group = DECORATORS.get(_callee_name(deco) or "")
                if group is None:
                    continue
                given = _string_value(_keyword(deco, "name"), constants) if isinstance(deco, ast.Call) else None
                found.append(Definition(group, given or node.name,
                                        SourceLocation(str(path), node.lineno, node.col_offset + 1), node.name))
    return found


class DefinitionIndex:
    """Definitions of every Feast object in a repo; a file is re-read only when it changed."""

    def __init__(self, repo: Path):
        self.repo = repo
        self._files: dict[Path, tuple[tuple[int, int], list[Definition]]] = {}
        self._lock = threading.Lock()

    def all(self) -> list[Definition]:
        out: list[Definition] = []
        with self._lock:
            current = repo_python_files(self.repo) if self.repo.is_dir() else []
            for stale in set(self._files) - set(current):
                del self._files[stale]
            for path in current:
                try:
                    st = path.stat()
                except OSError:
                    continue
                stamp = (st.st_mtime_ns, st.st_size)
                cached = self._files.get(path)
                if cached is None or cached[0] != stamp:
                    try:
                        source = path.read_text(encoding="utf-8")
                    except (OSError, UnicodeDecodeError):
                        source = ""
                    cached = self._files[path] = (stamp, definitions_in(path, source))
                out.extend(cached[1])
        return out

    def find(self, name: str, group: str | None = None) -> Definition | None:
        """The definition of `name` (in `group` if given); the first one when a name is defined twice."""
        for d in self.all():
            if d.name == name and (group is None or d.group == group):
                return d
        return None

    def by_group(self) -> dict[tuple[str, str], Definition]:
        out: dict[tuple[str, str], Definition] = {}
        for d in self.all():
            out.setdefault((d.group, d.name), d)
        return out
