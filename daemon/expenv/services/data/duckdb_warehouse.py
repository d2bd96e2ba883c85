"""A DuckDB file as the warehouse (`duckdb:///relative/path.duckdb`, `duckdb:////absolute/path`).

Each call opens the file read-only and closes it at once: a read-only open holds a shared lock,
and a lock kept by the daemon would stop the user's own notebook from writing to the warehouse.
Results are cached by the file's (size, mtime) and its WAL's, so repeated hovers do not reopen it.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from expenv.domain.data import Column, DatasetRef, Order, Profile
from expenv.domain.errors import DataError
from expenv.services.data.curated import Catalog, TableInfo, TableStats
from expenv.services.data.jsonsafe import json_row
from expenv.services.data.messages import engine_message
from expenv.services.data.profile import profile_relation
from expenv.services.data.sqlnames import qualified
from expenv.services.interrupt import QueryInterrupt

_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)(?: by user (?P<user>\S+))?")


def duckdb_path(url: str, workspace: Path) -> Path:
    rest = url.split("://", 1)[1].split("?", 1)[0]
    if not rest.startswith("/"):
        raise DataError(f"[data.curated] url {url} should be duckdb:///relative/path or duckdb:////absolute/path")
    rest = rest[1:]
    return Path(rest) if rest.startswith("/") else Path(workspace) / rest


class DuckDBWarehouse:
    def __init__(self, url: str, workspace: Path):
        self.url = url
        self.path = duckdb_path(url, workspace)
        try:
            shown_path = self.path.relative_to(workspace).as_posix()
        except ValueError:
            shown_path = str(self.path)
        self.display = f"{shown_path} (duckdb)"

    def fingerprint(self) -> Any:
        stamps = []
        for path in (self.path, Path(str(self.path) + ".wal")):
            try:
                st = os.stat(path)
                stamps.append((st.st_size, st.st_mtime_ns))
            except OSError:
                stamps.append(None)
        return tuple(stamps)

    @contextmanager
    def connect(self):
        """A read-only connection, closed on exit; DataError saying why when it cannot open."""
        import duckdb

        if not self.path.is_file():
            raise DataError(f"the warehouse {self.display} does not exist: create it, or fix [data.curated] url")
        try:
            con = duckdb.connect(str(self.path), read_only=True)
        except duckdb.Error as exc:
            raise self._open_error(exc) from None
        try:
            yield con
        except duckdb.Error as exc:
            raise DataError(f"the warehouse {self.display}: {engine_message(exc)}") from None
        finally:
            con.close()

    def _open_error(self, exc: Exception) -> DataError:
        text = str(exc)
        holder = _LOCK_HOLDER.search(text)
        if holder or "Could not set lock" in text:
            by = ""
            if holder:
                program = os.path.basename(holder["program"])
                by = f" by {program} (PID {holder['pid']}{', user ' + holder['user'] if holder['user'] else ''})"
            return DataError(f"the warehouse {self.display} is locked{by}: a process has it open for writing; "
                             "close that connection, or open it read-only there")
        if "not a valid DuckDB database" in text:
            return DataError(f"the warehouse {self.display} is not a DuckDB database file")
        return DataError(f"cannot open the warehouse {self.display}: {engine_message(exc)}")

    def catalog(self) -> Catalog:
        with self.connect() as con:
            rows = con.execute(
                "SELECT schema_name, table_name, 'table' FROM duckdb_tables() "
                "WHERE database_name = current_database() AND NOT temporary AND NOT internal "
                "UNION ALL SELECT schema_name, view_name, 'view' FROM duckdb_views() "
                "WHERE database_name = current_database() AND NOT temporary AND NOT internal "
                "ORDER BY 1, 2").fetchall()
            default = con.execute("SELECT current_schema()").fetchone()[0]
        return Catalog([TableInfo(s, t, k) for s, t, k in rows], default)

    def stats(self, table: TableInfo) -> TableStats:
        with self.connect() as con:
            rows = con.execute(
                "SELECT column_name, data_type, is_nullable FROM duckdb_columns() "
                "WHERE database_name = current_database() AND schema_name = ? AND table_name = ? "
                "ORDER BY column_index", [table.schema, table.name]).fetchall()
            # count(*) of a DuckDB table is answered from its row-group metadata; a view would run its query.
            count = None
            if table.kind == "table":
                count = con.execute(f"SELECT count(*) FROM {qualified(table.schema, table.name)}").fetchone()[0]
        return TableStats([Column(n, t, bool(nullable)) for n, t, nullable in rows], count)

    def preview(self, table: TableInfo, limit: int, offset: int = 0,
                order: Order | None = None) -> tuple[list[str], list[list[Any]]]:
        sort = order.sql if order is not None else ""
        with self.connect() as con:
            cursor = con.execute(f"SELECT * FROM {qualified(table.schema, table.name)} {sort} LIMIT ? OFFSET ?",
                                 [limit, offset])
            names = [d[0] for d in cursor.description]
            return names, [json_row(r) for r in cursor.fetchall()]

    def profile(self, ref: DatasetRef, table: TableInfo, stats: TableStats,
                interrupt: QueryInterrupt | None = None) -> Profile:
        with self.connect() as con, (interrupt or QueryInterrupt()).stopping(con.interrupt, f"profiling {ref.name}"):
            return profile_relation(con, ref, qualified(table.schema, table.name), row_count=stats.row_count,
                                    types={c.name: c.type for c in stats.columns})
