"""The raw layer: datasets under the roots of `[data.raw]`, local or behind an fsspec URL.

A dataset is a data file (parquet, csv, json/ndjson, maybe compressed) or a folder whose files are
all of one format, directly or inside hive `key=value` partition folders. A root itself is never a
dataset: it is where datasets live. Hidden names (`.x`) and engine markers (`_SUCCESS`) are skipped.
Schemas and small previews are cached by the files' (path, size, mtime or ETag).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from expenv.domain.data import DatasetEntry, DatasetRef, DatasetSchema, Layer, Order, Preview
from expenv.domain.errors import DataError
from expenv.services.data.cache import LruCache
from expenv.services.data.messages import shown
from expenv.services.data.paths import RawLocation, RawRoot, RawRoots, format_of, has_glob, split_url
from expenv.services.data.readers import (RawDataset, duckdb_source, open_parquet, parquet_preview,
                                          parquet_schema, text_preview, text_schema)
from expenv.services.data.storage import Entry, LocalStorage, RemoteStorage

log = logging.getLogger(__name__)
PREVIEW_CACHE_MAX = 100  # previews up to this many rows are cached (hovers ask for 5)
MAX_LISTED = 5000
MAX_PARTITION_DEPTH = 8


class RawBackend:
    def __init__(self, roots: RawRoots, storage_options: dict[str, Any] | None = None):
        self.roots = roots
        self.storage_options = dict(storage_options or {})
        self._local = LocalStorage([r.real for r in roots.roots if not r.is_remote])
        self._remote: dict[str, RemoteStorage] = {}
        self._registered: set[str] = set()
        self._con = None
        self._lock = threading.Lock()
        self._dir_formats = LruCache(size=2048)
        self._schemas = LruCache(size=512)
        self._previews = LruCache(size=512)

    # ---- where things are ----------------------------------------------------------------------

    def storage(self, root: RawRoot):
        if not root.is_remote:
            return self._local
        with self._lock:
            if root.protocol not in self._remote:
                self._remote[root.protocol] = RemoteStorage(root.protocol, self.storage_options)
            return self._remote[root.protocol]

    def _cursor(self, ds: RawDataset):
        """A DuckDB cursor (one per call: the LSP calls from several threads) that can read `ds`."""
        with self._lock:
            if self._con is None:
                import duckdb

                self._con = duckdb.connect(":memory:")
            if ds.storage.remote and ds.storage.protocol not in self._registered:
                self._con.register_filesystem(ds.storage.fs)
                self._registered.add(ds.storage.protocol)
            return self._con.cursor()

    def dir_format(self, storage, entry: Entry, depth: int = 0) -> str | None:
        """The format of a dataset folder, or None when `entry` is just a folder."""
        key = (entry.path, entry.version) if not storage.remote else None
        cached = self._dir_formats.get(key) if key else None
        if cached is not None:
            return cached or None
        formats, first_partition = set(), None
        for child in storage.listdir(entry.path):
            if child.is_dir:
                if "=" not in child.name:
                    formats = {"-"}  # a plain sub-folder: this folder holds datasets, it is not one
                    break
                first_partition = first_partition or child
            elif format_of(child.name):
                formats.add(format_of(child.name))
        if len(formats) == 1:
            found = next(iter(formats))
            found = None if found == "-" else found
        elif not formats and first_partition is not None and depth < MAX_PARTITION_DEPTH:
            found = self.dir_format(storage, first_partition, depth + 1)
        else:
            found = None
        if key:
            self._dir_formats.put(key, found or "")
        return found

    def _is_root(self, loc: RawLocation) -> bool:
        return loc.path.rstrip("/") == (loc.root.path if loc.root.is_remote else loc.root.real)

    def dataset(self, loc: RawLocation) -> RawDataset:
        storage = self.storage(loc.root)
        if has_glob(loc.path):
            return self._glob_dataset(loc, storage)
        entry = storage.stat(loc.path)
        if entry is None:
            raise DataError(f"{shown(loc.name)} does not exist")
        if not entry.is_dir:
            fmt = format_of(entry.name)
            if fmt is None:
                raise DataError(f"{shown(loc.name)} is not a data file (parquet, csv or json)")
            return RawDataset(loc.name, fmt, storage, loc.path, False, (entry,))
        fmt = None if self._is_root(loc) else self.dir_format(storage, entry)
        if fmt is None:
            raise DataError(f"{shown(loc.name)} is a folder of datasets, not a dataset (a dataset folder holds "
                            "files of one format, maybe in key=value partition folders)")
        files = tuple(f for f in storage.files_under(loc.path) if format_of(f.name) == fmt)
        if not files:
            raise DataError(f"{shown(loc.name)} holds no {fmt} files")
        rel = files[0].path[len(loc.path.rstrip(storage.sep)) + 1:]
        partitions = [part.split("=", 1)[0] for part in rel.split(storage.sep)[:-1] if "=" in part]
        return RawDataset(loc.name, fmt, storage, loc.path, True, files, partitions)

    def _glob_dataset(self, loc: RawLocation, storage) -> RawDataset:
        """`data/raw/usage/*/*.parquet`, as DuckDB, Spark and polars read it: the matching files, one dataset."""
        files = tuple(f for f in storage.glob(loc.path) if format_of(f.name))
        formats = {format_of(f.name) for f in files}
        if not files:
            raise DataError(f"{shown(loc.name)} matches no data files")
        if len(formats) > 1:
            raise DataError(f"{shown(loc.name)} matches files of several formats ({', '.join(sorted(formats))})")
        parts = loc.path.split(storage.sep)
        base = storage.sep.join(parts[:next(i for i, p in enumerate(parts) if has_glob(p))])
        rel = files[0].path[len(base.rstrip(storage.sep)) + 1:]
        partitions = [part.split("=", 1)[0] for part in rel.split(storage.sep)[:-1] if "=" in part]
        return RawDataset(loc.name, formats.pop(), storage, base, True, files, partitions)

    def ref(self, loc: RawLocation, fmt: str) -> DatasetRef:
        return DatasetRef(Layer.RAW, loc.name, loc.url, fmt)

    def find(self, loc: RawLocation) -> DatasetRef | None:
        """Cheap: for a URL, string checks only; locally, a stat (and a listing for a folder or a glob)."""
        storage = self.storage(loc.root)
        if has_glob(loc.path):
            if storage.remote:
                return self.ref(loc, format_of(loc.path)) if format_of(loc.path) else None
            try:
                return self.ref(loc, self._glob_dataset(loc, storage).format)
            except DataError:
                return None
        if storage.remote:
            fmt = format_of(loc.path)
            if fmt is None:
                try:
                    entry = storage.stat(loc.path)
                except DataError:
                    return None
                fmt = self.dir_format(storage, entry) if entry and entry.is_dir and not self._is_root(loc) else None
            return self.ref(loc, fmt) if fmt else None
        entry = storage.stat(loc.path)
        if entry is None:
            return None
        if not entry.is_dir:
            fmt = format_of(entry.name)
        else:
            fmt = None if self._is_root(loc) else self.dir_format(storage, entry)
        return self.ref(loc, fmt) if fmt else None

    # ---- reading -------------------------------------------------------------------------------

    def schema(self, loc: RawLocation) -> DatasetSchema:
        ds = self.dataset(loc)
        with _Reader(self, ds) as reader:
            return self._schema(loc, ds, reader)

    def preview(self, loc: RawLocation, limit: int, max_columns: int | None = None, offset: int = 0,
                order: Order | None = None) -> Preview:
        ds = self.dataset(loc)
        with _Reader(self, ds) as reader:
            return self._preview(loc, ds, limit, max_columns, reader, offset, order)

    def schema_and_preview(self, loc: RawLocation, limit: int,
                           max_columns: int | None = None) -> tuple[DatasetSchema, Preview]:
        """What a hover shows, with one look at the files and (parquet) one open of the footer."""
        ds = self.dataset(loc)
        with _Reader(self, ds) as reader:
            return self._schema(loc, ds, reader), self._preview(loc, ds, limit, max_columns, reader)

    def _schema(self, loc: RawLocation, ds: RawDataset, reader: _Reader) -> DatasetSchema:
        def load():
            if ds.format == "parquet":
                return parquet_schema(ds, reader.parquet())
            return text_schema(ds, reader.cursor())

        columns, rows = self._schemas.get_or_compute(ds.fingerprint, load)
        return DatasetSchema(self.ref(loc, ds.format), list(columns), rows, ds.size, len(ds.files), list(ds.partitions))

    def _preview(self, loc: RawLocation, ds: RawDataset, limit: int, max_columns: int | None,
                 reader: _Reader, offset: int = 0, order: Order | None = None) -> Preview:
        def load():
            if order is not None:   # a sort reads every row: DuckDB over the files, whatever the format
                names, rows = text_preview(ds, reader.cursor(), limit, offset, order)
                return names[:max_columns], [r[:max_columns] for r in rows]
            if ds.format == "parquet":
                return parquet_preview(ds, limit, max_columns, reader.parquet(), offset)
            names, rows = text_preview(ds, reader.cursor(), limit, offset)  # rows are parsed whole: cut after
            return names[:max_columns], [r[:max_columns] for r in rows]

        if limit <= PREVIEW_CACHE_MAX:
            names, rows = self._previews.get_or_compute((ds.fingerprint, limit, max_columns, offset, order), load)
        else:
            names, rows = load()
        return Preview(self.ref(loc, ds.format), list(names), [list(r) for r in rows], limit, offset, order)

    def profile_input(self, loc: RawLocation):
        """(dataset, DuckDB cursor, FROM-clause, parameters) for profile.py; the caller closes the cursor."""
        ds = self.dataset(loc)
        source, params = duckdb_source(ds)
        return ds, self._cursor(ds), source, params

    # ---- browsing ------------------------------------------------------------------------------

    def entries(self) -> list[DatasetEntry]:
        out: list[DatasetEntry] = []
        for root in self.roots.roots:
            storage = self.storage(root)
            base = root.path if root.is_remote else root.real
            top = storage.stat(base)
            if top is None:
                log.info("raw root %s does not exist", root.text)
                continue
            if not top.is_dir:
                self._add_entry(out, root, top, format_of(top.name))
                continue
            stack, seen = [top], {self._real(storage, top.path)}
            while stack and len(out) < MAX_LISTED:
                folder = stack.pop()
                for child in reversed(storage.listdir(folder.path)):
                    if child.is_dir and self._real(storage, child.path) in seen:
                        continue  # a link back to a folder already listed (or up the tree): once is enough
                    if child.is_dir:
                        seen.add(self._real(storage, child.path))
                        fmt = self.dir_format(storage, child)
                        if fmt:
                            self._add_entry(out, root, child, fmt)
                        else:
                            stack.append(child)
                    elif format_of(child.name):
                        self._add_entry(out, root, child, format_of(child.name))
        return sorted(out, key=lambda e: e.ref.name)[:MAX_LISTED]

    @staticmethod
    def _real(storage, path: str) -> str:
        return path if storage.remote else os.path.realpath(path)

    def _add_entry(self, out: list[DatasetEntry], root: RawRoot, entry: Entry, fmt: str | None) -> None:
        if not fmt:
            return
        storage = self.storage(root)
        size = sum(f.size for f in storage.files_under(entry.path)) if entry.is_dir else entry.size
        name = self.roots.display_path(root, entry.path)
        out.append(DatasetEntry(DatasetRef(Layer.RAW, name, root.url(entry.path), fmt), size))

    def complete(self, prefix: str) -> list[str]:
        """Shell-like completion one level deep: datasets as they are, plain folders with a trailing `/`."""
        url = split_url(prefix)
        head, sep, partial = prefix.rpartition("/")
        typed = head + sep
        if url is not None and url[0] != "file":
            protocol, rest = url
            folder = rest.rpartition("/")[0]
            names = self._children(protocol, folder.strip("/"), remote=True)
        else:
            local = url[1] if url else prefix
            folder = os.path.normpath(os.path.join(self.roots.workspace, local.rpartition("/")[0] or "."))
            if local.startswith("/") and not local.rpartition("/")[0]:
                folder = "/"
            names = self._children(None, folder, remote=False)
        return sorted(typed + name for name in names if name.startswith(partial))

    def _children(self, protocol: str | None, folder: str, remote: bool) -> list[str]:
        names: set[str] = set()
        sep = "/" if remote else os.sep
        for root in self.roots.roots:
            if root.is_remote != remote or root.protocol != protocol:
                continue
            if root.contains(folder):
                storage = self.storage(root)
                real = folder if remote else os.path.realpath(folder)
                if not root.contains(real, real=True):
                    continue
                try:
                    children = storage.listdir(real)
                except DataError:
                    continue
                for child in children:
                    if child.is_dir:
                        names.add(child.name if self.dir_format(storage, child) else child.name + "/")
                    elif format_of(child.name):
                        names.add(child.name)
                continue
            if remote:
                prefix = folder + "/" if folder else ""
            else:
                prefix = folder if folder.endswith(os.sep) else folder + os.sep
            if root.path.startswith(prefix):
                names.add(root.path[len(prefix):].split(sep, 1)[0] + "/")
        return sorted(names)


class _Reader:
    """The engine handles of one read, opened on first need: a parquet footer, a DuckDB cursor."""

    def __init__(self, backend: RawBackend, ds: RawDataset):
        self._backend, self._ds = backend, ds
        self._parquet = self._cursor = None

    def parquet(self):
        if self._parquet is None:
            self._parquet = open_parquet(self._ds)
        return self._parquet

    def cursor(self):
        if self._cursor is None:
            self._cursor = self._backend._cursor(self._ds)
        return self._cursor

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc) -> None:
        if self._cursor is not None:
            self._cursor.close()
        if hasattr(self._parquet, "close"):  # a ParquetFile holds the file open; a pyarrow dataset does not
            self._parquet.close()
