"""Imports in a .py file or a notebook cell whose top-level module the production image lacks."""

from __future__ import annotations

import ast
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

from expenv.services.code.strings import blank_magics
from expenv.services.parity.snapshot import EnvironmentSnapshot



@dataclass(frozen=True)
class ImportFinding:
    """`import module` at (line, column) — 0-based — that the image does not provide."""

    module: str
    line: int
    column: int
    end_column: int
    distribution: str | None = None   # what provides it in the kernel, if anything
    version: str | None = None

    @property
    def requirement(self) -> str | None:
        return f"{self.distribution}=={self.version}" if self.distribution and self.version else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "requirement": self.requirement}


def unprovided_imports(source: str, image: EnvironmentSnapshot, kernel: EnvironmentSnapshot | None = None,
                       local_roots: Iterable[Path] = ()) -> list[ImportFinding]:
    """Top-level modules imported by `source` that are neither in the image (its distributions'
    modules, its standard library) nor local to the workspace (a module or package in one of
    `local_roots`). A file that does not parse gives no findings."""
    # IPython lines (%pip, !ls, %%time) are blanked, so line numbers stay right
    lines = blank_magics(source).split("\n")
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return []
    provided = set(image.modules) | set(image.stdlib) | {"__future__"}
    roots = [Path(r) for r in local_roots]
    findings = []
    for node in ast.walk(tree):
        names: list[tuple[str, ast.stmt]]
        if isinstance(node, ast.Import):
            names = [(alias.name, node) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [(node.module, node)]
        else:
            continue
        for dotted, where in names:
            top = dotted.split(".")[0]
            if top in provided or _is_local(top, roots):
                continue
            dist, version = _provider(top, kernel)
            column, end = _span(lines, where, dotted)
            findings.append(ImportFinding(top, where.lineno - 1, column, end, dist, version))
    return sorted(findings, key=lambda f: (f.line, f.column))


def _is_local(module: str, roots: list[Path]) -> bool:
    return any((root / f"{module}.py").is_file() or (root / module).is_dir() for root in roots)


def _provider(module: str, kernel: EnvironmentSnapshot | None) -> tuple[str | None, str | None]:
    if kernel is None:
        return None, None
    dists = kernel.modules.get(module) or []
    for dist in dists:
        if dist in kernel.packages:
            return kernel.names.get(dist, dist), kernel.packages[dist]
    return None, None


def _span(lines: list[str], node: ast.stmt, dotted: str) -> tuple[int, int]:
    """The module name's columns on the statement's first line (whole statement as fallback)."""
    text = lines[node.lineno - 1] if node.lineno - 1 < len(lines) else ""
    match = re.search(rf"\b{re.escape(dotted)}\b", text[node.col_offset:])
    if match:
        return node.col_offset + match.start(), node.col_offset + match.end()
    return node.col_offset, len(text)
