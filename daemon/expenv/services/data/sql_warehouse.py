"""Any SQLAlchemy URL as the warehouse (PostgreSQL first; MySQL, SQLite and others through their dialect).

Sessions are read-only where the database can enforce it: PostgreSQL and MySQL get
`SET SESSION ... READ ONLY` on every new connection, SQLite files are opened with `mode=ro`.
Elsewhere expenv still only ever sends SELECTs and rolls every transaction back.

Row counts on PostgreSQL: exact `count(*)` for relations up to EXACT_COUNT_BELOW bytes on disk,
else the planner's estimate (`pg_class.reltuples`, kept by ANALYZE), flagged `row_count_estimated`.
Other dialects count exactly. Profiles pull at most SAMPLE_ROWS rows into DuckDB through Arrow
(PostgreSQL: a seeded TABLESAMPLE sized to about that: BERNOULLI, or SYSTEM pages past 20x that;
other dialects: the first SAMPLE_ROWS rows).
"""

from __future__ import annotations

import dataclasses
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from expenv.domain.data import Column, DatasetRef, Order, Profile
from expenv.domain.errors import DataError
from expenv.domain.secrets import redact
from expenv.services.data.curated import Catalog, TableInfo, TableStats
from expenv.services.data.jsonsafe import json_row
from expenv.services.data.messages import engine_message
from expenv.services.data.profile import SAMPLE_ROWS, profile_relation
from expenv.services.interrupt import QueryInterrupt

EXACT_COUNT_BELOW = 64 * 1024 * 1024
CONNECT_TIMEOUT = 5
STATEMENT_TIMEOUT_MS = 300_000
SYSTEM_SCHEMAS = {"information_schema", "pg_catalog", "pg_toast", "mysql", "performance_schema", "sys"}
_PG_SIZE = ("SELECT c.reltuples, pg_relation_size(c.oid), pg_total_relation_size(c.oid), c.relkind "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relname = :name")


class SqlAlchemyWarehouse:
    def __init__(self, url: str, workspace: Path):
        self.url = url
        self.workspace = Path(workspace)
        self.display = redact(url) or ""
        self._engine = None
        self._lock = threading.Lock()

    def fingerprint(self) -> Any:
        return None  # a server changes behind our back: the caller's TTL decides freshness

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def engine(self):
        with self._lock:
            if self._engine is None:
                self._engine = self._create_engine()
            return self._engine

    def _create_engine(self):
        import sqlalchemy as sa

        try:
            url = sa.engine.make_url(self.url)
        except sa.exc.ArgumentError:
            raise DataError(f"[data.curated] url {self.display} is not a valid SQLAlchemy URL") from None
        backend = url.get_backend_name()
        connect_args: dict[str, Any] = {}
        if backend == "postgresql":
            connect_args["connect_timeout"] = CONNECT_TIMEOUT
            if url.drivername == "postgresql" and not _importable("psycopg2") and _importable("psycopg"):
                url = url.set(drivername="postgresql+psycopg")  # the installed driver, not SQLAlchemy's default
        elif backend in ("mysql", "mariadb"):
            connect_args["connect_timeout"] = CONNECT_TIMEOUT
        elif backend == "sqlite" and url.database and url.database != ":memory:":
            path = Path(url.database) if Path(url.database).is_absolute() else self.workspace / url.database
            if not path.is_file():
                raise DataError(f"the warehouse {self.display} does not exist: create it, or fix [data.curated] url")
            url = url.set(database=f"file:{path}?mode=ro", query={**url.query, "uri": "true"})
        try:
            engine = sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True, pool_size=2,
                                      max_overflow=2, pool_recycle=600)
        except ImportError as exc:
            raise DataError(f"the warehouse {self.display} needs the Python driver {exc.name!r}, which is not "
                            "installed") from None
        except sa.exc.NoSuchModuleError:
            raise DataError(f"the warehouse {self.display}: SQLAlchemy has no dialect {url.drivername!r}") from None
        statements = {
            "postgresql": ["SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
                           f"SET SESSION statement_timeout = {STATEMENT_TIMEOUT_MS}"],
            "mysql": ["SET SESSION TRANSACTION READ ONLY"],
            "mariadb": ["SET SESSION TRANSACTION READ ONLY"],
        }.get(backend, [])
        if statements:
            @sa.event.listens_for(engine, "connect")
            def _read_only(dbapi_connection, _record):  # noqa: ANN001 - SQLAlchemy's event signature
                cursor = dbapi_connection.cursor()
                for statement in statements:
                    cursor.execute(statement)
                cursor.close()
                dbapi_connection.commit()  # a SESSION setting made inside a rolled-back transaction is undone
        return engine

    @contextmanager
    def connect(self):
        """A read-only connection, rolled back and returned to the pool on exit."""
        import sqlalchemy as sa

        try:
            conn = self.engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            raise DataError(f"cannot reach the warehouse {self.display}: "
                            f"{engine_message(getattr(exc, 'orig', None) or exc)}") from None
        try:
            yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise DataError(f"the warehouse {self.display}: {engine_message(getattr(exc, 'orig', None) or exc)}") \
                from None
        finally:
            try:
                conn.rollback()
                conn.close()
            except sa.exc.SQLAlchemyError:
                pass

    def catalog(self) -> Catalog:
        import sqlalchemy as sa

        with self.connect() as conn:
            inspector = sa.inspect(conn)
            default = inspector.default_schema_name or ""
            tables = []
            for schema in inspector.get_schema_names():
                if schema in SYSTEM_SCHEMAS or schema.startswith(("pg_temp", "pg_toast")):
                    continue
                tables += [TableInfo(schema, t, "table") for t in inspector.get_table_names(schema=schema)]
                tables += [TableInfo(schema, v, "view") for v in inspector.get_view_names(schema=schema)]
        return Catalog(sorted(tables, key=lambda t: (t.schema, t.name)), default)

    def _table(self, table: TableInfo):
        import sqlalchemy as sa

        return sa.table(table.name, schema=table.schema)

    def stats(self, table: TableInfo) -> TableStats:
        import sqlalchemy as sa

        with self.connect() as conn:
            dialect = conn.dialect
            columns = [Column(c["name"], _type_name(c["type"], dialect), bool(c.get("nullable", True)))
                       for c in sa.inspect(conn).get_columns(table.name, schema=table.schema)]
            count_query = sa.select(sa.func.count()).select_from(self._table(table))
            if dialect.name != "postgresql":
                count = conn.execute(count_query).scalar() if table.kind == "table" else None
                return TableStats(columns, count)
            row = conn.execute(sa.text(_PG_SIZE), {"schema": table.schema, "name": table.name}).first()
            if row is None or row[3] in ("v", "f"):
                return TableStats(columns, None)
            reltuples, relation_size, total_size, _kind = row
            if relation_size <= EXACT_COUNT_BELOW:
                return TableStats(columns, conn.execute(count_query).scalar(), False, total_size)
            if reltuples is not None and reltuples >= 0:
                return TableStats(columns, int(reltuples), True, total_size)
            return TableStats(columns, None, False, total_size)

    def preview(self, table: TableInfo, limit: int, offset: int = 0,
                order: Order | None = None) -> tuple[list[str], list[list[Any]]]:
        import sqlalchemy as sa

        query = sa.select(sa.text("*")).select_from(self._table(table))
        if order is not None:   # a column clause: quoted by the dialect, never SQL text
            column = sa.column(order.column)
            query = query.order_by((column.desc() if order.descending else column.asc()).nulls_last())
        with self.connect() as conn:
            result = conn.execute(query.limit(limit).offset(offset))
            return list(result.keys()), [json_row(r) for r in result.fetchall()]

    def profile(self, ref: DatasetRef, table: TableInfo, stats: TableStats,
                interrupt: QueryInterrupt | None = None) -> Profile:
        import duckdb

        interrupt = interrupt or QueryInterrupt()
        names, columns, fetched, complete = self._sample(table, stats, interrupt, f"profiling {ref.name}")
        arrow = _arrow_table(names, columns)
        con = duckdb.connect(":memory:")
        try:
            con.register("__expenv_src", arrow)
            with interrupt.stopping(con.interrupt, f"profiling {ref.name}"):
                profile = profile_relation(con, ref, "__expenv_src", row_count=fetched,
                                           types={c.name: c.type for c in stats.columns})
        finally:
            con.close()
        if complete:
            return profile
        total = stats.row_count if stats.row_count is not None else fetched
        return dataclasses.replace(profile, row_count=max(total, fetched), sampled=True, sample_rows=fetched,
                                   row_count_estimated=stats.row_count_estimated or stats.row_count is None)

    def _sample(self, table: TableInfo, stats: TableStats, interrupt: QueryInterrupt, what: str):
        """(names, columns, rows fetched, whether that is the whole table), at most SAMPLE_ROWS rows."""
        import sqlalchemy as sa

        source = self._table(table)
        estimate = stats.row_count
        block_sample = False
        with self.connect() as conn:
            if conn.dialect.name == "postgresql" and table.kind == "table" and estimate and estimate > SAMPLE_ROWS:
                block_sample = True
                percent = min(100.0, 100.0 * SAMPLE_ROWS * 1.2 / estimate)
                # SYSTEM picks whole pages (fast, coarse); BERNOULLI picks rows but reads every page.
                method = sa.func.system if estimate > 20 * SAMPLE_ROWS else sa.func.bernoulli
                source = sa.tablesample(source, method(percent), seed=sa.literal_column("42"))
            query = sa.select(sa.text("*")).select_from(source).limit(SAMPLE_ROWS + 1)
            with interrupt.stopping(_canceller(conn), what):
                result = conn.execution_options(stream_results=True, yield_per=50_000).execute(query)
                names = list(result.keys())
                rows = result.fetchall()
        complete = len(rows) <= SAMPLE_ROWS and not block_sample
        rows = rows[:SAMPLE_ROWS]
        columns = [list(col) for col in zip(*rows)] if rows else [[] for _ in names]
        return names, columns, len(rows), complete


def _canceller(conn):
    """What stops the connection's running statement from another thread: the driver's cancel
    (psycopg, psycopg2: the server cancels the query) or interrupt (sqlite3); else nothing."""
    dbapi = conn.connection.dbapi_connection
    stop = getattr(dbapi, "cancel", None) or getattr(dbapi, "interrupt", None)
    return stop if callable(stop) else (lambda: None)


def _arrow_table(names: list[str], columns: list[list[Any]]):
    import pyarrow as pa

    arrays = []
    for values in columns:
        try:
            arrays.append(pa.array(values))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
            arrays.append(pa.array([None if v is None else str(v) for v in values], type=pa.string()))
    return pa.Table.from_arrays(arrays, names=names)


def _type_name(sa_type, dialect) -> str:
    try:
        return sa_type.compile(dialect=dialect)
    except Exception:  # noqa: BLE001 - some reflected types cannot compile; their class name still informs
        return type(sa_type).__name__.upper()


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
