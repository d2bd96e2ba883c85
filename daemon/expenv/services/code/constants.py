"""The text a Python expression builds from literals and module-level constants, without running it.

`RAW / "x.parquet"`, `os.path.join(RAW, "x")`, `f"{RAW}/x"`, `Path(__file__).parents[1] / "data"`:
what the code names, whether or not the file is there. Used by the sourcing policy to see a read
built from parts the same way in a CI clone as on a machine holding the data.
"""

from __future__ import annotations

import ast
import posixpath
from functools import reduce

UNKNOWN = "{?}"  # an f-string part that is not built from constants (no identifier can match it)
PATH_CALLS = {"Path", "PurePath", "PosixPath", "PurePosixPath", "UPath"}  # callee's last name part
JOIN_CALLS = {"os.path.join", "posixpath.join", "path.join"}
SAME_CALLS = {"str", "os.fspath", "os.path.normpath", "os.path.abspath", "os.path.realpath", "posixpath.normpath"}
SAME_METHODS = {"as_posix", "resolve", "absolute"}
DIRNAME_CALLS = {"os.path.dirname", "posixpath.dirname"}
MAX_DEPTH = 24


def dotted(node: ast.AST) -> str:
    """`a.b.c` for a chain of attributes on a name; "" for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _join(left: str, right: str) -> str:
    if not left or right.startswith("/") or "://" in right:
        return right
    return left.rstrip("/") + "/" + right


def _parent(path: str, levels: int = 1) -> str:
    for _ in range(levels):
        path = posixpath.dirname(path.rstrip("/")) or path
    return path


def module_constants(tree: ast.Module) -> dict[str, ast.expr]:
    """Names assigned exactly once at module level -> their value."""
    values: dict[str, ast.expr | None] = {}
    for stmt in tree.body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(
            stmt, (ast.AnnAssign, ast.AugAssign)) else []
        for target in targets:
            if isinstance(target, ast.Name):
                once = isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None
                values[target.id] = stmt.value if once and target.id not in values else None
    return {name: value for name, value in values.items() if value is not None}


class ConstantText:
    """Evaluates expressions of one module. `file` is the module's absolute path (for `__file__`)."""

    def __init__(self, tree: ast.Module | None, file: str | None = None):
        self.constants = module_constants(tree) if tree is not None else {}
        self.file = file

    def text(self, node: ast.AST | None, parts: set[str], depth: int = 0) -> str | None:
        """The string or path `node` builds (UNKNOWN for f-string parts that are not constants);
        None when it is no such expression. `parts` collects the literals and constants used."""
        if node is None or depth > MAX_DEPTH:
            return None
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                parts.add(node.value)
                return node.value
            return None
        if isinstance(node, ast.Name):
            if node.id == "__file__":
                return self.file
            value = self.text(self.constants.get(node.id), set(), depth + 1)
            if value is not None:
                parts.add(value)
            return value
        if isinstance(node, ast.JoinedStr):
            out = []
            for piece in node.values:
                if isinstance(piece, ast.Constant):
                    out.append(str(piece.value))
                    continue
                plain = isinstance(piece, ast.FormattedValue) and piece.format_spec is None and piece.conversion in (-1, 115)
                value = self.text(piece.value, parts, depth + 1) if plain else None
                out.append(UNKNOWN if value is None else value)
            return "".join(out)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Div)):
            left, right = self.text(node.left, parts, depth + 1), self.text(node.right, parts, depth + 1)
            if left is None or right is None:
                return None
            return left + right if isinstance(node.op, ast.Add) else _join(left, right)
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            base = self.text(node.value, parts, depth + 1)
            return _parent(base) if base is not None else None
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "parents":
            base = self.text(node.value.value, parts, depth + 1)
            level = node.slice.value if isinstance(node.slice, ast.Constant) else None
            ok = base is not None and isinstance(level, int) and not isinstance(level, bool) and level >= 0
            return _parent(base, level + 1) if ok else None
        if isinstance(node, ast.Call) and not node.keywords:
            return self._call_text(node, parts, depth)
        return None

    def _call_text(self, node: ast.Call, parts: set[str], depth: int) -> str | None:
        name = dotted(node.func)
        if isinstance(node.func, ast.Attribute) and node.func.attr in SAME_METHODS | {"joinpath"}:
            base = self.text(node.func.value, parts, depth + 1)
            args = [self.text(a, parts, depth + 1) for a in node.args]
            if base is None or None in args or (args and node.func.attr != "joinpath"):
                return None
            return reduce(_join, args, base)
        args = [self.text(a, parts, depth + 1) for a in node.args]
        if not args or None in args:
            return None
        if name.rsplit(".", 1)[-1] in PATH_CALLS or name in JOIN_CALLS:
            return reduce(_join, args)
        if len(args) == 1 and name in DIRNAME_CALLS:
            return _parent(args[0])
        return args[0] if name in SAME_CALLS and len(args) == 1 else None
