"""The curated layer: tables of the warehouse in `[data.curated] url`, read-only.

The backend is chosen by the URL's scheme, as MLflow picks a tracking store: `duckdb:///path`
opens a DuckDB file; any other `scheme://` goes to SQLAlchemy (PostgreSQL, MySQL, SQLite...);
`package.module:Class` (optionally followed by `?anything`) loads a third party's `Warehouse`,
constructed as `Class(url, workspace_root)`.

A name is checked against the catalog before anything else is asked of the warehouse, and only
catalog names (quoted) ever reach SQL. Catalog, schemas and small previews are cached: by the
file's (size, mtime) for DuckDB, for CATALOG_TTL seconds for a server.
"""

from __future__ import annotations

import importlib
import inspect
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from expenv.domain.data import Column, DatasetRef, DatasetSchema, Layer, Order, Preview, Profile
from expenv.domain.errors import DataError
from expenv.domain.secrets import redact
from expenv.services.data.cache import LruCache
from expenv.services.data.messages import shown
from expenv.services.data.sqlnames import TableName, parse_table_name
from expenv.services.interrupt import QueryInterrupt

CATALOG_TTL = 30.0
FAILURE_TTL = 15.0
PREVIEW_CACHE_MAX = 100
_PLUGIN = re.compile(r"^(?P<module>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):(?P<cls>[A-Za-z_]\w*)(?:\?.*)?$")


@dataclass(frozen=True)
class TableInfo:
    """What the catalog says about one table (no query of the table itself)."""

    schema: str
    name: str
    kind: str = "table"  # table | view


@dataclass(frozen=True)
class Catalog:
    tables: list[TableInfo]
    default_schema: str
    _index: dict[tuple[str, str], TableInfo] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        for t in self.tables:
            self._index.setdefault((t.schema, t.name), t)

    def lookup(self, name: TableName) -> TableInfo | None:
        """Exact for quoted parts; case-insensitive for plain ones (as DuckDB and PostgreSQL fold them)."""
        schema = name.schema if name.schema is not None else self.default_schema
        schema_quoted = name.schema_quoted if name.schema is not None else True
        exact = self._index.get((schema, name.table))
        if exact is not None:
            return exact
        matches = [t for t in self.tables
                   if (t.schema == schema if schema_quoted else t.schema.lower() == schema.lower())
                   and (t.name == name.table if name.table_quoted else t.name.lower() == name.table.lower())]
        return matches[0] if len(matches) == 1 else None


@dataclass(frozen=True)
class TableStats:
    columns: list[Column]
    row_count: int | None
    row_count_estimated: bool = False
    size_bytes: int | None = None


class Warehouse(Protocol):
    """What a warehouse backend answers. Names it receives come from its own catalog."""

    display: str  # the URL without credentials

    def fingerprint(self) -> Any:
        """Changes when the warehouse may have changed; None when unknowable (then a TTL applies)."""

    def catalog(self) -> Catalog: ...

    def stats(self, table: TableInfo) -> TableStats: ...

    def preview(self, table: TableInfo, limit: int, offset: int = 0,
                order: Order | None = None) -> tuple[list[str], list[list[Any]]]: ...

    def profile(self, ref: DatasetRef, table: TableInfo, stats: TableStats) -> Profile: ...


def open_warehouse(url: str, workspace: Path) -> Warehouse:
    """The backend for `url`, by scheme. Opening is lazy: nothing connects until first use."""
    plugin = _PLUGIN.match(url)
    if plugin and "://" not in url:
        try:
            cls = getattr(importlib.import_module(plugin["module"]), plugin["cls"])
        except (ImportError, AttributeError) as exc:
            raise DataError(f"[data.curated] url {shown(url)}: cannot load {plugin['module']}:{plugin['cls']} "
                            f"({exc})") from None
        return cls(url, workspace)
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "duckdb":
        from expenv.services.data.duckdb_warehouse import DuckDBWarehouse

        return DuckDBWarehouse(url, workspace)
    if scheme:
        from expenv.services.data.sql_warehouse import SqlAlchemyWarehouse

        return SqlAlchemyWarehouse(url, workspace)
    raise DataError(f"[data.curated] url {shown(redact(url) or '')} is not a URL (expected duckdb:///path, a "
                    "SQLAlchemy URL such as postgresql://host/db, or package.module:Class)")


class CuratedBackend:
    """Name resolution and caching over one Warehouse."""

    def __init__(self, url: str, workspace: Path):
        self.url = url
        self.workspace = workspace
        self._warehouse: Warehouse | None = None
        self._lock = threading.Lock()
        self._catalogs = LruCache(size=4, ttl=CATALOG_TTL)
        self._stats = LruCache(size=512, ttl=CATALOG_TTL)
        self._previews = LruCache(size=256, ttl=CATALOG_TTL)
        self._failure = LruCache(size=1, ttl=FAILURE_TTL)  # a server that is down is not asked again at once

    @property
    def warehouse(self) -> Warehouse:
        with self._lock:
            if self._warehouse is None:
                self._warehouse = open_warehouse(self.url, self.workspace)
            return self._warehouse

    def _version(self) -> Any:
        return self.warehouse.fingerprint()

    def catalog(self, quick: bool = False) -> Catalog:
        """The cached catalog. `quick` (for find) fails at once while a server failed moments ago;
        explicit requests always try again."""
        failed = self._failure.get("error") if quick else None
        if failed is not None:
            raise DataError(failed)
        version = self._version()
        try:
            return self._catalogs.get_or_compute(version, self.warehouse.catalog)
        except DataError as exc:
            if version is None:  # a server: do not make every hover wait for its timeout again
                self._failure.put("error", str(exc))
            raise

    def table(self, name: str, quick: bool = False) -> TableInfo:
        parsed = parse_table_name(name)
        found = self.catalog(quick).lookup(parsed)
        if found is None:
            where = f"schema {parsed.schema}" if parsed.schema else f"the default schema ({self.catalog().default_schema})"
            raise DataError(f"no table {shown(name)} in {where} of the warehouse {self.warehouse.display}")
        return found

    def find(self, text: str) -> DatasetRef | None:
        try:
            return self.ref(text, self.table(text, quick=True))
        except DataError:
            return None

    @staticmethod
    def ref(name: str, table: TableInfo) -> DatasetRef:
        return DatasetRef(Layer.CURATED, name, f"{table.schema}.{table.name}", "table")

    def stats(self, table: TableInfo) -> TableStats:
        return self._stats.get_or_compute((self._version(), table), lambda: self.warehouse.stats(table))

    def schema(self, name: str) -> DatasetSchema:
        table = self.table(name)
        stats = self.stats(table)
        return DatasetSchema(self.ref(name, table), list(stats.columns), stats.row_count, stats.size_bytes,
                             row_count_estimated=stats.row_count_estimated)

    def preview(self, name: str, limit: int, offset: int = 0, order: Order | None = None) -> Preview:
        table = self.table(name)
        sorting = {}
        if order is not None:
            if "order" not in inspect.signature(self.warehouse.preview).parameters:
                raise DataError(f"sort: the warehouse backend {type(self.warehouse).__name__} cannot sort a preview")
            sorting = {"order": order}
        if limit <= PREVIEW_CACHE_MAX:
            names, rows = self._previews.get_or_compute((self._version(), table, limit, offset, order),
                                                        lambda: self.warehouse.preview(table, limit, offset, **sorting))
        else:
            names, rows = self.warehouse.preview(table, limit, offset, **sorting)
        return Preview(self.ref(name, table), list(names), [list(r) for r in rows], limit, offset, order)

    def profile(self, name: str, progress: Callable[[str], None] | None = None,
                interrupt: QueryInterrupt | None = None) -> Profile:
        """A third party's warehouse without an `interrupt` parameter runs to its end when cancelled."""
        table = self.table(name)
        stats = self.stats(table)
        interrupt = interrupt or QueryInterrupt()
        # Checked before the progress says the query starts: a cancel after it reaches the query
        # (interrupting it, or stopping it as it starts), and the log says so.
        interrupt.check(f"profiling {name}")
        if progress is not None:
            rows = f"{stats.row_count:,} rows" if stats.row_count is not None else "rows"
            progress(f"profiling {name}: reading {rows}")
        if "interrupt" in inspect.signature(self.warehouse.profile).parameters:
            return self.warehouse.profile(self.ref(name, table), table, stats, interrupt=interrupt)
        return self.warehouse.profile(self.ref(name, table), table, stats)

    def tables(self) -> list[TableInfo]:
        return list(self.catalog().tables)

    def columns(self, name: str) -> list[Column]:
        return list(self.stats(self.table(name)).columns)
