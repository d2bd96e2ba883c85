"""DataService: the `DataLookup` of one workspace. Routes each name to the raw or the curated layer.

A name that looks like a path or URL (a `/`, `://`, or a data file extension) is raw; anything
else is a curated `[schema.]table`. Every failure is a `DataError` with a message fit for the user,
and `find` never raises: it is asked about every string literal in a document.
"""

from __future__ import annotations

import logging
import numbers
from dataclasses import replace
from typing import Callable

from expenv.domain.config import ExpenvConfig
from expenv.domain.data import DatasetEntry, DatasetRef, DatasetSchema, Order, Preview, Profile
from expenv.domain.errors import DataError
from expenv.services.data.cache import LruCache
from expenv.services.data.curated import CuratedBackend
from expenv.services.data.paths import MAX_NAME, RawRoots, looks_like_path, split_url
from expenv.services.data.profile import profile_relation
from expenv.services.data.raw import RawBackend
from expenv.services.data.readers import unreadable
from expenv.services.data.sqlnames import is_table_name
from expenv.services.interrupt import QueryInterrupt

log = logging.getLogger(__name__)
MAX_PREVIEW = 10_000
MAX_OFFSET = 100_000_000  # paging reads the rows before a page: a bound keeps a page cheap enough
LAYERS = ("raw", "curated")


class DataService:
    """Raw and curated data of one workspace (implements `DataLookup`)."""

    def __init__(self, config: ExpenvConfig):
        self.config = config
        self.roots = RawRoots(config.root, config.raw.roots)
        self.raw = RawBackend(self.roots, config.raw.storage_options)
        self.curated = CuratedBackend(config.curated.url, config.root) if config.curated.url else None
        self._profiles = LruCache(size=32)
        self._glanced = LruCache(size=1024)   # datasets a hover has shown: the next one adds rows

    def warm(self) -> None:
        """Import the engines a first hover would wait for (~0.3 s); call it off the event loop after start-up."""
        if self.roots.roots:
            import pyarrow.dataset  # noqa: F401
            import pyarrow.parquet  # noqa: F401
        if self.roots.roots or self.curated is not None:
            import duckdb  # noqa: F401

    def on_network(self, name: str | None = None) -> bool:
        """Whether answering about `name` (a dataset, or a path prefix being typed; "" for a
        table being typed; None for any dataset of the workspace) may wait on a network endpoint:
        an object store or a database server, which can hang for its whole timeout. Local files,
        DuckDB and SQLite files always answer."""
        if name is None:
            return any(r.is_remote for r in self.roots.roots) or self.on_network("")
        if looks_like_path(name):
            url = split_url(name)
            if url is not None:
                return url[0] != "file"
            try:
                return self.roots.locate(name).root.is_remote
            except DataError:
                return False
        url = self.config.curated.url or ""
        return self.curated is not None and url.split("://", 1)[0].split("+", 1)[0].lower() not in ("duckdb", "sqlite")

    def _warehouse(self) -> CuratedBackend:
        if self.curated is None:
            raise DataError("no warehouse is configured: set [data.curated] url in expenv.toml")
        return self.curated

    # ---- names ---------------------------------------------------------------------------------

    def resolve(self, name: str) -> DatasetRef:
        name = _checked(name)
        if looks_like_path(name):
            loc = self.roots.locate(name)
            return self.raw.ref(loc, self.raw.dataset(loc).format)
        warehouse = self._warehouse()
        return warehouse.ref(name, warehouse.table(name))

    def find(self, text: str) -> DatasetRef | None:
        if not isinstance(text, str) or not text or len(text) > MAX_NAME or "\n" in text:
            return None
        try:
            if looks_like_path(text):
                return self.raw.find(self.roots.locate(text))
            if self.curated is not None and is_table_name(text):
                return self.curated.find(text)
        except (DataError, OSError):
            return None
        except Exception:  # noqa: BLE001 - a hover must never take the daemon down
            log.debug("find(%r) failed", text, exc_info=True)
        return None

    # ---- listing and completion ----------------------------------------------------------------

    def list(self, layer: str | None = None) -> list[DatasetEntry]:
        if layer not in (None, *LAYERS):
            raise DataError(f"unknown layer {layer!r}: use raw or curated")
        entries: list[DatasetEntry] = []
        if layer in (None, "raw"):
            entries += self.raw.entries()
        if layer in (None, "curated") and (self.curated is not None or layer == "curated"):
            warehouse = self._warehouse()
            entries += [DatasetEntry(warehouse.ref(f"{t.schema}.{t.name}", t)) for t in warehouse.tables()]
        return entries

    def complete_path(self, prefix: str) -> list[str]:
        if not isinstance(prefix, str) or len(prefix) > MAX_NAME or "\n" in prefix:
            return []
        try:
            return self.raw.complete(prefix)
        except (DataError, OSError):
            return []

    def tables(self) -> list[str]:
        if self.curated is None:
            return []
        return [f"{t.schema}.{t.name}" for t in self.curated.tables()]

    def columns(self, table: str) -> list[str]:
        """Column names of a curated table (or of a raw dataset, for SQL over files)."""
        table = _checked(table)
        if looks_like_path(table):
            return [c.name for c in self.schema(table).columns]
        return [c.name for c in self._warehouse().columns(table)]

    # ---- reading -------------------------------------------------------------------------------

    def schema(self, name: str) -> DatasetSchema:
        name = _checked(name)
        found = self.raw.schema(self.roots.locate(name)) if looks_like_path(name) else self._warehouse().schema(name)
        return self._with_snippet(found)

    def _with_snippet(self, schema: DatasetSchema) -> DatasetSchema:
        from expenv.services.code.snippets import loading_snippet, warehouse_file

        return replace(schema, snippet=loading_snippet(schema.ref, "", warehouse_file(self.config.curated.url)))

    def preview(self, name: str, limit: int = 20, offset: int = 0, order: Order | None = None) -> Preview:
        """`limit` rows after `offset`; with `order`, of the whole dataset sorted by one column."""
        name, limit, offset = _checked(name), _checked_limit(limit), _checked_offset(offset)
        if order is not None:
            columns = [c.name for c in self.schema(name).columns]
            if order.column not in columns:
                raise DataError(f"sort: {name} has no column {order.column!r} (its columns: "
                                f"{', '.join(columns[:20])}{', …' if len(columns) > 20 else ''})")
        if looks_like_path(name):
            return self.raw.preview(self.roots.locate(name), limit, offset=offset, order=order)
        return self._warehouse().preview(name, limit, offset, order)

    def schema_and_preview(self, name: str, limit: int = 5, max_columns: int | None = None
                           ) -> tuple[DatasetSchema, Preview]:
        """A dataset at a glance (what a hover shows): its schema and its first `limit` rows of
        the first `max_columns` columns, reading a raw dataset's files once."""
        name, limit = _checked(name), _checked_limit(limit)
        if max_columns is not None and (isinstance(max_columns, bool) or not isinstance(max_columns, numbers.Integral)
                                        or max_columns < 1):
            raise DataError(f"max_columns must be a whole number of at least 1, not {max_columns!r}")
        if looks_like_path(name):
            schema, preview = self.raw.schema_and_preview(self.roots.locate(name), limit, max_columns)
        else:
            warehouse = self._warehouse()
            schema, preview = warehouse.schema(name), warehouse.preview(name, limit)
            preview = replace(preview, columns=preview.columns[:max_columns],
                              rows=[r[:max_columns] for r in preview.rows])
        return self._with_snippet(schema), preview

    def glance(self, name: str, limit: int = 5, max_columns: int | None = None
               ) -> tuple[DatasetSchema, Preview | None]:
        """What a hover shows. The first glance at a dataset is its schema alone (DESCRIBE-level
        work: decoding sample rows costs several times more, and most hovers are a look at the
        columns); from the second glance on, with its first `limit` rows, as `schema_and_preview`."""
        name = _checked(name)
        if self._glanced.get(name) is None:
            schema = self.schema(name)
            self._glanced.put(name, True)
            return schema, None
        return self.schema_and_preview(name, limit, max_columns)

    def profile(self, name: str, progress: Callable[[str], None] | None = None,
                interrupt: QueryInterrupt | None = None) -> Profile:
        """Column profiles of a dataset. `interrupt.cancel()` from another thread stops the query
        under way (the user cancelled): then Cancelled, and nothing is cached."""
        name = _checked(name)
        interrupt = interrupt or QueryInterrupt()
        report = progress or (lambda _message: None)
        if not looks_like_path(name):
            return self._warehouse().profile(name, report, interrupt)
        loc = self.roots.locate(name)
        schema = self.raw.schema(loc)
        ds, cursor, source, params = self.raw.profile_input(loc)

        def compute() -> Profile:
            try:
                return profile_relation(cursor, schema.ref, source, params, row_count=schema.row_count,
                                        types={c.name: c.type for c in schema.columns})
            except DataError:
                raise
            except Exception as exc:  # noqa: BLE001 - duckdb.Error and the fsspec errors it carries
                raise unreadable(ds, exc) from None

        rows = f"{schema.row_count:,} rows" if schema.row_count is not None else "rows"
        report(f"profiling {name}: reading {rows}")
        try:
            with interrupt.stopping(cursor.interrupt, f"profiling {name}"):
                profile = self._profiles.get_or_compute(ds.fingerprint, compute)
        finally:
            cursor.close()
        return profile if profile.ref == schema.ref else _renamed(profile, schema.ref)


def _checked(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise DataError("name a dataset: a path under a raw root, an s3:// URL, or a [schema.]table")
    return name.strip()


def _checked_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, numbers.Integral) or not 1 <= limit <= MAX_PREVIEW:
        raise DataError(f"limit must be a whole number from 1 to {MAX_PREVIEW}, not {limit!r}")
    return int(limit)


def _checked_offset(offset: int) -> int:
    if isinstance(offset, bool) or not isinstance(offset, numbers.Integral) or not 0 <= offset <= MAX_OFFSET:
        raise DataError(f"offset must be a whole number from 0 to {MAX_OFFSET}, not {offset!r}")
    return int(offset)


def _renamed(profile: Profile, ref: DatasetRef) -> Profile:
    return replace(profile, ref=ref)


__all__ = ["DataService"]
