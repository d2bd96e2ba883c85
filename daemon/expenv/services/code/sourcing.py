"""Direct reads of raw or curated data in a document, decided from the code alone.

The sourcing policy must give the same verdict in a CI clone (no data, no warehouse) as on a
machine holding all the data, so nothing here opens a data file or the warehouse. A read is what
the code names:

- raw: a path or fsspec URL lexically under a configured raw root (not the root itself) naming a
  data file (parquet, csv, json), a folder (a dataset, a hive `key=value` partition) or a glob,
  whether it exists or not; written as a literal, or built from literals and module-level
  constants (`Path(RAW) / "x.parquet"`, `os.path.join(RAW, "x.csv")`, `f"{RAW}/x"`);
- curated: a table name qualified by a curated schema (`curated.customers`, alone or in SQL
  text), or any table read through a connection opened on the curated URL or its DuckDB file
  (`con = duckdb.connect("data/warehouse.duckdb")`, then `con.sql("select * from t")`).

A read built from parts is reported on the whole expression; a constant naming a dataset is
reported where it is defined. Relative paths are taken from the workspace root, where pipelines
run. Positions are 0-based characters, as in `DataRead`.
"""

from __future__ import annotations

import ast
import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from expenv.domain.data import Layer
from expenv.services.code.constants import UNKNOWN, ConstantText, dotted
from expenv.services.code.reads import DataRead
from expenv.services.code.sql import SqlRef, looks_like_sql, sql_references
from expenv.services.code.strings import StringLiteral, ast_column, blank_magics, node_span, string_literals
from expenv.services.data.paths import RawRoot, RawRoots, format_of, has_glob, looks_like_path, split_url

DEFAULT_SCHEMAS = ("curated",)
CONNECT_CALLS = {"connect", "create_engine", "create_async_engine"}
CONNECT_TARGETS = ("database", "url", "dsn", "conninfo", "name_or_url")
DERIVED_CONNECTIONS = {"connect", "cursor", "begin", "duplicate", "raw_connection"}
SQL_METHODS = {"sql", "execute", "executemany", "query", "exec_driver_sql", "from_query"}
TABLE_METHODS = {"table", "view"}
READ_SQL_CALLS = {"read_sql", "read_sql_query", "read_database"}
READ_TABLE_CALLS = {"read_sql_table"}
CONNECTION_KEYWORDS = ("con", "conn", "connection")
_PART = r'(?:"[A-Za-z0-9_$ \-]+"|[A-Za-z_][A-Za-z0-9_$]*)'
_QUALIFIED = re.compile(rf"^\s*(?:{_PART}\s*\.\s*)?({_PART})\s*\.\s*{_PART}\s*$")
FILE_SUFFIXES = {"py", "ipynb", "md", "txt", "toml", "yaml", "yml", "json", "csv", "parquet", "sql", "log", "cfg"}
_CTE = re.compile(r'(?:\bwith\s+(?:recursive\s+)?|,\s*)"?([A-Za-z_][\w$]*)"?\s+as\s*(?:not\s+)?(?:materialized\s+)?\(',
                  re.IGNORECASE)

Span = tuple[int, int, int, int]


@dataclass(frozen=True)
class SourcingRules:
    """What counts as raw or curated data in one workspace's code."""

    roots: RawRoots
    schemas: frozenset[str] = frozenset(DEFAULT_SCHEMAS)  # curated schemas, lower case
    curated_url: str | None = None
    warehouse_file: str | None = None  # the DuckDB file of the curated URL (absolute, normalised)

    @classmethod
    def build(cls, workspace: Path, raw_roots, curated_url: str | None, schemas) -> SourcingRules:
        from expenv.domain.errors import DataError
        from expenv.services.data.duckdb_warehouse import duckdb_path

        warehouse = None
        if curated_url and curated_url.lower().startswith("duckdb://"):
            try:
                warehouse = os.path.normpath(duckdb_path(curated_url, Path(workspace).resolve()))
            except DataError:
                pass  # a malformed URL: the config's own diagnostics say so
        return cls(RawRoots(workspace, tuple(raw_roots)), frozenset(s.lower() for s in schemas),
                   curated_url.strip() if curated_url else None, warehouse)

    def raw_root(self, text: str) -> RawRoot | None:
        """The root a path or URL lies under, lexically (nothing is opened); None outside them."""
        url = split_url(text)
        if url is not None and url[0] != "file":
            protocol, rest = url
            path = posixpath.normpath("/" + rest.split("?", 1)[0]).strip("/")
            return next((r for r in self.roots.roots if r.protocol == protocol and r.contains(path)
                         and path != r.path), None)
        local = os.path.normpath(os.path.join(self.roots.workspace, url[1] if url else text))
        return next((r for r in self.roots.roots if not r.is_remote and r.contains(local) and local != r.path), None)

    def shown(self, path: str) -> str:
        """A path built from `__file__` as the user would write it: workspace-relative."""
        if not os.path.isabs(path):
            return path
        relative = os.path.relpath(os.path.normpath(path), self.roots.workspace)
        return path if relative.startswith("..") else Path(relative).as_posix()

    def is_raw(self, text: str) -> bool:
        """A dataset under a raw root: a data file, a folder (dataset or partition) or a glob."""
        if not text or "\n" in text or "\x00" in text or not looks_like_path(text):
            return False
        last = text.rstrip("/").rsplit("/", 1)[-1]
        named = has_glob(text) or format_of(last) or "=" in last or not posixpath.splitext(last)[1]
        return bool(named) and self.raw_root(text) is not None

    def is_curated(self, name: str) -> bool:
        """A table name qualified by a curated schema (`schema.table` or `catalog.schema.table`)."""
        match = _QUALIFIED.match(name)
        if match is None or name.rsplit(".", 1)[-1].strip().lower() in FILE_SUFFIXES:
            return False
        return match.group(1).strip('"').lower() in self.schemas

    def opens_warehouse(self, target: str) -> bool:
        """Whether a connection's target (a URL or a DuckDB file path) is the curated warehouse."""
        target = target.strip()
        if self.curated_url and target == self.curated_url:
            return True
        if self.warehouse_file is None or "://" in target or not target or target == ":memory:":
            return False
        return os.path.normpath(os.path.join(self.roots.workspace, target)) == self.warehouse_file


def direct_reads(source: str, rules: SourcingRules, path: str | Path | None = None) -> list[DataRead]:
    """Every raw or curated read in `source` (a file or a notebook cell), in document order.
    `path`: the file's absolute path, for paths built from `__file__`."""
    return _Document(source, rules, str(path) if path else None).reads()


def _cte_names(sql: str) -> set[str]:
    return {m.group(1).lower() for m in _CTE.finditer(sql)}


@dataclass
class _Document:
    source: str
    rules: SourcingRules
    path: str | None = None
    found: dict[Span, DataRead] = field(default_factory=dict)

    def __post_init__(self):
        self.lines = self.source.split("\n")
        self.literals = string_literals(self.source)
        try:
            self.tree: ast.Module | None = ast.parse(blank_magics(self.source))
        except (SyntaxError, ValueError):
            self.tree = None  # half-typed code: the literals still count
        self.values = ConstantText(self.tree, self.path)
        self.by_node = {(lit.line + 1, ast_column(self.lines, lit)): lit for lit in self.literals}
        self.built: list[Span] = []

    def reads(self) -> list[DataRead]:
        if self.tree is not None:
            self._built_reads()
            self._connection_reads()
        for lit in self.literals:
            if not lit.is_fstring and not any(_inside(lit_span(lit), span) for span in self.built):
                self._literal_reads(lit)
        return sorted(self.found.values(), key=lambda r: (r.line, r.start, r.end_line, r.end))

    def _add(self, layer: Layer, dataset: str, span: Span, call: str | None) -> None:
        self.found.setdefault(span, DataRead(layer, dataset, dataset, call, *span))

    # ---- literals ------------------------------------------------------------------------------

    def _literal_reads(self, lit: StringLiteral, through_connection: bool = False, call: str | None = None) -> None:
        call = call or lit.call
        if looks_like_sql(lit.value):
            for ref in self._sql_refs(lit.value, through_connection):
                (l1, c1), (l2, c2) = lit.position_at(ref.start), lit.position_at(ref.end)
                self._add(Layer.RAW if ref.kind == "path" else Layer.CURATED, ref.value, (l1, c1, l2, c2), call)
        elif self.rules.is_raw(lit.value):
            self._add(Layer.RAW, lit.value, lit_span(lit), call)
        elif self.rules.is_curated(lit.value):
            self._add(Layer.CURATED, lit.value, lit_span(lit), call)

    def _sql_refs(self, sql: str, through_connection: bool, skip: set[str] = frozenset()) -> list[SqlRef]:
        """The references in SQL text that are reads: raw paths and curated tables; when the SQL
        goes to the warehouse, every table but its CTEs and table functions (`range(...)`)."""
        ctes = _cte_names(sql) if through_connection else set()
        out = []
        for ref in sql_references(sql):
            if ref.value in skip:
                continue
            if ref.kind == "path":
                read = self.rules.is_raw(ref.value)
            else:
                read = self.rules.is_curated(ref.value) or (through_connection and (
                    "." in ref.value or (ref.value.lower() not in ctes and not sql[ref.end:].lstrip().startswith("("))))
            if read:
                out.append(ref)
        return out

    # ---- paths and names built from constants --------------------------------------------------

    def _built_reads(self) -> None:
        """Reads named by an expression built from parts: reported on the outermost expression
        that names something none of its parts names already."""
        parents = {id(child): node for node in ast.walk(self.tree) for child in ast.iter_child_nodes(node)}
        stack: list[ast.AST] = [self.tree]
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.BinOp, ast.Call, ast.JoinedStr)) and self._built_read(node, parents):
                continue
            stack.extend(ast.iter_child_nodes(node))

    def _built_read(self, node: ast.expr, parents: dict[int, ast.AST]) -> bool:
        parts: set[str] = set()
        value = self.values.text(node, parts)
        if value is None or value in parts:
            return False
        span, call = node_span(node, self.lines), _enclosing_call(node, parents)
        known = UNKNOWN not in value
        if known and self.rules.is_raw(value) and posixpath.normpath(value) not in {posixpath.normpath(p) for p in parts}:
            self._add(Layer.RAW, self.rules.shown(value), span, call)
        elif known and self.rules.is_curated(value):
            self._add(Layer.CURATED, value, span, call)
        elif looks_like_sql(value) and (refs := self._sql_refs(value, False, parts)):
            # one finding per expression: the parts of a built string have no positions of their own
            self._add(Layer.RAW if refs[0].kind == "path" else Layer.CURATED, refs[0].value, span, call)
        else:
            return False
        self.built.append(span)
        return True

    # ---- reads through a connection to the warehouse -------------------------------------------

    def _connection_names(self) -> set[str]:
        names: set[str] = set()
        for _ in range(4):  # `engine = create_engine(URL)`, then `conn = engine.connect()`, ...
            before = len(names)
            for node in ast.walk(self.tree):
                bound: list[tuple[ast.expr | None, ast.AST | None]] = []
                if isinstance(node, ast.Assign):
                    bound = [(node.value, t) for t in node.targets]
                elif isinstance(node, ast.AnnAssign):
                    bound = [(node.value, node.target)]
                elif isinstance(node, (ast.With, ast.AsyncWith)):
                    bound = [(item.context_expr, item.optional_vars) for item in node.items]
                names |= {t.id for v, t in bound if isinstance(t, ast.Name) and self._is_connection(v, names)}
            if len(names) == before:
                return names
        return names

    def _is_connection(self, node: ast.AST | None, names: set[str]) -> bool:
        if isinstance(node, ast.Name):
            return node.id in names
        if not isinstance(node, ast.Call):
            return False
        if isinstance(node.func, ast.Attribute) and node.func.attr in DERIVED_CONNECTIONS and \
                self._is_connection(node.func.value, names):
            return True
        if dotted(node.func).rsplit(".", 1)[-1] not in CONNECT_CALLS:
            return False
        target = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg in CONNECT_TARGETS), None)
        value = self.values.text(target, set())
        return value is not None and UNKNOWN not in value and self.rules.opens_warehouse(value)

    def _connection_reads(self) -> None:
        names = self._connection_names()
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Call):
                continue
            func, call = node.func, dotted(node.func) or None
            first = node.args[0] if node.args else None
            if isinstance(func, ast.Attribute) and self._is_connection(func.value, names):
                if func.attr in SQL_METHODS:
                    self._warehouse_sql(first or _keyword(node, "query", "sql"), call)
                elif func.attr in TABLE_METHODS:
                    self._warehouse_table(first or _keyword(node, "table_name", "name"), call)
                continue
            last = (call or "").rsplit(".", 1)[-1]
            if last not in READ_SQL_CALLS | READ_TABLE_CALLS:
                continue
            via = node.args[1:2] + [k.value for k in node.keywords if k.arg in CONNECTION_KEYWORDS]
            if any(self._is_connection(v, names) for v in via):
                if last in READ_TABLE_CALLS:
                    self._warehouse_table(first or _keyword(node, "table_name"), call)
                else:
                    self._warehouse_sql(first or _keyword(node, "sql", "query"), call)

    def _definition(self, node: ast.AST | None, depth: int = 0) -> ast.AST | None:
        """A module constant's value for its name (so a read is reported where it is defined)."""
        while isinstance(node, ast.Name) and node.id in self.values.constants and depth < 24:
            node, depth = self.values.constants[node.id], depth + 1
        if isinstance(node, ast.Call) and dotted(node.func).rsplit(".", 1)[-1] == "text" and len(node.args) == 1:
            return self._definition(node.args[0], depth + 1)  # sqlalchemy.text(SQL)
        return node

    def _warehouse_sql(self, node: ast.AST | None, call: str | None) -> None:
        node = self._definition(node)
        lit = self.by_node.get((node.lineno, node.col_offset)) if isinstance(node, ast.Constant) else None
        if lit is not None:
            self._literal_reads(lit, through_connection=True, call=call)
            return
        if not isinstance(node, ast.expr):
            return
        parts: set[str] = set()
        value = self.values.text(node, parts)
        if value is None:
            return
        skip = {p for p in parts if self.rules.is_curated(p) or self.rules.is_raw(p)}  # found where defined
        refs = self._sql_refs(value, True, skip) if looks_like_sql(value) else []
        if refs:
            self._add(Layer.RAW if refs[0].kind == "path" else Layer.CURATED, refs[0].value,
                      node_span(node, self.lines), call)

    def _warehouse_table(self, node: ast.AST | None, call: str | None) -> None:
        node = self._definition(node)
        value = self.values.text(node, set()) if isinstance(node, ast.expr) else None
        if value is None or UNKNOWN in value or not value.strip():
            return
        lit = self.by_node.get((node.lineno, node.col_offset)) if isinstance(node, ast.Constant) else None
        self._add(Layer.CURATED, value, lit_span(lit) if lit else node_span(node, self.lines), call)


def lit_span(lit: StringLiteral) -> Span:
    return lit.line, lit.start, lit.end_line, lit.end


def _inside(inner: Span, outer: Span) -> bool:
    return (outer[0], outer[1]) <= (inner[0], inner[1]) and (inner[2], inner[3]) <= (outer[2], outer[3])


def _keyword(node: ast.Call, *names: str) -> ast.expr | None:
    return next((k.value for k in node.keywords if k.arg in names), None)


def _enclosing_call(node: ast.AST, parents: dict[int, ast.AST]) -> str | None:
    parent = parents.get(id(node))
    if isinstance(parent, ast.keyword):
        parent = parents.get(id(parent))
    return (dotted(parent.func) or None) if isinstance(parent, ast.Call) and parent.func is not node else None
